"""`habitlake silver --date D [--to D2]`: every silver table for a date window, in dependency order.

A table starts as soon as the tables its rules look up are written (`DEPENDS_ON`: reference tables
validate the ids of the others), and up to `PARALLEL` tables run at once in one Spark session: most
of a table's cost on a small day is fixed driver-side work (planning, the Delta commit, the data
check), which overlaps well. (Fixed waves made every table of a wave wait for its slowest member:
orders waited for weather.) A source this retailer does not have is skipped and said so. The run is
deterministic for its dates: the run id is derived from them, and no table stores wall-clock time,
so running the same dates twice leaves every table equal.
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace

from pyspark.sql import SparkSession

from habitlake import catalog
from habitlake.settings import Settings
from jobs.bronze.ingest import days_between
from jobs.silver.pipeline import Books, Context, finish_run, run_job

# What each table's rules look up (customers: test accounts and known ids; products: known ids;
# orders: the orders that lines and deliveries belong to). TABLES is the order of the report and
# of priority: of the tables ready to run, the earliest in TABLES starts first.
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "customers": (), "products": (), "calendar": (), "weather": (), "promotions": (),
    "orders": ("customers",), "events": ("customers", "products"), "campaign_sends": ("customers",),
    "reviews": ("customers",), "complaints": ("customers",), "inventory": ("products",),
    "order_lines": ("orders", "products"), "deliveries": ("orders",),
}
TABLES = ("customers", "products", "calendar", "weather", "promotions", "orders", "events",
          "campaign_sends", "reviews", "complaints", "inventory", "order_lines", "deliveries")
PARALLEL = 2  # tables at once: on 2 cores, 3 or 4 were slower (bench/ingest.py)
# On a local master a silver day is a few hundred thousand rows in ~450 small Spark jobs: fixed
# cost, not volume. Spark generates and compiles Java for every query (whole-stage codegen) and
# builds projection code again in every task; interpreted evaluation skips both. Measured on the
# 100k-customer day (bench ingest): JVM CPU of a day in a new process 246 -> 197 s, of a warm day
# ~125-155 -> ~118 s. Only for silver's run (gold and the models scan far more rows, where
# generated code pays), only locally, and a key set in the settings' Spark conf wins.
# `factoryMode` is marked internal in Spark; its NO_CODEGEN path is the interpreted fallback Spark
# itself uses when generated code fails to compile.
LOCAL_RUN_CONF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


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
    opener = ThreadPoolExecutor(max_workers=2, thread_name_prefix="silver-open")
    # the metastore's Hive client starts on a process's first call (~11 s in a new process): in
    # the background, instead of in the first table's registration, which holds the others' too
    metastore = opener.submit(catalog.open_database, spark, settings, "silver")
    if checks:  # importing GX and opening its context takes ~7 s of Python: overlap it with the
        # first tables' Spark work; no table touches GX before this is done (pipeline.run_checks)
        from expectations.runner import prepare

        ctx = replace(ctx, gx_ready=opener.submit(prepare, ctx.gx_root))
    results: dict[str, TableRun] = {}

    def one(name: str) -> None:
        job = importlib.import_module(f"jobs.silver.{name}").JOB
        t0 = time.monotonic()
        results[name] = TableRun(name, run_job(job, ctx), time.monotonic() - t0)
        if progress:
            progress(_line(results[name]))

    with run_conf(spark, settings):
        try:
            _schedule([t for t in TABLES if t in (tables or TABLES)], one, parallel)
            metastore.result()  # a metastore that cannot be reached fails the run here
        finally:  # what ran is recorded even when a critical data check stops the run
            opener.shutdown(wait=True)
            finish_run(ctx)
    return [results[t] for t in TABLES if t in results]


@contextmanager
def run_conf(spark: SparkSession, settings: Settings) -> Iterator[None]:
    """`LOCAL_RUN_CONF` on the session for the run (local masters only), then the values before."""
    conf = {k: v for k, v in LOCAL_RUN_CONF.items() if settings.local_master and k not in settings.extra_spark_conf}
    before = {k: spark.conf.get(k) for k in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def _schedule(names: list[str], one, parallel: int) -> None:
    """Run `one(name)` for every table, each once the tables it depends on (among `names`) are
    done, at most `parallel` at a time. A failure (e.g. a critical data check) starts nothing new:
    the tables already running finish, then the first failure is raised."""
    slots = max(1, parallel)
    done: set[str] = set()
    running: dict[Future, str] = {}
    waiting = list(names)
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=slots, thread_name_prefix="silver") as pool:
        while waiting or running:
            ready = [n for n in waiting if all(d in done or d not in names for d in DEPENDS_ON[n])]
            for name in ready[:slots - len(running)] if failure is None else []:
                waiting.remove(name)
                running[pool.submit(one, name)] = name
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                if future.exception() is not None:
                    failure = failure or future.exception()
                else:
                    done.add(name)
    if failure is not None:
        raise failure


def _line(r: TableRun) -> str:
    if r.books is None:
        return f"  {r.table:<15} skipped: no bronze source for it"
    b = r.books
    return (f"  {r.table:<15} in {b.rows_in:>9,}  silver {b.rows_to_silver:>9,}  quarantined "
            f"{b.rows_quarantined:>7,}  duplicates {b.duplicates_removed:>7,}  ({r.seconds:.1f}s)")
