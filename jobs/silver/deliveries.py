"""silver.deliveries: one row per delivery (the latest version of each delivery_id).

From bronze.deliveries (logistics TMS). The promised slot (`promised_start` .. `promised_end`) and
`delivered_at` are kept as UTC instants and as local wall-clock time (`*_local`); `delivery_date`
is the local date of the promised slot (a failed delivery has no delivered_at). `delay_minutes` is
delivered_at - promised_end in whole minutes, truncated (negative when early, null when not
delivered); `is_late` is true when delivered after promised_end (30 seconds late is 0 minutes but
late) or when the delivery failed. A delivery id delivered again is replaced by the later file's
version. Quarantined: malformed lines, missing delivery or order ids, orders not in silver.orders
(when the retailer has orders), promised times empty or in no known layout, delivered_at in no
known layout, a slot ending before it starts, statuses other than delivered / failed, a delivered
status without delivered_at.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob

DELIVERED, FAILED = "delivered", "failed"
STATUSES = (DELIVERED, FAILED)


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    tz = ctx.tz
    start = fw.parse_local_timestamp(F.col("promised_start"), tz)
    end = fw.parse_local_timestamp(F.col("promised_end"), tz)
    delivered = fw.parse_local_timestamp(F.col("delivered_at"), tz)
    typed = df.withColumns({
        "_delivery_id": fw.text("delivery_id"),
        "_order_id": fw.text("order_id"),
        "_status": F.lower(F.trim("status")),
        "_start_ts": start,
        "_end_ts": end,
        "_delivered_ts": delivered,
        "_start_local": fw.to_local(start, tz),
        "_end_local": fw.to_local(end, tz),
        "_delivered_local": fw.to_local(delivered, tz),
    })
    return lookups.flag_known(typed, "_order_id", ctx.table("silver.orders"), "order_id", "_order_known")


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("missing_delivery_id", "delivery_id", F.col("_delivery_id").isNull(), "delivery_id is empty"),
        fw.Rule("missing_order_id", "order_id", F.col("_order_id").isNull(), "order_id is empty"),
        fw.Rule("order_not_in_silver", "order_id", ~F.col("_order_known"),
                "the delivery's order is not in silver.orders (it was quarantined or never arrived)"),
        fw.Rule("bad_timestamp", "promised_start", F.col("_start_ts").isNull(),
                "promised_start is empty or in no known timestamp layout"),
        fw.Rule("bad_timestamp", "promised_end", F.col("_end_ts").isNull(),
                "promised_end is empty or in no known timestamp layout"),
        fw.Rule("bad_timestamp", "delivered_at", fw.unparseable(F.col("delivered_at"), F.col("_delivered_ts")),
                "delivered_at is in no known timestamp layout"),
        fw.Rule("bad_slot", "promised_end", F.col("_end_ts") < F.col("_start_ts"),
                "promised_end is before promised_start"),
        fw.Rule("unknown_status", "status", ~F.coalesce(F.col("_status").isin(*STATUSES), F.lit(False)),
                f"status is empty or not one of {list(STATUSES)}"),
        fw.Rule("missing_delivered_at", "delivered_at",
                (F.col("_status") == DELIVERED) & F.col("_delivered_ts").isNull(),
                "status is delivered but delivered_at is empty"),
    ]


def output(df: DataFrame) -> DataFrame:
    delivered, promised_end = F.col("_delivered_ts"), F.col("_end_ts")
    return df.select(
        F.col("_delivery_id").alias("delivery_id"),
        F.col("_order_id").alias("order_id"),
        fw.text("warehouse_id").alias("warehouse_id"),
        fw.text("city").alias("city"),
        fw.text("slot").alias("slot"),
        F.col("_start_ts").alias("promised_start"),
        F.col("_end_ts").alias("promised_end"),
        delivered.alias("delivered_at"),
        F.col("_start_local").alias("promised_start_local"),
        F.col("_end_local").alias("promised_end_local"),
        F.col("_delivered_local").alias("delivered_at_local"),
        F.to_date("_start_local").alias("delivery_date"),
        F.col("_status").alias("status"),
        F.timestamp_diff("MINUTE", promised_end, delivered).cast("int").alias("delay_minutes"),
        ((F.col("_status") == FAILED) | F.coalesce(delivered > promised_end, F.lit(False))).alias("is_late"),
        F.col("_source_file").alias("source_file"),
    )



JOB = SilverJob(
    source="deliveries",
    target="silver.deliveries",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_delivery_id",),
    version_order=lambda: [F.col("_dt")],
)
