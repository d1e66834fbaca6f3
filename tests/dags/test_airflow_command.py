"""`habitlake airflow ...`: Airflow runs with the project's settings; the command reaches Airflow's CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from habitlake.commands.airflow import DAGS_DIR, airflow_env
from habitlake.settings import PROJECT_DIR, Settings

CLI = str(Path(sys.executable).parent / "habitlake")


def test_airflow_env_puts_airflow_home_under_the_root_with_the_project_dags(tmp_path):
    base = {"HABITLAKE_HOME": str(tmp_path / "lake"), "HABITLAKE_METASTORE_PORT": "1765", "PATH": "/usr/bin",
            "HABITLAKE_RUNNER": "spark-submit"}
    env = airflow_env(Settings.from_env(base), base)
    assert env["AIRFLOW_HOME"] == str(tmp_path / "lake" / "airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(PROJECT_DIR / "dags") == str(DAGS_DIR)
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'lake' / 'airflow' / 'airflow.db'}"
    assert (env["HABITLAKE_HOME"], env["HABITLAKE_STATE"], env["HABITLAKE_METASTORE_PORT"]) == (
        str(tmp_path / "lake"), str(tmp_path / "lake"), "1765")
    assert env["HABITLAKE_RUNNER"] == "spark-submit"
    assert env["PATH"] == f"{Path(sys.executable).parent}{os.pathsep}/usr/bin"  # standalone runs `airflow` by name
    assert env["PYTHONPATH"] == str(PROJECT_DIR)


def test_habitlake_airflow_runs_the_airflow_cli(tmp_path):
    env = {**os.environ, "HABITLAKE_HOME": str(tmp_path)}
    out = subprocess.run([CLI, "airflow", "version"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "3.3.2"


def test_an_api_server_on_another_port_is_also_where_tasks_report():
    base = {"HABITLAKE_HOME": "/tmp/lake", "AIRFLOW__API__PORT": "18080"}
    env = airflow_env(Settings.from_env(base), base)
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    base = {**base, "AIRFLOW__API__HOST": "0.0.0.0"}
    assert airflow_env(Settings.from_env(base), base)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == \
        "http://127.0.0.1:18080/execution/"
    base = {"HABITLAKE_HOME": "/tmp/lake"}  # Airflow's default (localhost:8080) is left alone
    assert "AIRFLOW__CORE__EXECUTION_API_SERVER_URL" not in airflow_env(Settings.from_env(base), base)


def test_a_backfill_runs_one_day_at_a_time_unless_told():
    from habitlake.commands.airflow import backfill_argv

    argv = ["backfill", "create", "--dag-id", "habitlake_daily", "--from-date", "2025-03-01", "--to-date", "2025-03-02"]
    assert backfill_argv(argv) == [*argv, "--max-active-runs", "1"]
    assert backfill_argv([*argv, "--max-active-runs", "3"]) == [*argv, "--max-active-runs", "3"]
    assert backfill_argv([*argv, "--max-active-runs=3"]) == [*argv, "--max-active-runs=3"]
