"""A failing `habitlake_daily` run (real `airflow dags test`): the failure callback records it.

On an empty root, the run of 2025-03-09 with `ingest` and `silver` marked successful without running
must fail at `data_checks` (no data checks were recorded for run silver_2025-03-09), stop the
tasks after it, and leave exactly one record in <root>/airflow/failures.jsonl. No Spark is started.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from habitlake.launch import read_failures
from habitlake.settings import Settings

CLI = str(Path(sys.executable).parent / "habitlake")
DAY = "2025-03-09"


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("airflow_fail")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HABITLAKE_", "MLFLOW"))}
    env.update({"HABITLAKE_HOME": str(root), "HABITLAKE_RUNNER": "local", "HABITLAKE_AIRFLOW_RETRIES": "0",
                "HABITLAKE_METASTORE_PORT": "1"})  # nothing here may start a metastore
    done = subprocess.run([CLI, "airflow", "dags", "test", "habitlake_daily", DAY,
                           "--mark-success-pattern", "^(ingest|silver)$"],
                          env=env, capture_output=True, text=True, timeout=1200)
    return Settings.from_env(env), done


def test_the_run_fails_at_data_checks_and_stops_there(failed_run):
    settings, done = failed_run
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    with sqlite3.connect(settings.state_dir / "airflow" / "airflow.db") as db:
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'habitlake_daily'"))
    assert states == {"ingest": "success", "silver": "success", "data_checks": "failed",
                      "gold": "upstream_failed", "score": "upstream_failed", "gold_checks": "upstream_failed",
                      "publish": "upstream_failed", "week_complete": "upstream_failed",
                      "close_week": "upstream_failed"}


def test_the_failure_callback_recorded_the_failed_task(failed_run):
    settings, _ = failed_run
    [record] = read_failures(settings)
    assert (record["dag_id"], record["task_id"], record["logical_date"], record["try_number"]) == (
        "habitlake_daily", "data_checks", f"{DAY}T00:00:00+00:00", 1)
    assert record["run_id"].startswith("manual__")
    assert record["error"].startswith(f"StepFailed('habitlake checks --date {DAY} --layer silver exited with 1")
    assert f"no data-check results recorded for run silver_{DAY}" in record["error"]
