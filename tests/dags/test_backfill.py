"""Airflow's own backfill, executed for real: `habitlake airflow standalone` (scheduler with the
LocalExecutor, DAG processor, API server with the Task Execution API, triggerer; SQLite metadata DB)
runs in the background, `habitlake airflow backfill create` asks for two days, and the scheduler
runs both daily runs task by task, each task in its own process (real Spark, real Delta).

A tiny generated retailer (150 customers x 4 days from Monday 2025-03-03, seed 7): the first two
days are prepared in one process (ingest and silver); the backfill covers 2025-03-05 and 2025-03-06
(a Wednesday and a Thursday: no week is closed, so the weekly training is not triggered).

Test-only settings: the API server, the worker log server and the triggerer log server on free
ports (the API port also names the Task Execution API URL, see `airflow_env`), and
`[scheduler] use_job_schedule = False`, so the scheduler starts only the backfill's runs and not the
regular run of the latest interval (today's date, for which this retailer has no data) that
unpausing the DAG would otherwise start next to them.

Every process the test starts is stopped at the end (the components' process group, every process
they started, including task processes in their own sessions, and the Derby metastore), and no
process of this root is left.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow_runs import free_port, isolated_env, run_logged

from habitlake.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.long]

CLI = str(Path(sys.executable).parent / "habitlake")
START, DAYS = "2025-03-03", ["2025-03-05", "2025-03-06"]
READY_SECONDS, BACKFILL_SECONDS = 600, 3000  # generous: the machine is shared
COMPLETE_SECONDS = 120  # after the last run ended, for the scheduler to mark the backfill complete
PREPARE = """
from habitlake.settings import Settings
from habitlake.spark import get_spark
from jobs.bronze import ingest
from jobs.silver import run as silver
s = Settings.from_env()
spark = get_spark(s, "habitlake-test-prepare")
ingest.run(spark, s, "2025-03-03", "2025-03-04")
silver.run(spark, s, "2025-03-03", "2025-03-04", progress=None)
"""
TASKS = ["close_week", "data_checks", "gold", "gold_checks", "ingest", "publish", "score", "silver",
         "week_complete"]



def _run(cmd: list[str], env: dict, log: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return run_logged(cmd, env, log, timeout)


def _db(root: Path) -> Path:
    return root / "airflow" / "airflow.db"


def _runs(root: Path) -> dict[str, str]:
    """logical date (YYYY-MM-DD) -> state of the habitlake_daily runs"""
    if not _db(root).exists():
        return {}
    with sqlite3.connect(_db(root), timeout=30) as db:
        rows = db.execute("SELECT date(logical_date), state FROM dag_run WHERE dag_id = 'habitlake_daily'").fetchall()
    return dict(rows)


def _completed(root: Path) -> bool:
    """The scheduler has marked the backfill complete: it does so in a loop after its last run
    ended, so the runs' states alone come a moment too early."""
    with sqlite3.connect(_db(root), timeout=30) as db:
        return bool(db.execute("SELECT count(*) FROM backfill WHERE dag_id = 'habitlake_daily' "
                               "AND completed_at IS NOT NULL").fetchone()[0])


def _task_states(root: Path) -> dict[str, dict[str, str]]:
    with sqlite3.connect(_db(root), timeout=30) as db:
        rows = db.execute("SELECT date(dr.logical_date), ti.task_id, ti.state FROM task_instance ti "
                          "JOIN dag_run dr ON ti.run_id = dr.run_id AND ti.dag_id = dr.dag_id "
                          "WHERE dr.dag_id = 'habitlake_daily'").fetchall()
    out: dict[str, dict[str, str]] = {}
    for day, task, state in rows:
        out.setdefault(day, {})[task] = state
    return out


def _diagnostics(root: Path, logs: Path) -> str:
    """What to read when the backfill did not succeed: run and task states, every task log's tail,
    the components' output."""
    parts = [f"runs: {_runs(root)}"]
    try:
        parts.append(f"tasks: {_task_states(root)}")
    except sqlite3.Error as bad:
        parts.append(f"tasks: {bad!r}")
    for log in sorted((root / "airflow" / "logs").rglob("*.log")):
        parts.append(f"--- {log.relative_to(root)}\n" + log.read_text(errors="replace")[-2500:])
    standalone = logs / "standalone.log"
    if standalone.exists():
        parts.append("--- standalone\n" + standalone.read_text(errors="replace")[-4000:])
    return "\n".join(parts)


def _ours(root: Path) -> list:
    """Live processes of this root: launched with it in their command line or environment."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(str(root) in arg for arg in proc.info["cmdline"] or ()) or \
                    proc.environ().get("HABITLAKE_HOME") == str(root):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return [p for p in found if p.pid != os.getpid()]


def _stop(proc: subprocess.Popen, root: Path, env: dict) -> None:
    """Stop the standalone process group and every process it started (task processes run in
    their own sessions), then the metastore; SIGKILL whatever has not exited after 30 s."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for child in family:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs([psutil.Process(proc.pid)] + family if proc.poll() is None else family,
                                 timeout=30)
    for straggler in alive:
        try:
            straggler.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=30)
    subprocess.run([CLI, "metastore", "stop"], env=env, capture_output=True, timeout=120)
    _, alive = psutil.wait_procs(_ours(root), timeout=15)
    for straggler in alive:  # e.g. a Spark JVM whose task process died first
        straggler.kill()


def _health(port: int) -> dict | None:
    """The API server's health report, or None while it does not answer."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=10) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _wait_ready(proc: subprocess.Popen, log: Path, port: int) -> None:
    """Until standalone says the scheduler, DAG processor and triggerer are up ("Airflow is ready"
    does not wait for the API server) and the API server answers with a healthy scheduler."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"standalone exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
        if "Airflow is ready" in log.read_text(errors="replace"):
            health = _health(port)
            if health and health["scheduler"]["status"] == "healthy":
                return
        time.sleep(2)
    raise AssertionError(f"Airflow not ready after {READY_SECONDS}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def backfill(tmp_path_factory):
    root = tmp_path_factory.mktemp("airflow_backfill")
    api_port = free_port()
    env = isolated_env(root, "1g", AIRFLOW__API__PORT=str(api_port),
                       AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
                       AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
                       AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False")
    settings = Settings.from_env(env)
    logs = root / "test-logs"
    logs.mkdir()
    timings: dict[str, float] = {}
    subprocess.run([CLI, "generate", "--customers", "150", "--days", "4", "--start", START, "--seed", "7",
                    "--quiet"], env=env, check=True, capture_output=True)
    t0 = time.monotonic()
    with (logs / "standalone.log").open("w") as out:  # starts while the first days are prepared
        standalone = subprocess.Popen([CLI, "airflow", "standalone"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # its own process group, stopped as one
    try:
        # a script file, not `python -c`: pyspark.sql.connect (imported by GX) exits a `-c` process early
        (logs / "prepare.py").write_text(PREPARE + 'print("prepared", flush=True)\n')
        prep = _run([sys.executable, str(logs / "prepare.py")], env, logs / "prepare.log")
        assert prep.returncode == 0 and "prepared" in (logs / "prepare.log").read_text(), \
            (logs / "prepare.log").read_text()[-3000:]
        timings["prepare"] = time.monotonic() - t0
        _wait_ready(standalone, logs / "standalone.log", api_port)
        timings["ready"] = time.monotonic() - t0
        t0 = time.monotonic()
        created = _run([CLI, "airflow", "backfill", "create", "--dag-id", "habitlake_daily",
                        "--from-date", DAYS[0], "--to-date", DAYS[-1]], env, logs / "backfill.log", timeout=600)
        assert created.returncode == 0, (logs / "backfill.log").read_text()[-4000:]
        deadline = time.monotonic() + BACKFILL_SECONDS
        ended = None  # when both runs had ended: the backfill is marked complete a little later
        while time.monotonic() < deadline:
            runs = _runs(root)
            if set(runs) >= set(DAYS) and all(runs[d] in ("success", "failed") for d in DAYS):
                ended = ended or time.monotonic()
                if _completed(root) or time.monotonic() - ended > COMPLETE_SECONDS:
                    break
            assert standalone.poll() is None, _diagnostics(root, logs)
            time.sleep(5)
        timings["backfill"] = time.monotonic() - t0
        runs = _runs(root)
        diagnostics = "" if runs == dict.fromkeys(DAYS, "success") else _diagnostics(root, logs)
        yield SimpleNamespace(root=root, env=env, settings=settings, logs=logs, runs=runs, timings=timings,
                              diagnostics=diagnostics, tasks=_task_states(root))
    finally:
        _stop(standalone, root, env)
        print(f"\nbackfill test timings (s): { {k: round(v) for k, v in timings.items()} }")


def test_the_backfill_ran_both_days_through_the_scheduler(backfill):
    assert backfill.runs == dict.fromkeys(DAYS, "success"), backfill.diagnostics
    with sqlite3.connect(_db(backfill.root)) as db:
        rows = db.execute("SELECT date(logical_date), run_id, run_type, backfill_id FROM dag_run "
                          "WHERE dag_id = 'habitlake_daily' ORDER BY logical_date").fetchall()
        [(backfill_id, from_date, to_date, max_runs, completed)] = db.execute(
            "SELECT id, date(from_date), date(to_date), max_active_runs, completed_at IS NOT NULL FROM backfill "
            "WHERE dag_id = 'habitlake_daily'").fetchall()
    # the data interval of D ends at D+1 00:00 UTC: a backfill run is named after its end
    assert rows == [(d, f"backfill__{(dt.date.fromisoformat(d) + dt.timedelta(days=1)).isoformat()}T00:00:00+00:00",
                     "backfill", backfill_id) for d in DAYS]
    assert (from_date, to_date, max_runs, completed) == (DAYS[0], DAYS[-1], 1, 1)


def test_every_task_ran_for_both_days_and_no_week_was_closed(backfill):
    expected = {**dict.fromkeys(TASKS, "success"), "close_week": "skipped"}  # Wednesday, Thursday
    assert backfill.tasks == {d: expected for d in DAYS}, backfill.diagnostics


def test_the_days_ran_one_after_the_other(backfill):
    """max_active_runs 1 for the backfill: the second day's first task starts after the first day's
    last task ended (silver keeps history, so days must not overlap)."""
    with sqlite3.connect(_db(backfill.root)) as db:
        spans = db.execute("SELECT date(dr.logical_date), min(ti.start_date), max(ti.end_date) FROM task_instance ti "
                           "JOIN dag_run dr ON ti.run_id = dr.run_id AND ti.dag_id = dr.dag_id "
                           "WHERE dr.dag_id = 'habitlake_daily' AND ti.start_date IS NOT NULL "
                           "GROUP BY dr.logical_date ORDER BY dr.logical_date").fetchall()
    assert [s[0] for s in spans] == DAYS
    assert spans[0][2] <= spans[1][1], spans


def _truth_customers(root: Path, day: str) -> list[str]:
    with open(root / "truth" / "customers.csv", encoding="utf-8") as f:
        return sorted(r["customer_id"] for r in csv.DictReader(f) if r["is_test"] == "false" and r["signup_date"] <= day)


def test_gold_profile_of_each_day_has_every_customer_known_by_then(backfill):
    from deltalake import DeltaTable

    profile = DeltaTable(backfill.settings.table_path("gold", "customer_profile")).to_pyarrow_table(
        columns=["as_of_date", "customer_id"])
    by_day: dict[str, list[str]] = {}
    for day, customer in zip(profile.column("as_of_date").to_pylist(), profile.column("customer_id").to_pylist()):
        by_day.setdefault(day.isoformat(), []).append(customer)
    assert sorted(by_day) == DAYS  # the prepared days have no gold: only the backfill wrote it
    assert {d: len(by_day[d]) for d in DAYS} == {d: len(_truth_customers(backfill.root, d)) for d in DAYS}
    for day in DAYS:
        assert sorted(by_day[day]) == _truth_customers(backfill.root, day)


def test_each_day_was_published_by_its_backfill_run(backfill):
    from habitlake.commands.airflow import read_published

    records = sorted(read_published(backfill.settings), key=lambda r: r["date"])
    assert [r["date"] for r in records] == DAYS
    for record in records:
        day = record["date"]
        assert record["dag_run"] == f"backfill__{(dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()}" \
                                    f"T00:00:00+00:00"
        assert record["gold_rows"]["gold.customer_profile"] == len(_truth_customers(backfill.root, day))
        assert record["checks"]["silver"]["critical_failed"] == record["checks"]["gold"]["critical_failed"] == 0

