"""The silver pipeline every table module plugs into, and `habitlake silver --date D [--to D2]`.

A table module (jobs/silver/<table>.py) declares a `JOB = SilverJob(...)`: its bronze source, how to
conform the raw strings (`conform`), the rules that send a row to quarantine (`rules`), the output
schema (`output`), and how it is written (MERGE on the key, insert-only, or a dimension rebuilt with
history). This module does the rest the same way for every table: read the bronze window, drop
exact duplicates, keep the latest version per key, write, quarantine, and balance the books.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from habitlake import catalog
from habitlake.contract import load_contract
from habitlake.settings import Settings
from jobs.silver import framework as fw

RECONCILIATION = "silver.reconciliation"
QUARANTINE = "silver.quarantine"
CHECK_RESULTS = "silver.check_results"


@dataclass(frozen=True)
class Context:
    """What a silver run knows: where, which business dates, and the lookups rules may use."""

    spark: SparkSession
    settings: Settings
    days: tuple[str, ...]
    run_id: str
    params: dict = field(default_factory=dict)
    pending_quarantine: list = field(default_factory=list)  # (source, rows) not yet written
    books: list = field(default_factory=list)
    check_results: list = field(default_factory=list)  # GX results: written and published by finish_run
    checks: bool = True
    gx_ready: Any = None  # a Future: GX imported and its context open (run() starts it in a thread)

    @property
    def gx_root(self) -> str:
        return str(self.settings.state_dir / "checks")

    @property
    def tz(self) -> str:
        return self.settings.timezone

    def test_account_ids(self) -> DataFrame | None:
        """Customer ids sent to quarantine as test accounts, by earlier runs or this one."""
        frames = [df for src, df in self.pending_quarantine if src == "customers"]
        stored = self.table(QUARANTINE)
        if stored is not None:
            frames.append(stored.filter(F.col("source") == "customers"))
        if not frames:
            return None
        from functools import reduce

        rows = reduce(lambda a, b: a.unionByName(b), frames)
        return (rows.filter(F.col("rule") == "test_account")
                .select(F.get_json_object("record", "$.customer_id").alias("customer_id")).distinct())

    def table(self, name: str) -> DataFrame | None:
        """A silver table for lookups, or None when this retailer has no such data."""
        tbl = catalog.table(name)
        return catalog.read(self.spark, self.settings, name) if catalog.exists(self.spark, self.settings, tbl) else None


@dataclass(frozen=True)
class SilverJob:
    source: str  # bronze source name
    target: str  # silver table name, e.g. "silver.orders"
    conform: Callable[[DataFrame, Context], DataFrame]
    rules: Callable[[DataFrame, Context], Sequence[fw.Rule]]
    output: Callable[[DataFrame], DataFrame]  # the schema contract of the silver table
    version_order: Callable[[], Sequence] | None = None  # latest version per key wins
    version_key: tuple[str, ...] = ()  # the key versions are counted by (default: the table's keys)
    write: str = "merge"  # merge | insert_only | history
    newer: str | None = None  # MERGE update condition over t. and s. (merge only)
    entity_key: str = ""  # history only: the entity id whose versions are kept
    check_view: Callable[[DataFrame, "Context"], DataFrame] | None = None  # extra columns for data checks


@dataclass(frozen=True)
class Books:
    run_id: str
    source: str
    target: str
    rows_in: int
    rows_to_silver: int
    rows_quarantined: int
    duplicates_removed: int

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_to_silver + self.rows_quarantined + self.duplicates_removed


class UnbalancedBooks(RuntimeError):
    pass


VALID_FROM, VALID_TO, IS_CURRENT, ATTRS_HASH = "valid_from", "valid_to", "is_current", "attrs_hash"


def as_versions(typed: DataFrame, tracked: Sequence[str]) -> DataFrame:
    """Rows of a dimension (with `valid_from`) as versions for `scd2`: a hash of the tracked
    attributes, and open validity until `scd2` closes it."""
    attrs = F.sha2(F.to_json(F.struct(*[F.col(c) for c in tracked])), 256)
    return typed.withColumns({ATTRS_HASH: attrs, VALID_TO: F.lit(None).cast("timestamp"),
                              IS_CURRENT: F.lit(True)})


def scd2(incoming: DataFrame, existing: DataFrame | None, entity_key: str) -> DataFrame:
    """Slowly changing dimension, type 2: every version of an entity with valid_from / valid_to.

    `incoming` holds versions with `valid_from` and `attrs_hash` (a hash of the tracked
    attributes). Versions are merged with the existing history (same entity and valid_from: the
    incoming one wins), a version identical to the one before it is dropped, and each version is
    valid until the next begins. Order of arrival does not matter: a late, older version slots in.
    """
    from pyspark.sql import Window

    history = incoming
    if existing is not None:
        columns = incoming.columns
        old = existing.select(columns).join(
            incoming.select(entity_key, VALID_FROM), on=[entity_key, VALID_FROM], how="left_anti")
        history = old.unionByName(incoming)
    ordered = Window.partitionBy(entity_key).orderBy(VALID_FROM)
    changed = history.withColumn("_prev_hash", F.lag(ATTRS_HASH).over(ordered)).filter(
        F.col("_prev_hash").isNull() | (F.col("_prev_hash") != F.col(ATTRS_HASH))).drop("_prev_hash")
    return (changed.withColumn(VALID_TO, F.lead(VALID_FROM).over(ordered))
            .withColumn(IS_CURRENT, F.col(VALID_TO).isNull()))


GONE = "_gone"


def history_changes(incoming: DataFrame, existing: DataFrame, entity_key: str) -> DataFrame:
    """What `incoming` changes in a dimension's history, for `merge_history`: the versions of the
    entities it touches that are new or differ from the stored ones (`_gone` false), and the
    stored versions that the new history no longer has (`_gone` true: a late version that repeats
    the one after it absorbs it). Entities `incoming` does not touch are not read beyond the
    semi-join: `scd2` works per entity, so their history cannot change."""
    columns = incoming.columns  # EXCEPT and the joins below go by position or move keys first
    touched = existing.join(incoming.select(entity_key).distinct(), on=entity_key, how="left_semi").select(columns)
    history = scd2(incoming, touched, entity_key).select(columns)
    gone = touched.join(history.select(entity_key, VALID_FROM), on=[entity_key, VALID_FROM], how="left_anti")
    return (history.subtract(touched).withColumn(GONE, F.lit(False))  # EXCEPT: nulls compare equal
            .unionByName(gone.select(columns).withColumn(GONE, F.lit(True))))


def merge_history(changes: DataFrame, ctx: Context, job: SilverJob) -> None:
    """One Delta MERGE on (entity, valid_from) applies `history_changes`: versions gone are
    deleted, changed ones (a validity closed, an attribute corrected) updated, new ones inserted;
    with no change (a re-run of a day) nothing is written. Before, the whole dimension was rebuilt
    and overwritten every day. At 100k customers this is not faster (warm writes 9-17 s either
    way, bench/ingest.py): the MERGE still reads the whole target to match it, and a day's ~4,600
    touched customers are spread over every file, so nearly every file is rewritten. It is kept
    because a re-run writes nothing (no new table version) and late versions are tested with it."""
    from delta.tables import DeltaTable

    changes = changes.localCheckpoint()
    if changes.isEmpty():
        return
    columns = [c for c in changes.columns if c != GONE]
    values = {f"`{c}`": f"s.`{c}`" for c in columns}
    key = f"t.`{job.entity_key}` <=> s.`{job.entity_key}` AND t.`{VALID_FROM}` <=> s.`{VALID_FROM}`"
    tbl = catalog.table(job.target)
    catalog.existing(ctx.spark, ctx.settings, tbl)  # its properties before the write
    target = DeltaTable.forPath(ctx.spark, tbl.path(ctx.settings))
    (target.alias("t").merge(changes.alias("s"), key)
     .whenMatchedDelete(condition=f"s.`{GONE}`")
     .whenMatchedUpdate(set=values)
     .whenNotMatchedInsert(condition=f"NOT s.`{GONE}`", values=values)
     .execute())
    catalog.register(ctx.spark, ctx.settings, tbl)


def read_bronze(ctx: Context, source: str) -> DataFrame | None:
    tbl = catalog.table(f"bronze.{source}")
    if not catalog.exists(ctx.spark, ctx.settings, tbl):
        return None
    return catalog.read(ctx.spark, ctx.settings, tbl.full_name).filter(F.col("_dt").isin(*ctx.days))


FATE = "_fate"
TO_SILVER, TO_QUARANTINE, DUPLICATE = "silver", "quarantine", "duplicate"


def classify(job: SilverJob, bronze: DataFrame, ctx: Context) -> DataFrame:
    """Pure part of a silver job: every bronze row, conformed and checked, with its fate:
    `silver`, `quarantine` (with `_rule`, `_field`, `_reason`) or `duplicate` (an exact repeat of
    an earlier line, or an older version of a key that a later version supersedes)."""
    from pyspark.sql import Window

    raw_columns = load_contract()[job.source].columns
    # `_raw` too: malformed lines have no parsed columns, and two different ones are not repeats.
    first = Window.partitionBy(*[F.col(c) for c in raw_columns], F.col("_raw")).orderBy("_source_file", "_line")
    marked = fw.with_record(bronze, raw_columns).withColumn("_repeat", F.row_number().over(first) > 1)
    conformed = job.conform(marked, ctx)
    checked = fw.apply_rules(conformed, job.rules(conformed, ctx))
    candidate = ~F.col("_repeat") & F.col("_rule").isNull()
    fate = (F.when(F.col("_repeat"), F.lit(DUPLICATE))
            .when(F.col("_rule").isNotNull(), F.lit(TO_QUARANTINE)))
    if job.version_order is not None:
        key = job.version_key or catalog.table(job.target).keys
        latest = Window.partitionBy(candidate, *[F.col(k) for k in key]).orderBy(
            *[F.col(c).desc() if isinstance(c, str) else c.desc() for c in job.version_order()],
            F.col("_source_file").desc(), F.col("_line").desc())
        fate = fate.when(F.row_number().over(latest) > 1, F.lit(DUPLICATE))
    return checked.withColumn(FATE, fate.otherwise(F.lit(TO_SILVER)))


def silver_rows(job: SilverJob, classified: DataFrame) -> DataFrame:
    return job.output(classified.filter(F.col(FATE) == TO_SILVER))


def quarantine_rows(job: SilverJob, classified: DataFrame, ctx: Context) -> DataFrame:
    return fw.quarantine_rows(classified.filter(F.col(FATE) == TO_QUARANTINE), job.source, ctx.run_id)


def write(job: SilverJob, rows: DataFrame, ctx: Context) -> None:
    spark, settings = ctx.spark, ctx.settings
    if job.write == "merge":
        catalog.upsert(rows, spark, settings, job.target, newer=job.newer)
    elif job.write == "insert_only":
        catalog.upsert(rows, spark, settings, job.target, newer="false")
    elif job.write == "history":
        existing = ctx.table(job.target)
        if existing is None or set(existing.columns) != set(rows.columns):  # first run, or a new schema
            catalog.overwrite(scd2(rows, existing, job.entity_key).cache(), spark, settings, job.target)
        else:
            merge_history(history_changes(rows, existing, job.entity_key), ctx, job)
    else:
        raise ValueError(f"{job.target}: unknown write mode {job.write!r}")


def run_job(job: SilverJob, ctx: Context) -> Books | None:
    """Run one table for the context's dates; None when the retailer has no such source.

    Writes the silver table; the quarantine rows wait in `ctx.pending_quarantine` until
    `finish_run` writes all of them at once (one commit per run, not one per table)."""
    bronze = read_bronze(ctx, job.source)
    if bronze is None:
        return None
    # localCheckpoint, not cache: the frame is computed once AND its lineage is cut, so every later
    # query (the fates, the data check's dozen, the MERGE) plans against a short plan instead of
    # re-analysing the whole classification and matching it against the cache each time. Measured
    # on the 100k-customer day (bench/ingest.py), alternating in one warm session at load ~6:
    # 75 s and 90 s against 98 s and 100 s with cache(). The blocks go when the frames are
    # garbage-collected (the run's process ends, or Spark's periodic cleaner); MEMORY_AND_DISK, so
    # a long window spills.
    bronze = bronze.localCheckpoint()
    rows_in = bronze.count()
    if rows_in == 0:  # nothing arrived for this source on these dates: nothing to check or write
        books = Books(ctx.run_id, job.source, job.target, 0, 0, 0, 0)
        ctx.books.append(books)
        return books
    classified = classify(job, bronze, ctx).localCheckpoint()
    fates = {r[FATE]: r["n"] for r in classified.groupBy(FATE).agg(F.count("*").alias("n")).collect()}
    books = Books(ctx.run_id, job.source, job.target, rows_in, fates.get(TO_SILVER, 0),
                  fates.get(TO_QUARANTINE, 0), fates.get(DUPLICATE, 0))
    check_books(books)
    rows = silver_rows(job, classified)
    run_checks(job, rows, books, ctx)
    write(job, rows, ctx)
    ctx.pending_quarantine.append((job.source, quarantine_rows(job, classified, ctx).localCheckpoint()))
    ctx.books.append(books)
    return books


CHECK_MIN_SHARE, CHECK_EXPECTED_SHARE = 0.5, 0.9


def run_checks(job: SilverJob, rows: DataFrame, books: Books, ctx: Context) -> None:
    """One Great Expectations validation of the rows this run writes to the table, before they are
    written: a critical failure raises `DataCheckFailed` and nothing of this table (or of what
    comes after it) is written. Outcomes are kept in `ctx.check_results` either way."""
    import math

    from expectations.runner import SUITES_DIR, DataCheckFailed
    from expectations.runner import run_checks as validate

    suite = f"silver_{job.target.split('.', 1)[1]}"
    if not ctx.checks or not (SUITES_DIR / f"{suite}.yaml").exists():
        return
    deduplicated = books.rows_in - books.duplicates_removed
    params = {"rows_min": math.ceil(CHECK_MIN_SHARE * deduplicated),
              "rows_expected_min": math.ceil(CHECK_EXPECTED_SHARE * deduplicated)}
    view = job.check_view(rows, ctx) if job.check_view else rows
    if ctx.gx_ready is not None:
        ctx.gx_ready.result()  # GX is opened in the background while the first tables compute
    try:
        result = validate(view, suite, gx_root=ctx.gx_root, run_id=ctx.run_id, params=params, update_docs=False,
                          fast=True)
    except DataCheckFailed as failed:
        ctx.check_results.append(failed.result)
        raise
    ctx.check_results.append(result)


def check_books(books: Books) -> None:
    if not books.balanced:
        raise UnbalancedBooks(
            f"{books.source} -> {books.target}, run {books.run_id}: {books.rows_in} rows in but "
            f"{books.rows_to_silver} to silver + {books.rows_quarantined} quarantined + "
            f"{books.duplicates_removed} duplicates removed"
        )


def finish_run(ctx: Context) -> None:
    """Write the run's quarantine (replacing what earlier runs of these dates put there, so a row
    fixed since leaves it), its books and its data-check outcomes. The Data Docs pages are built
    meanwhile, in another thread: GX's page rendering is Python work and the Delta writes are the
    JVM's, so they overlap."""
    from concurrent.futures import ThreadPoolExecutor
    from functools import reduce

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="silver-docs") as docs:
        built = None
        if ctx.check_results:  # in table order, whatever order concurrent tables finished in
            from expectations.runner import RESULT_ROW_SCHEMA, publish_docs

            built = docs.submit(publish_docs, ctx.gx_root, list(ctx.check_results))
            ordered = sorted(ctx.check_results, key=lambda r: r.table)
            rows = [{**row, "position": i} for i, row in enumerate(x for r in ordered for x in r.rows())]
            checks = ctx.spark.createDataFrame(rows, f"{RESULT_ROW_SCHEMA}, position int")
            catalog.replace_where(checks.coalesce(1), ctx.spark, ctx.settings, CHECK_RESULTS,
                                  f"run_id = '{ctx.run_id}'")

        if ctx.pending_quarantine:
            sources = ", ".join(f"'{src}'" for src, _ in ctx.pending_quarantine)
            days = ", ".join(f"'{d}'" for d in ctx.days)
            rows = reduce(lambda a, b: a.unionByName(b), [df for _, df in ctx.pending_quarantine])
            # one file per day of the run (a few thousand rows each), capped at the shuffle
            # partitions: not one per partition of every source (45 files for one day)
            files = max(1, min(len(ctx.days), ctx.settings.shuffle_partitions))
            catalog.replace_where(rows.coalesce(files), ctx.spark, ctx.settings, QUARANTINE,
                                  f"source IN ({sources}) AND dt IN ({days})")
        if ctx.books:
            dates = ",".join(ctx.days[:1] + ctx.days[-1:])
            table = ctx.spark.createDataFrame(
                [(b.run_id, dates, b.source, b.target, b.rows_in, b.rows_to_silver, b.rows_quarantined,
                  b.duplicates_removed, b.balanced) for b in ctx.books],
                "run_id string, dates string, source string, target string, rows_in long, rows_to_silver long, "
                "rows_quarantined long, duplicates_removed long, balanced boolean",
            )
            catalog.upsert(table, ctx.spark, ctx.settings, RECONCILIATION)
        if built is not None:
            built.result()
