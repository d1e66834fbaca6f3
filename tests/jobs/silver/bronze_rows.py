"""What silver tests feed a job: bronze-shaped rows, a context with in-memory lookups, and the
three views of one classification (silver rows, quarantine rows, each line's fate).

`bronze(spark, source, rows)` builds what `bronze.<source>` holds: every raw column of the landing
contract as a string (a column left out of a row dict is null) plus bronze's metadata columns.

`context(...)` is a silver `Context` whose `table()` answers from the frames it is given (None for
any other table), so a test never reads what other tests wrote to the shared lakehouse; test
accounts reach the jobs the way a run hands them over, as quarantined customers of this run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from habitlake.contract import load_contract
from habitlake.settings import Settings
from jobs.silver import pipeline
from jobs.silver.pipeline import Context, SilverJob

DAY = "2025-03-04"
RUN_ID = "t"
FILE_MTIME = 1741132800
INGESTED_AT = datetime(2025, 3, 5, 1, 0, 0)
META_SCHEMA = ("_source_file string, _line int, _dt string, _file_mtime long, _encoding string, "
               "_error string, _raw string, _batch_id string, _ingested_at timestamp")
META_KEYS = {"_source_file", "_line", "_dt", "_error", "_raw"}  # the ones a row dict may set
QUARANTINE_VIEW = "line int, rule string, field string, reason string"
FATES_VIEW = "line int, fate string"


def source_file(source: str, day: str = DAY) -> str:
    """The landing file of a source and day, as bronze names it."""
    src = load_contract()[source]
    return f"{src.day_dir(day)}/{src.file_name(day)}"


def bronze(spark: SparkSession, source: str, rows: list[dict], day: str = DAY) -> DataFrame:
    """One bronze row per dict of raw values; `_line` defaults to the position (1-based), `_dt` to
    `day`, `_source_file` to that day's file; `_error` and `_raw` make a malformed line."""
    columns = load_contract()[source].columns
    schema = ", ".join(f"`{c}` string" for c in columns) + ", " + META_SCHEMA
    records = []
    for position, row in enumerate(rows, start=1):
        unknown = set(row) - set(columns) - META_KEYS
        if unknown:
            raise ValueError(f"{source}: row {position} has columns not in the contract: {sorted(unknown)}")
        dt = row.get("_dt", day)
        records.append(tuple(row.get(c) for c in columns) + (
            row.get("_source_file", source_file(source, dt)), row.get("_line", position), dt, FILE_MTIME,
            "UTF-8", row.get("_error"), row.get("_raw"), "test_batch", INGESTED_AT))
    return spark.createDataFrame(records, schema)


@dataclass(frozen=True)
class LookupContext(Context):
    """A Context whose silver tables are the given in-memory frames."""

    lookups: dict = field(default_factory=dict)

    def table(self, name: str) -> DataFrame | None:
        return self.lookups.get(name)


def context(spark: SparkSession, settings: Settings, days: tuple[str, ...] = (DAY,),
            lookups: dict[str, DataFrame] | None = None, test_accounts: tuple[str, ...] = ()) -> Context:
    pending = []
    if test_accounts:
        rows = [("test_account", json.dumps({"customer_id": c})) for c in test_accounts]
        pending.append(("customers", spark.createDataFrame(rows, "rule string, record string")))
    return LookupContext(spark, settings, tuple(days), RUN_ID, pending_quarantine=pending, lookups=lookups or {})


def ids(spark: SparkSession, column: str, values: list[str]) -> DataFrame:
    """A lookup table holding only an id column."""
    return spark.createDataFrame([(v,) for v in values], f"{column} string")


@dataclass(frozen=True)
class Classified:
    """One classification of a job's bronze rows, seen three ways."""

    silver: DataFrame  # the silver table's rows
    quarantine: DataFrame  # line, rule, field, reason
    fates: DataFrame  # line, fate (silver / quarantine / duplicate)


def classify(job: SilverJob, bronze_rows: DataFrame, ctx: Context) -> Classified:
    classified = pipeline.classify(job, bronze_rows, ctx).cache()
    return Classified(
        silver=pipeline.silver_rows(job, classified),
        quarantine=pipeline.quarantine_rows(job, classified, ctx).select("line", "rule", "field", "reason"),
        fates=classified.select(F.col("_line").alias("line"), F.col(pipeline.FATE).alias("fate")),
    )
