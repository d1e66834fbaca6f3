"""gold.habit_channel_payment: the channel and payment-method mix per month, as known at D.

Grain: one row per as-of date D x month x kind (`channel` | `payment`) x value (the channel: app,
web, mini_program, store, wholesale; or the payment method; a missing one as `unknown`).

Written as a snapshot (one slice per as_of_date), not a merge on the month keys: each run gives the
last `habits.months` calendar months (conf/gold.yaml, default 12) up to D's month, recomputed from
silver as of D, so late orders, refunds and a value that disappears from a month are reflected, and
a slice never mixes figures computed on different days. D's own month is month-to-date
(`is_complete` false). The slice is small (months x ~11 values).

Orders are completed sales (AsOf.sales). Measures per month and kind: orders, customers (distinct
buyers), spend (sum of total_amount, the amount paid), order_share / spend_share (of the month's
orders / spend; the values of one kind sum to 1 per month).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob
from jobs.gold.habits import UNKNOWN, first_month, habit_conf, ratio

CHANNEL, PAYMENT = "channel", "payment"


def transform(sales: DataFrame, day: dt.date, months: int) -> DataFrame:
    """Rows of gold.habit_channel_payment from completed sales (order_id, customer_id, order_date,
    channel, payment_method, total_amount) cut at `day`."""
    recent = sales.filter(F.col("order_date").between(F.lit(first_month(day, months)), F.lit(day)))
    pairs = F.array(F.struct(F.lit(CHANNEL).alias("kind"), F.coalesce("channel", F.lit(UNKNOWN)).alias("value")),
                    F.struct(F.lit(PAYMENT).alias("kind"), F.coalesce("payment_method", F.lit(UNKNOWN)).alias("value")))
    rows = recent.select("order_id", "customer_id", F.trunc("order_date", "month").alias("month"),
                         F.col("total_amount").alias("amount"), F.inline(pairs))  # decimal: exact sums
    grouped = rows.groupBy("month", "kind", "value").agg(
        F.count("order_id").alias("orders"), F.count_distinct("customer_id").alias("customers"),
        F.sum("amount").alias("spend"))
    per_month = Window.partitionBy("month", "kind")
    return grouped.select(
        "month", "kind", "value",
        (F.last_day("month") <= F.lit(day)).alias("is_complete"),
        F.col("orders").cast("long").alias("orders"), F.col("customers").cast("long").alias("customers"),
        F.col("spend").cast("double").alias("spend"),
        ratio(F.col("orders"), F.sum("orders").over(per_month)).alias("order_share"),
        ratio(F.col("spend"), F.sum("spend").over(per_month)).alias("spend_share"),
    )


def build(asof: AsOf) -> DataFrame:
    sales = asof.sales().select("order_id", "customer_id", "order_date", "channel", "payment_method", "total_amount")
    return transform(sales, asof.day, habit_conf(config.load())["months"])


JOB = GoldJob(table="gold.habit_channel_payment", build=build)
