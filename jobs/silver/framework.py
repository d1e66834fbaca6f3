"""What every silver job shares: rules that route bad rows to quarantine, exact-duplicate removal,
parsing of the sources' messy values, and the books that prove nothing was lost.

A silver job is: bronze rows of a date window -> `apply_rules` -> valid rows to `silver.<table>`,
broken rows to `silver.quarantine` (with source, original record, rule, field, reason and run), and
one `silver.reconciliation` row per run and source with rows_in = rows_to_silver + rows_quarantined
+ duplicates_removed. A run whose books do not balance fails.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

BRONZE_META = ("_source_file", "_line", "_dt", "_file_mtime", "_encoding", "_error", "_raw",
               "_batch_id", "_ingested_at")
MALFORMED_RULE = "malformed_line"

# Timestamp layouts seen in the sources, tried in order. A layout with an offset gives an instant;
# the others are wall-clock time in the retailer's time zone.
LOCAL_TIMESTAMP_FORMATS = (
    "yyyy-MM-dd HH:mm:ss", "yyyy/MM/dd HH:mm:ss", "yyyyMMdd HHmmss", "dd/MM/yyyy HH:mm",
    "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss",
)
OFFSET_TIMESTAMP_FORMATS = ("yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd HH:mm:ssXXX")
DATE_FORMATS = ("yyyy-MM-dd", "yyyy/MM/dd", "yyyyMMdd", "dd/MM/yyyy")
OFFSET_DATE_FORMATS = ("yyyy-MM-dd'T'HH:mm:ssXXX",)


@dataclass(frozen=True)
class Rule:
    """A row breaks the rule when `broken` is true; it then goes to quarantine with `reason`."""

    name: str
    field: str
    broken: Column
    reason: str


def apply_rules(df: DataFrame, rules: Sequence[Rule]) -> DataFrame:
    """Add `_rule`, `_field`, `_reason`: the first rule a row breaks (null when it breaks none).

    Bronze's malformed lines always come first. A rule whose condition is null (e.g. comparing a
    null) counts as not broken: null checks are rules of their own.
    """
    all_rules = [Rule(MALFORMED_RULE, "_raw", F.col("_error").isNotNull(), "unparseable line")] + list(rules)

    def first(attr: str) -> Column:
        return F.coalesce(*[F.when(F.coalesce(r.broken, F.lit(False)), _reason_col(r, attr))
                            for r in all_rules])

    return df.withColumns({"_rule": first("name"), "_field": first("field"), "_reason": first("reason")})


def _reason_col(rule: Rule, attr: str) -> Column:
    if attr == "reason" and rule.name == MALFORMED_RULE:
        return F.col("_error")
    return F.lit(getattr(rule, attr))


def valid(df: DataFrame) -> DataFrame:
    return df.filter(F.col("_rule").isNull())


def broken(df: DataFrame) -> DataFrame:
    return df.filter(F.col("_rule").isNotNull())


def with_record(bronze: DataFrame, raw_columns: Sequence[str]) -> DataFrame:
    """Keep the original record as text (`_record`) before conforming changes any column."""
    record = F.coalesce(F.col("_raw"), F.to_json(F.struct(*[F.col(c) for c in raw_columns])))
    return bronze.withColumn("_record", record)


def quarantine_rows(bad: DataFrame, source: str, run_id: str) -> DataFrame:
    """Quarantine schema: where the row came from, the original record, which rule it broke."""
    return bad.select(
        F.lit(source).alias("source"),
        F.col("_source_file").alias("source_file"),
        F.col("_line").alias("line"),
        F.col("_file_mtime").alias("file_mtime"),
        F.col("_dt").alias("dt"),
        F.col("_record").alias("record"),
        F.col("_rule").alias("rule"),
        F.col("_field").alias("field"),
        F.col("_reason").alias("reason"),
        F.lit(run_id).alias("run_id"),
    )


# --- parsing ---------------------------------------------------------------------------------------

def parse_local_timestamp(col: Column, tz: str) -> Column:
    """A source timestamp in any known layout -> UTC instant (TIMESTAMP). Wall-clock layouts are
    read as the retailer's local time; layouts with an offset keep their instant."""
    text = F.trim(col)
    with_offset = F.coalesce(*[F.try_to_timestamp(text, F.lit(f)) for f in OFFSET_TIMESTAMP_FORMATS])
    # The session time zone is UTC, so a wall-clock layout parses to that wall-clock "in UTC";
    # to_utc_timestamp then reads it as local time in `tz`.
    wall_clock = F.coalesce(*[F.try_to_timestamp(text, F.lit(f)) for f in LOCAL_TIMESTAMP_FORMATS])
    return F.coalesce(with_offset, F.to_utc_timestamp(wall_clock, tz))


def to_local(utc: Column, tz: str) -> Column:
    """UTC instant -> wall-clock time in the retailer's zone (TIMESTAMP_NTZ)."""
    return F.to_timestamp_ntz(F.from_utc_timestamp(utc, tz))


def parse_date(col: Column, tz: str = "Asia/Shanghai") -> Column:
    """A source date in any known layout; a timestamp with offset gives its local date in `tz`."""
    text = F.trim(col)
    with_offset = F.coalesce(*[F.try_to_timestamp(text, F.lit(f)) for f in OFFSET_DATE_FORMATS])
    return F.coalesce(*[F.try_to_date(text, f) for f in DATE_FORMATS],
                      F.to_date(F.from_utc_timestamp(with_offset, tz)))


def parse_decimal(col: Column, scale: int = 2, precision: int = 14) -> Column:
    return F.trim(col).try_cast(f"decimal({precision},{scale})")


def parse_int(col: Column) -> Column:
    return F.trim(col).try_cast("int")


def unparseable(raw: Column, parsed: Column) -> Column:
    """True when a value is present but could not be parsed."""
    return raw.isNotNull() & (F.trim(raw) != "") & parsed.isNull()


def missing(raw: Column) -> Column:
    return raw.isNull() | (F.trim(raw) == "")


def text(column: str) -> Column:
    """The trimmed value, or null when the source wrote nothing."""
    return F.when(~missing(F.col(column)), F.trim(column))
