"""silver.orders: one row per order (a sale or a return), with its latest status.

From bronze.orders. Times are kept as UTC instants and as local wall-clock time in the retailer's
zone, with the local order date (the partition). A repeated order id is an update of the same
order: the latest `updated_at` wins, and at equal times the later status (paid -> delivered ->
refunded). Returns (`status = returned`, with `ref_order_id`) are kept as returns, not sales.
Quarantined: malformed lines, missing ids, test accounts, unknown customers, unparseable or
future order times, codes outside the vocabulary, unparseable amounts, cancelled orders
(e.g. a retailer's cancelled invoices).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob
from jobs.silver.rules_config import config, conform_code, status_rank_sql

RETURNED, CANCELLED = "returned", "cancelled"


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    tz = ctx.tz
    order_ts = fw.parse_local_timestamp(F.col("order_time"), tz)
    typed = df.withColumns({
        "_order_ts": order_ts,
        "_updated_ts": F.coalesce(fw.parse_local_timestamp(F.col("updated_at"), tz), order_ts),
        "_channel": conform_code(F.col("channel"), "channel"),
        "_payment": conform_code(F.col("payment_method"), "payment_method"),
        "_status": conform_code(F.col("status"), "status"),
        "_total": fw.parse_decimal(F.col("total_amount")),
        "_discount": F.coalesce(fw.parse_decimal(F.col("discount_amount")), F.lit(0).cast("decimal(14,2)")),
        "_coupon": F.coalesce(fw.parse_decimal(F.col("coupon_value")), F.lit(0).cast("decimal(14,2)")),
        "_file_day": F.to_date("_dt"),
    })
    typed = lookups.flag_known(typed, "customer_id", ctx.table("silver.customers"), "customer_id", "_customer_known")
    return lookups.flag_known(typed, "customer_id", ctx.test_account_ids(), "customer_id", "_test_account")


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    future_days = config()["money"]["future_tolerance_days"]
    local_day = F.to_date(fw.to_local(F.col("_order_ts"), ctx.tz))
    return [
        fw.Rule("missing_order_id", "order_id", fw.missing(F.col("order_id")), "order_id is empty"),
        fw.Rule("missing_customer_id", "customer_id", fw.missing(F.col("customer_id")), "customer_id is empty"),
        fw.Rule("test_account", "customer_id", F.col("_test_account"), "order placed by a test account"),
        fw.Rule("unknown_customer", "customer_id", ~F.col("_customer_known"),
                "customer_id is not in silver.customers"),
        fw.Rule("bad_timestamp", "order_time", F.col("_order_ts").isNull(),
                "order_time is empty or in no known timestamp layout"),
        fw.Rule("future_timestamp", "order_time", local_day > F.date_add("_file_day", future_days),
                f"order_time is more than {future_days} day(s) after the file's business date"),
        fw.Rule("unknown_channel", "channel", F.col("_channel").isNull(), "channel is not in the vocabulary"),
        fw.Rule("unknown_payment_method", "payment_method", F.col("_payment").isNull() & ~fw.missing(F.col("payment_method")),
                "payment_method is not in the vocabulary"),
        fw.Rule("unknown_status", "status", F.col("_status").isNull(), "status is not in the vocabulary"),
        fw.Rule("bad_amount", "total_amount", F.col("_total").isNull(), "total_amount is empty or not a number"),
        fw.Rule("cancelled_order", "status", F.col("_status") == CANCELLED,
                "cancelled order: not a sale and not a return"),
    ]


def with_local_time(df: DataFrame, ctx: Context) -> DataFrame:
    return conform(df, ctx).withColumn("_order_local", fw.to_local(F.col("_order_ts"), ctx.tz))


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("order_id"),
        F.col("customer_id"),
        F.col("_order_ts").alias("order_ts"),
        F.col("_order_local").alias("order_ts_local"),
        F.to_date("_order_local").alias("order_date"),
        F.hour("_order_local").alias("order_hour"),
        F.col("_channel").alias("channel"),
        F.col("_payment").alias("payment_method"),
        F.col("_status").alias("status"),
        (F.col("_status") == RETURNED).alias("is_return"),
        fw.text("ref_order_id").alias("ref_order_id"),
        fw.text("promo_id").alias("promo_id"),
        fw.text("coupon_id").alias("coupon_id"),
        F.col("_coupon").alias("coupon_value"),
        F.col("_discount").alias("discount_amount"),
        F.col("_total").alias("total_amount"),
        fw.text("delivery_slot").alias("delivery_slot"),
        fw.text("warehouse_id").alias("warehouse_id"),
        F.col("_updated_ts").alias("updated_ts"),
        F.col("_source_file").alias("source_file"),
    )



def check_view(rows: DataFrame, ctx: Context) -> DataFrame:
    """Relationship for the data checks: each order's customer exists in silver.customers."""
    return lookups.flag_known(rows, "customer_id", ctx.table("silver.customers"), "customer_id", "_customer_exists")


JOB = SilverJob(
    source="orders",
    target="silver.orders",
    conform=with_local_time,
    rules=rules,
    output=output,
    version_order=lambda: [F.col("_updated_ts"), F.expr(status_rank_sql("_status"))],
    check_view=check_view,
    newer=(f"s.updated_ts > t.updated_ts OR (s.updated_ts = t.updated_ts "
           f"AND {status_rank_sql('s.status')} > {status_rank_sql('t.status')})"),
)
