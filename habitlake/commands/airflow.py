"""`habitlake` commands for orchestration: `airflow`, `checks`, `publish`.

- `habitlake airflow ARGS...` runs the Airflow CLI with the project's settings: Airflow's home under
  the state folder (`<state>/airflow`, SQLite metadata DB, created with `airflow db migrate` on first
  use), the project's `dags/` folder, no example DAGs, and the HABITLAKE_* settings passed through.
- `habitlake checks --layer silver|gold --date D` verifies what a run's data checks recorded
  (`<layer>.check_results` of run `<layer>_D`): results present, no critical failure; for silver also
  balanced books in `silver.reconciliation`, for gold a non-empty `gold.customer_profile` slice.
- `habitlake publish --date D` builds the static report (`habitlake report --date D`, when that
  command exists) and records the finished daily run in `<state>/airflow/published.jsonl` (rows per
  gold table for D, check outcomes, the report's path).

Local roots are read with delta-rs (no JVM: a check costs well under a second instead of a Spark
start-up); a root on object storage is read through Spark.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from habitlake.settings import PROJECT_DIR, Settings, is_local

DAGS_DIR = PROJECT_DIR / "dags"
PUBLISHED_FILE = "published.jsonl"
# gold tables published for a date: the snapshot tables of the daily run
PUBLISHED_TABLES = ("customer_profile", "customer_tags", "campaign_targeting", "winback_list",
                    "supply_daily_demand", "customer_segments", "churn_risk", "recommendations",
                    "demand_forecast", "replenishment")


def register(sub) -> None:
    """Add this group's subcommands to the parser's subparsers `sub`."""
    p = sub.add_parser("airflow", help="run the Airflow CLI with habitlake's settings (e.g. `standalone`, `dags list`)",
                       description="Runs `airflow ARGS...` with AIRFLOW_HOME=<state>/airflow (SQLite metadata DB, "
                                   "migrated on first use), the project's dags/ folder, no example DAGs, and the "
                                   "HABITLAKE_* settings passed to every task.",
                       epilog="Airflow's own help: habitlake airflow -- --help")
    p.add_argument("airflow_args", nargs=argparse.REMAINDER, help="arguments of the airflow command")
    p.set_defaults(func=cmd_airflow)

    p = sub.add_parser("checks", help="verify a run's recorded data checks (no critical failure)",
                       description="Read <layer>.check_results of the run of --date and fail (exit 1) when "
                                   "nothing was recorded or a critical expectation failed.")
    p.add_argument("--layer", choices=["silver", "gold"], required=True)
    p.add_argument("--date", required=True, help="business / as-of date YYYY-MM-DD of the run")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    p.set_defaults(func=cmd_checks)

    p = sub.add_parser("publish", help="record a finished daily run and build its report",
                       description="Append the run of --date (gold rows per table, check outcomes) to "
                                   "<state>/airflow/published.jsonl; runs `habitlake report --date D` "
                                   "when that command exists.")
    p.add_argument("--date", required=True, help="as-of date YYYY-MM-DD")
    p.add_argument("--no-report", action="store_true", help="do not build the HTML report")
    p.set_defaults(func=cmd_publish)


# --- airflow ------------------------------------------------------------------------------------

def airflow_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment Airflow (scheduler, DAG processor, tasks) runs with."""
    from habitlake.launch import airflow_home

    env = dict(os.environ if base is None else base)
    home = airflow_home(settings)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "HABITLAKE_HOME": settings.root,
        "HABITLAKE_STATE": str(settings.state_dir),
        "HABITLAKE_METASTORE_PORT": str(settings.metastore_port),
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_DIR), env.get("PYTHONPATH")) if p),
        # `airflow standalone` starts its components as `airflow ...` found on PATH: the venv's first
        "PATH": os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH")) if p),
    })
    env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    env.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    # tasks are Spark jobs: a few at once is all a small machine takes (Airflow's default is 32 workers)
    env.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
    env.setdefault("AIRFLOW__API__HOST", "127.0.0.1")  # the UI on this machine only, unless set
    env.setdefault("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "False")
    # tasks run by the scheduler report to the API server's Task Execution API, by default at
    # http://localhost:8080/execution/: an API server on another port must be named there too
    port = env.get("AIRFLOW__API__PORT")
    if port and "AIRFLOW__API__BASE_URL" not in env:
        host = env["AIRFLOW__API__HOST"]
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else f"[{host}]" if ":" in host else host
        env.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://{host}:{port}/execution/")
    return env


def airflow_bin() -> str:
    return str(Path(sys.executable).parent / "airflow")


def ensure_db(env: Mapping[str, str]) -> bool:
    """`airflow db migrate` once, when the SQLite metadata DB does not exist yet; True if it ran."""
    import subprocess

    conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    db = Path(conn[len("sqlite:///"):]) if conn.startswith("sqlite:///") else None
    if db is None or db.exists():
        return False
    db.parent.mkdir(parents=True, exist_ok=True)
    print(f"habitlake airflow: first use, creating the metadata DB {db}", file=sys.stderr, flush=True)
    subprocess.run([airflow_bin(), "db", "migrate"], env=dict(env), check=True,
                   stdout=subprocess.DEVNULL)
    return True


# commands that read DAGs from the metadata DB (Airflow 3 keeps them serialized there)
READS_SERIALIZED = ("dags", "backfill", "assets", "tasks")
PARSES_ITSELF = (["dags", "test"], ["tasks", "test"], ["dags", "reserialize"])


def sync_dags(env: Mapping[str, str]) -> bool:
    """`airflow dags reserialize` when a DAG file changed since the last sync (or never synced), so
    commands reading the metadata DB (`dags list`, `backfill create`, ...) see the current DAGs
    without a running DAG processor; True if it ran."""
    import subprocess

    stamp = Path(env["AIRFLOW_HOME"]) / ".dags-serialized"
    newest = max((p.stat().st_mtime for p in DAGS_DIR.rglob("*.py")), default=0.0)
    if stamp.exists() and stamp.stat().st_mtime >= newest:
        return False
    subprocess.run([airflow_bin(), "dags", "reserialize"], env=dict(env), check=True,
                   stdout=subprocess.DEVNULL)
    stamp.touch()
    return True


def _option(argv: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in an Airflow command line, or None."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


# a backfill's runs of a habitlake DAG run one at a time unless --max-active-runs says otherwise:
# Airflow limits a backfill by its own max_active_runs (default 10), not the DAG's, and silver keeps
# history (SCD2), so days must be processed in order
BACKFILL_MAX_ACTIVE_RUNS = "1"


def backfill_argv(argv: list[str]) -> list[str]:
    """`backfill create ...` as habitlake runs it: `--max-active-runs 1` unless given."""
    if _option(argv, "--max-active-runs") is None:
        argv = [*argv, "--max-active-runs", BACKFILL_MAX_ACTIVE_RUNS]
    return argv


def unpause(env: Mapping[str, str], dag_id: str) -> None:
    """`airflow dags unpause DAG`: the scheduler starts no run of a paused DAG, backfill runs included
    (they would stay queued; DAGs are paused at creation)."""
    import subprocess

    print(f"habitlake airflow: unpausing {dag_id} so the scheduler runs the backfill", file=sys.stderr, flush=True)
    subprocess.run([airflow_bin(), "dags", "unpause", dag_id], env=dict(env), check=True,
                   stdout=subprocess.DEVNULL)


def cmd_airflow(args, settings: Settings) -> int:
    env = airflow_env(settings)
    argv = list(args.airflow_args)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if argv[:2] not in (["db", "migrate"], ["db", "reset"]) and argv[:1] not in ([], ["version"], ["--help"], ["-h"]):
        ensure_db(env)
        if argv[:1] and argv[0] in READS_SERIALIZED and argv[:2] not in PARSES_ITSELF and "--help" not in argv:
            sync_dags(env)
        if argv[:2] == ["backfill", "create"] and "--help" not in argv and "-h" not in argv:
            argv = backfill_argv(argv)
            dag_id = _option(argv, "--dag-id")
            if dag_id and "--dry-run" not in argv:
                unpause(env, dag_id)
    sys.stdout.flush()
    os.execve(airflow_bin(), [airflow_bin(), *argv], env)
    return 0  # not reached


# --- checks -------------------------------------------------------------------------------------

def _delta(path: str):
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(path)
    except TableNotFoundError:
        return None


def _spark_rows(settings: Settings, name: str, column: str, value):
    from pyspark.sql import functions as F

    from habitlake import catalog
    from habitlake.spark import get_spark

    spark = get_spark(settings, "habitlake-checks")
    if not catalog.exists(spark, settings, catalog.table(name)):
        return None
    return catalog.read(spark, settings, name).filter(F.col(column) == value)


def read_table(settings: Settings, name: str, column: str, value) -> list[dict]:
    """Rows of a lakehouse table where `column == value`, as dicts ([] when the table does not exist)."""
    path = settings.table_path(*name.split("."))
    if is_local(path):
        table = _delta(path)
        return [] if table is None else table.to_pyarrow_table(filters=[(column, "=", value)]).to_pylist()
    df = _spark_rows(settings, name, column, value)
    return [] if df is None else [r.asDict() for r in df.collect()]


def count_rows(settings: Settings, name: str, column: str, value) -> int | None:
    """Rows of a table where `column == value` (None when the table or the column does not exist)."""
    path = settings.table_path(*name.split("."))
    if is_local(path):
        import pyarrow.dataset as ds

        table = _delta(path)
        if table is None:
            return None
        dataset = table.to_pyarrow_dataset()
        if column not in dataset.schema.names:
            return None
        return dataset.count_rows(filter=ds.field(column) == value)
    df = _spark_rows(settings, name, column, value)
    return None if df is None else df.count()


class ChecksFailed(RuntimeError):
    pass


def verify(settings: Settings, layer: str, day: str) -> dict:
    """Summary of the recorded data checks of a run; raises ChecksFailed on a problem."""
    import datetime as dt

    run_id = f"{layer}_{day}"
    rows = read_table(settings, f"{layer}.check_results", "run_id", run_id)
    if not rows:
        raise ChecksFailed(f"no data-check results recorded for run {run_id} in {layer}.check_results: "
                           f"did `habitlake {layer} --date {day}` run with checks?")
    # gold also covers the model outputs checked by `habitlake score --date D` (run score_<D>), when scored
    scored = read_table(settings, "gold.check_results", "run_id", f"score_{day}") if layer == "gold" else []
    rows = rows + scored
    failed = [r for r in rows if not r["success"]]
    critical = [r for r in failed if r["severity"] == "critical"]
    summary = {
        "run_id": run_id, "suites": len({r["suite"] for r in rows}), "expectations": len(rows),
        "passed": len(rows) - len(failed), "warnings_failed": len(failed) - len(critical),
        "critical_failed": len(critical), **({"score_expectations": len(scored)} if layer == "gold" else {}),
        "failed": [f"{r['table']}: {r['expectation']}({r['column'] or ''}) [{r['severity']}] "
                   f"{r['unexpected_count'] or 0} unexpected" for r in failed],
    }
    problems = [f"critical check failed: {line}" for line, r in zip(summary["failed"], failed)
                if r["severity"] == "critical"]
    if layer == "silver":
        books = read_table(settings, "silver.reconciliation", "run_id", run_id)
        summary["sources_reconciled"] = len(books)
        problems += [f"books of {b['source']} -> {b['target']} do not balance" for b in books if not b["balanced"]]
    else:
        profile = count_rows(settings, "gold.customer_profile", "as_of_date", dt.date.fromisoformat(day))
        summary["profile_customers"] = profile or 0
        if not profile:
            problems.append(f"gold.customer_profile has no slice as of {day}")
    if problems:
        raise ChecksFailed(f"run {run_id}: " + "; ".join(problems))
    return summary


def cmd_checks(args, settings: Settings) -> int:
    try:
        summary = verify(settings, args.layer, args.date)
    except ChecksFailed as bad:
        print(f"habitlake checks: {bad}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(f"{summary['run_id']}: {summary['passed']} of {summary['expectations']} expectations passed over "
          f"{summary['suites']} suites; {summary['warnings_failed']} warning(s), no critical failure")
    for line in summary["failed"]:
        print(f"  warning: {line}")
    return 0


# --- publish ------------------------------------------------------------------------------------

def gold_rows(settings: Settings, day: str) -> dict[str, int]:
    """Rows per published gold table in the slice of `day` (tables that exist)."""
    import datetime as dt

    out = {}
    for table in PUBLISHED_TABLES:
        rows = count_rows(settings, f"gold.{table}", "as_of_date", dt.date.fromisoformat(day))
        if rows is not None:
            out[f"gold.{table}"] = rows
    return out


def publish(settings: Settings, day: str, report: bool = True) -> dict:
    from datetime import datetime, timezone

    from habitlake import launch

    report_status = "not requested"
    if report:
        report_status = launch.step("report", day, optional=True)
        html = Path(settings.root) / "reports" / f"habitlake_report_{day}.html"
        if is_local(settings.root) and html.exists():
            report_status = str(html)
    record = {
        "date": day,
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gold_rows": gold_rows(settings, day),
        "checks": {layer: _checks_or_error(settings, layer, day) for layer in ("silver", "gold")},
        "report": report_status,
        "dag_run": os.environ.get("AIRFLOW_CTX_DAG_RUN_ID"),
    }
    path = launch.airflow_home(settings) / PUBLISHED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return record


def _checks_or_error(settings: Settings, layer: str, day: str) -> dict:
    try:
        summary = verify(settings, layer, day)
    except ChecksFailed as bad:
        return {"error": str(bad)}
    return {k: v for k, v in summary.items() if k != "failed"}


def read_published(settings: Settings) -> list[dict]:
    from habitlake.launch import airflow_home

    path = airflow_home(settings) / PUBLISHED_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cmd_publish(args, settings: Settings) -> int:
    record = publish(settings, args.date, report=not args.no_report)
    rows = ", ".join(f"{k} {v:,}" for k, v in record["gold_rows"].items())
    print(f"published {args.date}: {rows}")
    print(f"report: {record['report']}")
    return 0
