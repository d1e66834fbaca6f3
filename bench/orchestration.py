"""Benchmark: one daily run of the `habitlake_daily` DAG's steps, and the share of it spent starting Spark.

Generates `--customers` x `--days` into a throw-away root, prepares every day but the last (ingest
and silver, one process), then runs the last day's steps exactly as the DAG's tasks launch them
(`habitlake.launch`), with `HABITLAKE_RUNNER=subprocess`: each Spark step in a fresh process, as
the scheduler runs each task. Spark start-up is measured as the wall time of a process that only
starts Spark with the metastore and runs `SELECT 1` (best of two). Prints the figures; asserts
nothing.

    python -m bench orchestration [--customers 2000] [--days 8] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta

from bench import scratch_root

START = "2025-03-01"
# what the same day would pay with one Spark session per table instead of per layer
TABLES_PER_LAYER = {"ingest": 14, "silver": 13, "gold": 25}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench orchestration")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--keep", help="root folder to use and keep (default: a temp folder, deleted)")
    args = parser.parse_args(argv)
    with scratch_root(args.keep) as root:
        run(root, args.customers, args.days)


def _cli(*argv: str) -> float:
    t = time.monotonic()
    subprocess.run([sys.executable, "-m", "habitlake.cli", *argv], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def run(root: str, customers: int, days: int) -> dict:
    from habitlake import launch

    last = (date.fromisoformat(START) + timedelta(days=days - 1)).isoformat()
    before = (date.fromisoformat(last) - timedelta(days=1)).isoformat()
    t = _cli("generate", "--customers", str(customers), "--days", str(days), "--start", START, "--seed", "3",
             "--quiet")
    print(f"generate {customers:,} customers x {days} days: {t:.1f}s")
    t = _cli("ingest", "--date", START, "--to", before) + _cli("silver", "--date", START, "--to", before)
    print(f"prepare {START} .. {before} (ingest + silver): {t:.1f}s")

    os.environ["HABITLAKE_RUNNER"] = "subprocess"
    steps = [("ingest", lambda: launch.step("ingest", last)),
             ("silver", lambda: launch.step("silver", last)),
             ("data_checks", lambda: launch.step("checks", last, "--layer", "silver")),
             ("gold", lambda: launch.step("gold", last)),
             ("score", lambda: launch.score(last)),
             ("gold_checks", lambda: launch.step("checks", last, "--layer", "gold")),
             ("publish", lambda: launch.step("publish", last))]
    timings = {}
    spark_processes = 0
    original_run = launch.run

    def counting_run(argv, env=None, echo=print):
        nonlocal spark_processes
        spark_processes += launch.command(launch.Settings.from_env(), argv) is not None
        return original_run(argv, env, echo=lambda _line: None)

    launch.run = counting_run
    try:
        for name, fn in steps:
            t = time.monotonic()
            fn()
            timings[name] = time.monotonic() - t
    finally:
        launch.run = original_run
    total = sum(timings.values())
    startup = min(_cli("sql", "SELECT 1") for _ in range(2))
    share = spark_processes * startup / total
    print(f"daily run for {last}, one process per Spark step (HABITLAKE_RUNNER=subprocess):")
    for name, seconds in timings.items():
        print(f"  {name:<12} {seconds:7.1f}s")
    print(f"  {'total':<12} {total:7.1f}s")
    print(f"Spark start-up (new process, metastore, SELECT 1): {startup:.1f}s x {spark_processes} Spark "
          f"processes = {spark_processes * startup:.1f}s -> {share:.0%} of the daily run")
    per_table = sum(TABLES_PER_LAYER.values()) * startup
    print(f"one session per table instead ({sum(TABLES_PER_LAYER.values())} tables) would pay ~{per_table:.0f}s "
          f"of start-up; in one process (`airflow dags test`, HABITLAKE_RUNNER=local) it is paid once")
    return {"total": total, "startup": startup, "spark_processes": spark_processes, "share": share, **timings}


if __name__ == "__main__":
    main()
