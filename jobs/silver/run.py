"""`habitlake silver --date D [--to D2]`: every silver table for a date window, in dependency order.

Reference tables first (their ids validate the others), then facts. A source this retailer does not
have is skipped and said so. The run is deterministic for its dates: the run id is derived from
them, and no table stores wall-clock time, so running the same dates twice leaves every table equal.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

from pyspark.sql import SparkSession

from habitlake.settings import Settings
from jobs.bronze.ingest import days_between
from jobs.silver.pipeline import Books, Context, finish_run, run_job

# Dependency order: a table's rules may look up the tables before it.
TABLES = ("calendar", "weather", "products", "customers", "promotions", "campaign_sends", "orders",
          "order_lines", "deliveries", "events", "reviews", "complaints", "inventory")


@dataclass(frozen=True)
class TableRun:
    table: str
    books: Books | None  # None: the source is absent for this retailer
    seconds: float


def run_id_for(days: list[str]) -> str:
    return f"silver_{days[0]}" if len(days) == 1 else f"silver_{days[0]}_{days[-1]}"


def run(spark: SparkSession, settings: Settings, first_day: str, last_day: str | None = None,
        tables: list[str] | None = None, progress=print, checks: bool = True) -> list[TableRun]:
    days = days_between(first_day, last_day)
    unknown = sorted(set(tables or []) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown silver table(s) {unknown}; known: {list(TABLES)}")
    ctx = Context(spark, settings, tuple(days), run_id_for(days), checks=checks)
    results = []
    try:
        for name in [t for t in TABLES if t in (tables or TABLES)]:
            job = importlib.import_module(f"jobs.silver.{name}").JOB
            t0 = time.monotonic()
            books = run_job(job, ctx)
            results.append(TableRun(name, books, time.monotonic() - t0))
            if progress:
                progress(_line(results[-1]))
    finally:  # what ran is recorded even when a critical data check stops the run
        finish_run(ctx)
    return results


def _line(r: TableRun) -> str:
    if r.books is None:
        return f"  {r.table:<15} skipped: no bronze source for it"
    b = r.books
    return (f"  {r.table:<15} in {b.rows_in:>9,}  silver {b.rows_to_silver:>9,}  quarantined "
            f"{b.rows_quarantined:>7,}  duplicates {b.duplicates_removed:>7,}  ({r.seconds:.1f}s)")
