"""The demo: a synthetic retailer generated (once), its history prepared, the last days run through
the real `habitlake_daily` Airflow DAG one day at a time, the models trained through the
`habitlake_weekly_training` DAG, and a summary of what was built.

Idempotent: data already generated with the same parameters is not generated again, files already
ingested are skipped, every step replaces its date's results.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from habitlake.settings import PROJECT_DIR, Settings, is_local, join, local_path

STEPS = 6
DAG_DAYS = 3  # the last days run through the daily DAG, one `airflow dags test` each
CLI = [sys.executable, "-m", "habitlake.cli"]
PREPARE = """
import sys
from habitlake.settings import Settings
from habitlake.spark import get_spark
from jobs.bronze import ingest
from jobs.gold import run as gold
from jobs.silver import run as silver

first, last, month_before = sys.argv[1:4]
settings = Settings.from_env()
spark = get_spark(settings, "habitlake-demo-prepare")
log = ingest.run(spark, settings, first, last)
print(f"      {sum(r['status'] == 'ingested' for r in log)} new files, {sum(r['rows'] for r in log):,} rows, "
      f"{sum(r['status'] == 'rejected' for r in log)} rejected files", flush=True)
silver.run(spark, settings, first, last, progress=None)
print(f"      silver {first} .. {last} done", flush=True)
gold.run(spark, settings, month_before, tables=["customer_profile"], checks=False, progress=None)
print(f"      gold.customer_profile as of {month_before} (for tier history) done", flush=True)
"""


def generated_with(settings: Settings) -> dict | None:
    """The generator's parameters of the root's landing data (its truth manifest), or None."""
    manifest = local_path(join(settings.truth, "manifest.json"))
    if not is_local(settings.truth) or not manifest.exists():
        return None
    return json.loads(manifest.read_text()).get("parameters")


def _step(n: int, text: str) -> None:
    print(f"[{n}/{STEPS}] {text}", flush=True)


def _days(first: str, last: str) -> list[str]:
    d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
    return [(d0 + timedelta(days=i)).isoformat() for i in range((d1 - d0).days + 1)]


def _log_dir(settings: Settings) -> Path:
    from habitlake.launch import airflow_home

    path = airflow_home(settings) / "demo-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _follow(cmd: list[str], log: Path, show) -> int:
    """Run a command, its output to `log`; lines `show` accepts are printed as progress."""
    with log.open("w", encoding="utf-8") as out, subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, cwd=PROJECT_DIR) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            text = show(line)
            if text:
                print(f"      {text}", flush=True)
        return proc.wait()


def _task_progress(line: str) -> str | None:
    """Progress lines of a DAG test run: each step launched and finished, failures."""
    line = line.strip()
    if "Returned value was" in line:  # Airflow repeats a task's return value; the step said it already
        return None
    if line.startswith("habitlake ") and (" finished in " in line or "[runner:" in line or "skipped" in line):
        return line.split("  [runner:")[0] if "[runner:" in line else line
    if ("scoring skipped" in line or line.startswith(("DagRun ", "scoring ", "not scored"))
            or "StepFailed" in line):
        return line
    return None


def run(settings: Settings, customers: int, days: int, start: str, seed: int) -> int:
    from jobs.landing.generator import generate

    t0 = time.monotonic()
    wanted = {"customers": customers, "days": days, "start": start, "seed": seed}
    have = generated_with(settings) or {}
    if all(have.get(k) == v for k, v in wanted.items()):
        _step(1, f"landing data already generated ({customers} customers x {days} days): skipped")
    else:
        _step(1, f"generating {customers} customers x {days} days from {start} into {settings.landing}")
        generate(settings.landing, settings.truth, customers=customers, days=days, start=start, seed=seed)
    last = (date.fromisoformat(start) + timedelta(days=days - 1)).isoformat()
    n_dag = min(DAG_DAYS, days - 1)
    history_end = (date.fromisoformat(last) - timedelta(days=n_dag)).isoformat()
    month_before = (date.fromisoformat(last) - timedelta(days=30)).isoformat()
    logs = _log_dir(settings)

    _step(2, f"history {start} .. {history_end}: ingest, silver, profile as of {month_before} (one Spark session)")
    # a script file, not `python -c`: pyspark.sql.connect (imported by GX) ends a `-c` process early
    script = logs / "prepare.py"
    script.write_text(PREPARE, encoding="utf-8")
    rc = _follow([sys.executable, str(script), start, history_end, max(month_before, start)],
                 logs / "prepare.log", lambda line: line.strip() if line.startswith("      ") else None)
    if rc:
        print(f"preparing the history failed: see {logs / 'prepare.log'}", file=sys.stderr)
        return rc

    dag_days = _days((date.fromisoformat(history_end) + timedelta(days=1)).isoformat(), last)
    _step(3, f"the daily Airflow DAG for {dag_days[0]} .. {last} ({len(dag_days)} runs of "
             f"`habitlake airflow dags test habitlake_daily D`)")
    for i, day in enumerate(dag_days, 1):
        t = time.monotonic()
        print(f"    {day} ({i}/{len(dag_days)})", flush=True)
        log = logs / f"habitlake_daily_{day}.log"
        rc = _follow([*CLI, "airflow", "dags", "test", "habitlake_daily", day], log, _task_progress)
        if rc:
            print(f"the daily DAG failed for {day}: see {log} and `habitlake airflow tasks states-for-dag-run`",
                  file=sys.stderr)
            return rc
        print(f"      day {day} done in {time.monotonic() - t:.0f}s", flush=True)

    _step(4, f"training every model through the weekly DAG (cutoff {last})")
    trained = _train(settings, last, logs)

    _step(5, f"scoring {last} with the champions")
    if trained:
        log = logs / f"score_{last}.log"  # in its own process: Spark's and MLflow's lines go to the log
        if _follow([*CLI, "score", "--date", last, "--champions"], log, _task_progress):
            print(f"      scoring failed: see {log}; the summary shows what was written", flush=True)
    else:
        print("      skipped: no trained model", flush=True)

    _step(6, "summary")
    print_summary(settings, dag_days)
    print(f"\ndone in {time.monotonic() - t0:.0f}s. Where to look next:\n"
          f"  habitlake airflow standalone          # Airflow UI on http://localhost:8080: the DAG runs, task logs\n"
          f"                                        #   (login: admin, password in {logs.parent}/"
          f"simple_auth_manager_passwords.json.generated)\n"
          f"  habitlake mlflow ui                   # MLflow: experiments, metrics, champion / challenger\n"
          f"  habitlake models                      # the registry in the terminal\n"
          f"  habitlake sql \"SELECT * FROM gold.tier_migration ORDER BY month, from_tier\"\n"
          f"  habitlake audience \"hotpot_fan AND NOT is_churned\" --count --date {last}\n"
          f"  data docs: {settings.state_dir / 'checks' / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}\n"
          f"  runs published: {logs.parent / 'published.jsonl'}; task failures: {logs.parent / 'failures.jsonl'}")
    return 0


def _train(settings: Settings, cutoff: str, logs: Path) -> bool:
    """Train through the weekly DAG; False (and a note) when the models are not there yet."""
    from habitlake import launch

    if not launch.available("train"):
        print("      skipped: `habitlake train` is not available in this checkout", flush=True)
        return False
    log = logs / "habitlake_weekly_training.log"
    rc = _follow([*CLI, "airflow", "dags", "test", "habitlake_weekly_training", "-c", json.dumps({"cutoff": cutoff})],
                 log, _task_progress)
    if rc:
        print(f"      training did not finish cleanly (see {log}); the demo goes on with what was promoted",
              flush=True)
    try:
        return any(e.champion for e in _registry(settings))
    except Exception as error:  # noqa: BLE001 - a broken model store must not hide the rest of the demo
        print(f"      model registry not readable: {error}", flush=True)
        return False


def _registry(settings: Settings):
    from models import runner

    return runner.registry(settings)


# --- summary (read with delta-rs: no Spark start-up) ----------------------------------------------

def _count(settings: Settings, layer: str, table: str) -> int | None:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(settings.table_path(layer, table)).to_pyarrow_dataset().count_rows()
    except TableNotFoundError:
        return None


def print_summary(settings: Settings, dag_days: list[str]) -> None:
    print_rows(settings)
    print_checks(settings, dag_days)
    if dag_days:
        print_tiers(settings, dag_days[-1])
    print_models(settings)


def print_rows(settings: Settings) -> None:
    from habitlake import catalog

    for layer in ("bronze", "silver", "gold"):
        counts = [(t.name, _count(settings, layer, t.name)) for t in catalog.catalog().values() if t.layer == layer]
        counts = [(n, c) for n, c in counts if c is not None]
        print(f"  {layer}: {len(counts)} tables, {sum(c for _, c in counts):,} rows")
        for name, n in counts:
            print(f"    {layer}.{name:<28} {n:>12,}")


def print_checks(settings: Settings, days: list[str]) -> None:
    from habitlake.commands.airflow import ChecksFailed, verify

    print("  data checks of the DAG runs (expectations passed / warnings / critical failures):")
    for day in days:
        parts = []
        for layer in ("silver", "gold"):
            try:
                s = verify(settings, layer, day)
                parts.append(f"{layer} {s['passed']}/{s['expectations']} passed, {s['warnings_failed']} warnings, "
                             f"{s['critical_failed']} critical")
            except ChecksFailed as bad:
                parts.append(f"{layer}: {bad}")
        print(f"    {day}: " + "; ".join(parts))


def print_tiers(settings: Settings, day: str) -> None:
    from collections import Counter

    from deltalake import DeltaTable

    profile = DeltaTable(settings.table_path("gold", "customer_profile")).to_pyarrow_table(
        columns=["tier"], filters=[("as_of_date", "=", date.fromisoformat(day))])
    tiers = Counter(profile.column("tier").to_pylist())
    print(f"  tiers as of {day} ({profile.num_rows:,} customers):")
    for tier, n in tiers.most_common():
        print(f"    {tier or '(none)':<12} {n:>9,}  {n / max(profile.num_rows, 1):6.1%}")


def print_models(settings: Settings) -> None:
    try:
        entries = _registry(settings)
    except Exception as error:  # noqa: BLE001
        print(f"  models: not available ({error})")
        return
    print("  models (champion: primary metric on held-out data):")
    for e in entries:
        if e.champion:
            metric = e.champion["primary_metric"]
            value = e.champion["metrics"].get(metric)
            shown = f"{metric} = {value:.4g}" if value is not None else metric
            print(f"    {e.name:<18} v{e.champion['version']:<3} {shown}")
        else:
            print(f"    {e.name:<18} {e.status}")
