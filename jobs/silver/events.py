"""silver.events: one row per app / web / mini-program tracking event.

From bronze.events (the tracking SDK, the biggest source: tens of millions of rows a year). The event
time is kept as a UTC instant and as local wall-clock time, with the local date (the partition) and
hour. `customer_id` is null for anonymous browsing and `product_id` for events about no product. An
event never changes: the table is insert-only, and an event id already in silver keeps its row.
Quarantined: malformed lines, missing event ids, test accounts, product ids not in silver.products,
event times empty, in no known layout or more than `future_tolerance_days` after the file's business
date, event types and platforms outside the vocabulary.

Built for volume: built-in functions only, and every lookup (products, test accounts) is a small
list of ids broadcast to the events.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob
from jobs.silver.rules_config import config, conform_code


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    event_ts = fw.parse_local_timestamp(F.col("event_time"), ctx.tz)
    typed = df.withColumns({
        "_event_id": fw.text("event_id"),
        "_event_ts": event_ts,
        "_event_local": fw.to_local(event_ts, ctx.tz),
        "_event_type": conform_code(F.col("event_type"), "event_type"),
        "_platform": conform_code(F.col("platform"), "platform"),
        "_customer_id": fw.text("customer_id"),
        "_product_id": fw.text("product_id"),
        "_file_day": F.to_date("_dt"),
    })
    typed = lookups.flag_known(typed, "_product_id", _broadcast(ctx.table("silver.products")), "product_id",
                               "_product_known")
    return lookups.flag_known(typed, "_customer_id", _broadcast(ctx.test_account_ids()), "customer_id",
                              "_test_account")


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    future_days = config()["money"]["future_tolerance_days"]
    return [
        fw.Rule("missing_event_id", "event_id", F.col("_event_id").isNull(), "event_id is empty"),
        fw.Rule("test_account", "customer_id", F.col("_test_account"), "event of a test account"),
        fw.Rule("unknown_product", "product_id", F.col("_product_id").isNotNull() & ~F.col("_product_known"),
                "product_id is not in silver.products"),
        fw.Rule("bad_timestamp", "event_time", F.col("_event_ts").isNull(),
                "event_time is empty or in no known timestamp layout"),
        fw.Rule("future_timestamp", "event_time",
                F.to_date("_event_local") > F.date_add("_file_day", future_days),
                f"event_time is more than {future_days} day(s) after the file's business date"),
        fw.Rule("unknown_event_type", "event_type", F.col("_event_type").isNull(),
                "event_type is empty or not in the vocabulary"),
        fw.Rule("unknown_platform", "platform", F.col("_platform").isNull(),
                "platform is empty or not in the vocabulary"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("_event_id").alias("event_id"),
        F.col("_event_ts").alias("event_ts"),
        F.col("_event_local").alias("event_ts_local"),
        F.to_date("_event_local").alias("event_date"),
        F.hour("_event_local").alias("event_hour"),
        F.col("_event_type").alias("event_type"),
        F.col("_customer_id").alias("customer_id"),
        fw.text("session_id").alias("session_id"),
        fw.text("device_id").alias("device_id"),
        F.lower(fw.text("device_type")).alias("device_type"),
        F.col("_platform").alias("platform"),
        F.col("_product_id").alias("product_id"),
        fw.text("query").alias("query"),
        fw.text("page").alias("page"),
        F.col("_source_file").alias("source_file"),
    )


def _broadcast(reference: DataFrame | None) -> DataFrame | None:
    """A small reference (a list of ids) shipped to every task instead of shuffling the events."""
    return None if reference is None else F.broadcast(reference)



JOB = SilverJob(
    source="events",
    target="silver.events",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_event_id",),
    version_order=lambda: [F.col("_dt")],
    write="insert_only",
)
