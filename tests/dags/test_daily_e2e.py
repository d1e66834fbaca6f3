"""End to end: `airflow dags test habitlake_daily D` (real Airflow, real Spark, real Delta) on a tiny
generated retailer; the gold tables, checks, published record and asset event it produced.

200 customers x 9 days from 2025-03-01 (seed 7): the days before D are prepared in one process (ingest
and silver); the DAG then runs D = 2025-03-09, a Sunday, through every task in one process
(HABITLAKE_RUNNER=local: the Spark session is started once for the whole run), then once more with
HABITLAKE_RUNNER=driver (every Spark step sent to a long-lived `habitlake driver`). The failure path
is in test_daily_failure.py.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow_runs import isolated_env, run_logged

from habitlake.settings import Settings

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "habitlake")
START, DAY = "2025-03-01", "2025-03-09"
DAILY_TASKS = ["close_week", "data_checks", "gold", "gold_checks", "ingest", "publish", "score", "silver",
               "week_complete"]
PREPARE = """
from habitlake.settings import Settings
from habitlake.spark import get_spark
from jobs.bronze import ingest
from jobs.silver import run as silver
s = Settings.from_env()
spark = get_spark(s, "habitlake-test-prepare")
ingest.run(spark, s, "2025-03-01", "2025-03-08")
silver.run(spark, s, "2025-03-01", "2025-03-08", progress=None)
"""



def _run(cmd: list[str], env: dict, log: Path, timeout: int = 3000) -> subprocess.CompletedProcess:
    return run_logged(cmd, env, log, timeout)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("airflow_e2e")
    env = isolated_env(root, "1g")
    settings = Settings.from_env(env)
    logs = root / "test-logs"
    logs.mkdir()
    try:
        subprocess.run([CLI, "generate", "--customers", "200", "--days", "9", "--start", START, "--seed", "7",
                        "--quiet"], env=env, check=True, capture_output=True)
        # a script file, not `python -c`: pyspark.sql.connect (imported by GX) exits a `-c` process early
        (logs / "prepare.py").write_text(PREPARE + 'print("prepared", flush=True)\n')
        prep = _run([sys.executable, str(logs / "prepare.py")], env, logs / "prepare.log")
        assert prep.returncode == 0 and "prepared" in (logs / "prepare.log").read_text(), \
            (logs / "prepare.log").read_text()[-3000:]
        done = _run([CLI, "airflow", "dags", "test", "habitlake_daily", DAY], env, logs / "daily.log")
        yield SimpleNamespace(root=root, env=env, settings=settings, done=done, logs=logs)
    finally:
        subprocess.run([CLI, "metastore", "stop"], env=env, capture_output=True)


def _states(lake, day: str) -> dict[str, str]:
    with sqlite3.connect(lake.settings.state_dir / "airflow" / "airflow.db") as db:
        rows = db.execute("SELECT ti.task_id, ti.state FROM task_instance ti JOIN dag_run dr ON ti.run_id = dr.run_id "
                          "AND ti.dag_id = dr.dag_id WHERE dr.dag_id = 'habitlake_daily' "
                          "AND date(dr.logical_date) = ?", (day,)).fetchall()
    return dict(rows)


def _truth_customers(lake, day: str) -> set[str]:
    with open(lake.root / "truth" / "customers.csv", encoding="utf-8") as f:
        return {r["customer_id"] for r in csv.DictReader(f) if r["is_test"] == "false" and r["signup_date"] <= day}


def test_daily_dag_runs_every_task_of_the_day(lake):
    assert lake.done.returncode == 0, (lake.logs / "daily.log").read_text()[-5000:]
    assert _states(lake, DAY) == dict.fromkeys(DAILY_TASKS, "success")


def test_gold_profile_of_the_day_has_every_customer_known_by_then(lake):
    from deltalake import DeltaTable

    profile = DeltaTable(lake.settings.table_path("gold", "customer_profile")).to_pyarrow_table(
        columns=["customer_id", "tier"], filters=[("as_of_date", "=", dt.date.fromisoformat(DAY))])
    truth = _truth_customers(lake, DAY)
    assert len(truth) == 199
    assert sorted(profile.column("customer_id").to_pylist()) == sorted(truth)


def test_publish_recorded_the_run_with_its_checks(lake):
    from deltalake import DeltaTable

    from habitlake.commands.airflow import read_published

    [record] = read_published(lake.settings)
    assert record["date"] == DAY
    assert record["gold_rows"]["gold.customer_profile"] == 199
    gold_checks = DeltaTable(lake.settings.table_path("gold", "check_results")).to_pyarrow_table(
        columns=["run_id", "success", "severity"], filters=[("run_id", "=", f"gold_{DAY}")])
    silver_checks = DeltaTable(lake.settings.table_path("silver", "check_results")).to_pyarrow_table(
        columns=["run_id", "success", "severity"], filters=[("run_id", "=", f"silver_{DAY}")])
    assert record["checks"]["gold"]["expectations"] == gold_checks.num_rows
    assert record["checks"]["silver"]["expectations"] == silver_checks.num_rows
    assert record["checks"]["silver"]["critical_failed"] == record["checks"]["gold"]["critical_failed"] == 0
    assert record["checks"]["gold"]["profile_customers"] == 199
    report = lake.root / "reports" / f"habitlake_report_{DAY}.html"
    assert record["report"] == str(report) and report.stat().st_size > 10_000  # Plotly inline: ~MBs


def test_closing_the_week_emits_the_asset_the_training_waits_for(lake):
    with sqlite3.connect(lake.settings.state_dir / "airflow" / "airflow.db") as db:
        rows = db.execute("SELECT e.source_task_id, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                          "WHERE a.name = 'habitlake_gold_week'").fetchall()
    assert [(task, json.loads(extra)) for task, extra in rows] == [("close_week", {"as_of": DAY})]


def test_the_day_again_with_its_spark_steps_in_a_long_lived_driver(lake):
    """The same DAG run once more (after the tests above read the first one), HABITLAKE_RUNNER=driver:
    every Spark task sends its step to one `habitlake driver`, and the day's gold is unchanged."""
    from deltalake import DeltaTable

    from habitlake import driver

    def profile():
        return sorted(DeltaTable(lake.settings.table_path("gold", "customer_profile")).to_pyarrow_table(
            columns=["customer_id", "tier"], filters=[("as_of_date", "=", dt.date.fromisoformat(DAY))]).to_pylist(),
            key=lambda r: r["customer_id"])

    before = profile()
    env = {**lake.env, "HABITLAKE_RUNNER": "driver"}
    subprocess.run([CLI, "driver", "start"], env=env, check=True, capture_output=True)
    try:
        done = _run([CLI, "airflow", "dags", "test", "habitlake_daily", DAY], env, lake.logs / "daily-driver.log")
        served = driver.ping(lake.settings)
    finally:
        subprocess.run([CLI, "driver", "stop"], env=env, capture_output=True)
    log = (lake.logs / "daily-driver.log").read_text()
    assert done.returncode == 0, log[-5000:]
    sent = [f"habitlake {step} --date {DAY}{extra}  [runner: driver]"
            for step, extra in (("ingest", ""), ("silver", ""), ("gold", ""), ("score", " --champions"))]
    assert [line in log for line in sent] == [True] * 4, log[-5000:]
    assert served["steps"] == 4  # the four Spark steps, each in the same driver, none in its task
    assert [f"[habitlake driver pid {served['pid']}, step {n}]" in log for n in (1, 2, 3, 4)] == [True] * 4
    assert "no habitlake driver answers" not in log
    assert profile() == before and len(before) == 199
