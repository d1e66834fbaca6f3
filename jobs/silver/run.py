"""`habitlake silver --date D [--to D2]`: every silver table for a date window, in dependency order.

Reference tables first (their ids validate the others), then facts. Tables that do not depend on
each other run at the same time in one Spark session (`WAVES`): most of a table's cost on a small
day is fixed driver-side work (planning, the Delta commit, the data check), which overlaps well.
A source this retailer does not have is skipped and said so. The run is deterministic for its dates: the run id is derived from
them, and no table stores wall-clock time, so running the same dates twice leaves every table equal.
"""
from __future__ import annotations

import importlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pyspark.sql import SparkSession

from habitlake.settings import Settings
from jobs.bronze.ingest import days_between
from jobs.silver.pipeline import Books, Context, finish_run, run_job

# Dependency order: a table's rules may look up the tables of earlier waves (customers: test
# accounts and known ids; products: known ids; orders: the orders lines and deliveries belong to).
WAVES = (
    ("customers", "products", "calendar", "weather", "promotions"),
    ("orders", "events", "campaign_sends", "reviews", "complaints", "inventory"),
    ("order_lines", "deliveries"),
)
TABLES = tuple(t for wave in WAVES for t in wave)
PARALLEL = 3  # tables of one wave at once: enough to overlap fixed costs on 2 cores


@dataclass(frozen=True)
class TableRun:
    table: str
    books: Books | None  # None: the source is absent for this retailer
    seconds: float


def run_id_for(days: list[str]) -> str:
    return f"silver_{days[0]}" if len(days) == 1 else f"silver_{days[0]}_{days[-1]}"


def run(spark: SparkSession, settings: Settings, first_day: str, last_day: str | None = None,
        tables: list[str] | None = None, progress=print, checks: bool = True,
        parallel: int = PARALLEL) -> list[TableRun]:
    days = days_between(first_day, last_day)
    unknown = sorted(set(tables or []) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown silver table(s) {unknown}; known: {list(TABLES)}")
    ctx = Context(spark, settings, tuple(days), run_id_for(days), checks=checks)
    results: dict[str, TableRun] = {}
    if checks:
        from expectations.runner import prepare

        prepare(ctx.gx_root)

    def one(name: str) -> None:
        job = importlib.import_module(f"jobs.silver.{name}").JOB
        t0 = time.monotonic()
        results[name] = TableRun(name, run_job(job, ctx), time.monotonic() - t0)
        if progress:
            progress(_line(results[name]))

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="silver") as pool:
            for wave in WAVES:
                names = [t for t in wave if t in (tables or TABLES)]
                # a failure (e.g. a critical data check) lets the wave finish, then stops the run
                for future in [pool.submit(one, name) for name in names]:
                    future.result()
    finally:  # what ran is recorded even when a critical data check stops the run
        finish_run(ctx)
    return [results[t] for t in TABLES if t in results]


def _line(r: TableRun) -> str:
    if r.books is None:
        return f"  {r.table:<15} skipped: no bronze source for it"
    b = r.books
    return (f"  {r.table:<15} in {b.rows_in:>9,}  silver {b.rows_to_silver:>9,}  quarantined "
            f"{b.rows_quarantined:>7,}  duplicates {b.duplicates_removed:>7,}  ({r.seconds:.1f}s)")
