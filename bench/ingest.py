"""Benchmark: bronze ingestion and silver for ONE day of a 100k-customer retailer, on this machine.

Generates `--customers` x (WARM_RUNS + 5) days into a throw-away root and runs day 1 as warm-up
(it also builds the customer and product dimensions from the full CRM/ERP export). Then, in the
same warm session, each following day as the daily task meets it, a new day each time: ingestion
and silver (WARM_RUNS days, per-table figures for the last), a re-run of the last of them, one more
day without data checks (the GX share), silver of the next day in a new process, as the daily DAG
task runs it by default, and two last days sent to a long-lived driver (HABITLAKE_RUNNER=driver,
habitlake/driver.py), as the DAG task runs them with one. Prints the figures; asserts nothing.

    python -m bench ingest [--customers 100000] [--keep=DIR]

(`--keep=DIR` with `=`: `python -m bench` takes bare words as benchmark names.) Each silver figure
is printed with the load averages before it: on a shared 2-core machine they decide the figure.

New days, as the daily task meets them (this harness, the bench the only load ~3; 100k customers,
189,084-223,540 bronze rows a day, 13 tables, 2 at once):
| 2026-12-03                   | warm, 3 new days   | re-run | no checks | new process, after start-up |
|------------------------------|--------------------|--------|-----------|-----------------------------|
| morning                      | 82.7, 73.1, 82.6 s | 63.2 s | 75.7 s    | 169.0 s (182.3 s in all)    |
| + Delta log replay in 1 task,| 67.1, 56.6, 60.5 s | 50.7 s | 65.1 s    | 152.5 s (168.7 s in all)    |
|   silver interpreted (no     |                    |        |           |                             |
|   codegen), afternoon        |                    |        |           |                             |
| + the parallel garbage       | 56.0, 54.4, 55.2 s | 42.2 s | 48.4 s    | 125.4 s (137.6 s in all)    |
|   collector instead of G1    |                    |        |           |                             |
|   (local masters), evening   |                    |        |           |                             |
| 2026-12-07, another machine | warm, 3 new days   | re-run | no checks | new process, after start-up |
|------------------------------|--------------------|--------|-----------|-----------------------------|
| the code of the row above    | 28.7, 26.2, 30.2 s | 23.4 s | 26.1 s    | 60.3 s (66.2 s in all)      |
| + Delta statistics on silver | 26.3, 23.2, 23.5 s | 22.1 s | 21.9 s    | 56.3 s (62.4 s in all)      |
|   tables' keys only          | 27.5, 21.9, 24.4 s | 22.2 s | 22.9 s    | 58.9 s (65.2 s in all)      |
With the long-lived driver (HABITLAKE_RUNNER=driver; 8 days generated from here on, so 175,357-
207,993 rows a day): warm new days 23.9, 20.2, 22.8 s, re-run 21.4 s, no checks 19.9 s, a new
process 51.3 s after start-up (56.0 s in all); then ingestion and silver sent to a driver started
for them (4.0 s to start): silver of its first day 40.4 s (its JVM warmed by that day's ingestion
only), of its second day 25.2 s, as the task measures it (load 2.3-2.9).
The machine of 2026-12-07 ran the same code about twice as fast as that of 2026-12-03 (ingestion
too: 15-18 s a day against 30-40 s): compare figures within one day's rows only. The rows of
2026-12-07 were run one after the other, the bench the only load (2.2-2.9).
Per table of the last warm day (2026-12-03 evening): events (133,903 rows) 21.1 s, customers 14.1,
orders 12.8, order_lines 11.7, weather (23 rows) 9.0, deliveries 8.0, campaign_sends 6.2, products
(1 row) 6.0, the other five 0.3-5.3 s: fixed cost per table, not volume; 2026-12-07 with key-only
statistics: events 7.2-7.3 s, orders 6.8-7.1, order_lines 5.0-5.3, customers 4.8-5.0, the other
nine 0.1-4.3 s. GX's share 7-12%. Where the target stands (2026-12-07): a warm new day ~24 s,
well under a minute; a new process, as the daily task runs silver, 56-59 s after Spark's start-up,
under a minute but not well under it: ~33 s of it is the new JVM compiling Spark's and Delta's
code (the first two tables, products with 3 rows and customers, take 17-20 s each in a new
process against 3-5 s warm).
Key-only statistics: Delta computes min / max / null counts of each written row for the first 32
columns by default; under silver's interpreted evaluation that projection (Delta's
DeltaTaskStatisticsTracker, an InterpretedMutableProjection that indexes a Scala List per
expression) was ~20% of the JVM's CPU samples on warm days (JFR, 2026-12-03, `jcmd JFR.start
settings=profile`). Profiled apart (one new process, then two warm new days; wall time with the
JVM's CPU seconds in brackets): as committed 98.7 s (167.0), 47.1 s (83.3), 54.1 s (94.1); stats
on 4 columns 85.4 s (145.5), 42.1 s (74.0), 45.1 s (76.7); no stats at all 87.6 s (148.4), 42.1 s
(74.6), 49.1 s (82.8) (not kept: MERGE file pruning needs the keys' stats). Worse, not kept:
subexpression elimination off (107.2, 49.2, 57.0 s), generated projections without whole-stage
codegen (102.0, 63.4, 66.7 s). In a new process (re-runs of one day, 2026-12-07), each no better
than the 52-55 s of the code as committed: -Xms3g, a C2 threshold of 3000 invocations, no
metastore registration at all (51.7, 53.1 s).
The collector, profiled apart (one new process, then two warm new days in it, silver only; wall
time with the JVM's CPU seconds in brackets): G1 133.1 s (231.3), 57.2 s (105.5), 65.8 s (116.2);
parallel 118.8 s (202.9), 56.6 s (100.7), 55.2 s (95.4); serial 111.7 s (186.7), 60.3 s (102.0),
66.7 s (108.1). Tried the same evening and not kept, each within the 10-15 s noise: 2 shuffle
partitions instead of 8 (with the parallel collector); Delta MERGE not copying its source, no
checkpoint of bronze, events with generated code (each with G1); and C1 only
(`-XX:TieredStopAtLevel=1`, with G1: warm days 110.5 and 141.7 s, far worse).
Every figure below is of a RE-RUN of day 2 (the harness before 2026-12-03), which is 10-20 s
cheaper than a new day: its MERGEs find every row already there and write little.

Silver re-runs of day 2 (100k customers, 376,616 bronze rows, 12 tables), 2 cores:
| when / change                                    | load (1/5/15 min) | with checks | without | GX share |
|--------------------------------------------------|-------------------|-------------|---------|----------|
| 3 dependency waves, 3 tables at once, nearly idle| ~1                | 99.3 s      | 56.3 s  | ~43%     |
| same, other sessions' Spark tests running        | ~18-22            | 382.1 s     | 378.8 s | ~1%      |
| same, 2026-12-01, idle but for the bench itself  | 2.9/3.0/2.9       | 115.6 s     | 78.7 s  | ~32%     |
| GX fast pass, tables scheduled by dependency,    | 3.2/3.4/3.2       | 102.6 s     | 76.8 s  | ~25%     |
|   2 at once, quarantine in one file (2026-12-01) |                   |             |         |          |
| + local checkpoints instead of caches; the demo  | 6.0/5.5/5.7       | 91.7 s      | 69.4 s  | ~24%     |
|   ran beside it at nice 10 (2026-12-01)          |                   |             |         |          |
| same code, idle but for the bench (2026-12-01)   | 2.9/3.0/3.6       | 79.5 s      | 57.0 s  | ~28%     |
| GX opened in a thread beside the first tables,   | 3.0/1.9/1.4       | 67.2 s      | 45.7 s  | ~32%     |
|   idle but for the bench (2026-12-02)            |                   |             |         |          |
| same code, the day 3 times in the warm session,  | 3.1-3.8           | 64.3, 55.7, | 48.1 s  | ~26%     |
|   idle but for the bench (2026-12-02, later)     |                   | 65.4 s      |         |          |
The figures above are of a warm session (day 1 ran in it first); the harness now runs the day
WARM_RUNS times in it, because one figure is not enough: identical runs of identical code differ by
10-15 s. Profiled in one session, 4 runs each (idle machine, load ~3.5-4): the code as committed gave
156.8 (new session), 67.2, 51.6, 69.0 s; with four changes that each remove Spark work, 148.6, 81.1,
57.5, 57.7 s: no difference that the noise does not cover, so none of them was kept. They were: no
local checkpoint of bronze before classifying (bronze counted on its own), Delta MERGE told not to
copy its source (`spark.databricks.delta.merge.materializeSource=none`: silver's sources are local
checkpoints already), the run's three closing writes (quarantine, books, check results) at once,
and the large tables started before the small ones. In new sessions, whole-stage codegen and the
codegen factory off (`spark.sql.codegen.wholeStage=false`, `spark.sql.codegen.factoryMode=NO_CODEGEN`)
gave 144.0 s against 157.7 s, adaptive execution off 179.6 s: nothing decisive either.
What the profile does show: on a small day silver is fixed cost. Warm, the 2-row products dimension
takes 7.7 s to write (the SCD2 rebuild and overwrite) and 23 weather rows ~3 s of MERGE; in a new
process, the first query of each of the first two tables waits ~22 s (Delta's first snapshot
of a table and the JVM's first compilation of Spark's code), and their dimension writes 26-30 s.
The daily task starts a new process: `habitlake silver --date D` for the same day took 118.2 s
after Spark start-up in the run of the last row (118-158 s over five runs that day), and before
that 122.0 s (131.8 s in all, 2026-12-02, load ~3.7), against 134-164 s before GX was opened in a
thread (it was 6.7 s of serial Python). The cold extra over a warm session (~55-95 s) is
per-process warm-up: the JIT and Spark's generated code for every query, which a new JVM compiles
again. A dynamic AppCDS archive of the
driver's classes (-XX:ArchiveClassesAtExit / -XX:SharedArchiveFile, 225 MB) mapped fine and
changed nothing (133.0 s): class loading is not the cost. C1-only JIT was worse (179.5 s).
Re-runs of day 2 in one warm session on the kept root (code of the row before last, idle machine):
2 tables at once 87.8 s; 3 at once 98.6-101.9 s; 4 at once 93.5 s. Both cores are busy throughout
(the tables' own times add up to ~2x the wall time), so the floor is the work itself: ~150-175
CPU-seconds for a day, mostly fixed per-table cost: the Delta MERGE of each table (planning,
file-skipping jobs, the commit: ~3 s even for 23 weather rows), the classification windows, the
GX checkpoint (~1 s per table in the fast pass, Python), and the SCD2 rebuild of silver.customers
(the whole dimension, ~8 s). The one-minute target is not met.

Where the time went before (instrumented run, job counts do not depend on load): GX checkpoints
issued 17-33 Spark jobs per table in BASIC format (one "unexpected values" job per column
expectation; the fast pass drops those); Delta's "Filtering files for query" jobs on each bronze
read; finish_run's quarantine replaceWhere rewrote 45 files; ~608 Spark jobs for the run.
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta

from bench import scratch_root

START = "2025-03-03"
WARM_RUNS = 3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench ingest")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--keep", help="root folder to use and keep (default: a temp folder, deleted)")
    args = parser.parse_args(argv)
    with scratch_root(args.keep) as root:
        run(root, args.customers)


def run(root: str, customers: int) -> None:
    from habitlake.settings import Settings
    from habitlake.spark import get_spark
    from jobs.bronze import ingest
    from jobs.landing.generator import generate
    from jobs.silver import run as silver

    settings = Settings.from_env()
    # day 1 warm-up, WARM_RUNS new days, one more new day without data checks, one in a new process
    days = [(date.fromisoformat(START) + timedelta(days=i)).isoformat() for i in range(WARM_RUNS + 5)]
    t = time.monotonic()
    generate(settings.landing, settings.truth, customers=customers, days=len(days), start=START, seed=1,
             progress=False)
    print(f"generate {customers:,} customers x {len(days)} days: {time.monotonic() - t:.1f}s")

    t = time.monotonic()
    spark = get_spark(settings, "habitlake-bench")
    print(f"spark start-up (incl. metastore): {time.monotonic() - t:.1f}s")
    t = time.monotonic()
    ingest.run(spark, settings, days[0])
    silver.run(spark, settings, days[0], progress=None)
    print(f"warm-up day {days[0]} (full CRM / ERP export): {time.monotonic() - t:.1f}s")

    def day(d: str, label: str, checks: bool = True, show_tables: bool = False) -> float:
        t = time.monotonic()
        log = ingest.run(spark, settings, d)
        ingest_s = time.monotonic() - t
        rows = sum(r["rows"] for r in log)
        print(f"ingest {d}: {rows:,} rows from {len(log)} files in {ingest_s:.1f}s ({rows / ingest_s:,.0f} rows/s)")
        return silver_day(d, label, checks, show_tables)

    def silver_day(d: str, label: str, checks: bool = True, show_tables: bool = False) -> float:
        load = _load()
        t = time.monotonic()
        results = silver.run(spark, settings, d, progress=None, checks=checks)
        seconds = time.monotonic() - t
        if show_tables:
            for r in results:
                if r.books:
                    print(f"  silver {r.table:<15} {r.books.rows_in:>10,} rows  {r.seconds:6.1f}s")
        print(f"silver {d} {label}: {seconds:.1f}s for {sum(r.books.rows_in for r in results if r.books):,} "
              f"bronze rows (load before: {load})")
        return seconds

    # A new day each time, as the daily task meets it (a re-run of a day is cheaper: its MERGEs
    # find every row already there and rewrite nothing). WARM_RUNS of them: identical runs differ
    # by 10-15 s, and the JVM is still compiling Spark's and Delta's code during the first ones.
    warm = [day(d, f"warm, new day {i}", show_tables=i == WARM_RUNS)
            for i, d in enumerate(days[1:1 + WARM_RUNS], start=1)]
    silver_day(days[WARM_RUNS], "warm, re-run of the same day")
    unchecked = day(days[WARM_RUNS + 1], "warm, new day, without data checks")
    mean = sum(warm) / len(warm)
    print(f"-> Great Expectations share ~{max(mean - unchecked, 0) / mean:.0%} of the silver run "
          f"(mean of the warm new days {mean:.1f}s against {unchecked:.1f}s)")
    ingest.run(spark, settings, days[WARM_RUNS + 2])
    spark.stop()
    cold(days[WARM_RUNS + 2])
    via_driver(days[WARM_RUNS + 3:])


def cold(day: str) -> None:
    """Silver of `day` once more as a daily DAG task runs it: `habitlake silver --date D` in a new
    process, whose JVM loads and compiles everything afresh (the figures above are of a warm one)."""
    import re
    import subprocess
    import sys

    load = _load()
    t = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "habitlake.cli", "silver", "--date", day], capture_output=True,
                          text=True, check=True)
    wall = time.monotonic() - t
    inside = re.findall(r"done in ([0-9.]+)s", done.stdout)
    print(f"silver {day} in a new process (the daily task): {wall:.1f}s in all, "
          f"{inside[-1] if inside else '?'}s after Spark start-up (load before: {load})")


def via_driver(days: list[str]) -> None:
    """Ingestion and silver of each day as the scheduler runs them with HABITLAKE_RUNNER=driver:
    sent to a long-lived `habitlake driver` (habitlake/driver.py), started here. Its first day pays
    the new JVM's warm-up; the next ones find it warm."""
    import re

    from habitlake import driver, launch
    from habitlake.settings import Settings

    settings = Settings.from_env()
    t = time.monotonic()
    driver.start(settings)
    print(f"driver start-up (a Spark session): {time.monotonic() - t:.1f}s")
    env = {**os.environ, "HABITLAKE_RUNNER": "driver"}
    try:
        for n, d in enumerate(days, start=1):
            launch.run(["ingest", "--date", d], env=env, echo=lambda line: None)
            lines: list[str] = []
            load = _load()
            t = time.monotonic()
            launch.run(["silver", "--date", d], env=env, echo=lines.append)
            wall = time.monotonic() - t
            inside = re.findall(r"done in ([0-9.]+)s", "\n".join(lines))
            print(f"silver {d} via the driver, its day {n}{' (a new JVM)' if n == 1 else ''}: {wall:.1f}s "
                  f"for the task, {inside[-1] if inside else '?'}s in the driver (load before: {load})")
    finally:
        driver.stop(settings)


def _load() -> str:
    """The machine's 1/5/15-minute load averages: figures on a shared 2-core machine mean little
    without them."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
