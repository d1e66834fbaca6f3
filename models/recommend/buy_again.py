"""Buy again: each customer's own repurchase cycle per item, and what is due now.

Fresh goods are bought again and again (milk every few days, rice every month): for those the useful
list is not "something new" but "what you are about to run out of". Per customer x item bought on at
least `min_days` distinct days up to the as-of date D (`cycles`):

    purchase_days       distinct days with a purchase of the item
    first_purchase, last_purchase
    cycle_days          median of the gaps between consecutive purchase days (the customer's own
                        repurchase cycle for the item; exact median, the mean of the two middle gaps
                        for an even count)
    days_since_last     D - last_purchase
    due_ratio           days_since_last / cycle_days (1 = due today, 2 = one cycle overdue)

The due score of an item for the next `horizon_days` days (the list's shelf life, e.g. a week) is

    rate x due,   rate = 1 / cycle_days (purchases per day)
                  due  = min(1, (days_since_last + horizon_days) / cycle_days)       if not lapsed
                         x exp(-(due_ratio - lapse_cycles))                         once lapsed

`due` is the share of the cycle that has passed by the end of the horizon (1 = the item falls due
within the horizon); an item overdue by more than `lapse_cycles` cycles (default 3) is probably no
longer bought, and its score decays by e per further cycle. Frequent items rank above rare ones;
among items of the same cycle, the one falling due first ranks first.

`buy_again` ranks the top N per customer (ties: item id); the baseline `most_frequent` ranks the same
candidate items by how often the customer bought them (purchase days, then the latest purchase).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from models.recommend.features import day

DEFAULT_HORIZON_DAYS = 7
DEFAULT_LAPSE_CYCLES = 3.0
CYCLE_COLUMNS = ("customer_id", "product_id", "purchase_days", "first_purchase", "last_purchase", "cycle_days",
                 "days_since_last", "due_ratio")


def cycles(days: DataFrame, asof_date: str | dt.date, min_days: int = 2) -> DataFrame:
    """CYCLE_COLUMNS per customer x product bought on at least `min_days` distinct days of `days`
    (rows of `features.purchase_days`, already cut at the as-of date)."""
    if min_days < 2:
        raise ValueError(f"min_days must be at least 2 (a cycle needs two purchases), got {min_days}")
    d = day(asof_date)
    distinct = days.select("customer_id", "product_id", "order_date").distinct()
    previous = Window.partitionBy("customer_id", "product_id").orderBy("order_date")
    gaps = distinct.withColumn("gap", F.datediff("order_date", F.lag("order_date").over(previous)))
    stats = gaps.groupBy("customer_id", "product_id").agg(
        F.count(F.lit(1)).alias("purchase_days"), F.min("order_date").alias("first_purchase"),
        F.max("order_date").alias("last_purchase"), F.median("gap").alias("cycle_days"))
    since = F.datediff(F.lit(d), F.col("last_purchase"))
    return (
        stats.filter(F.col("purchase_days") >= F.lit(min_days))
        .select("customer_id", "product_id", F.col("purchase_days").cast("long").alias("purchase_days"),
                "first_purchase", "last_purchase", F.col("cycle_days").cast("double").alias("cycle_days"),
                since.cast("int").alias("days_since_last"),
                (since / F.col("cycle_days")).cast("double").alias("due_ratio"))
    )


def due_score(horizon_days: int = DEFAULT_HORIZON_DAYS, lapse_cycles: float = DEFAULT_LAPSE_CYCLES):
    """The due score column over CYCLE_COLUMNS (see the module docstring)."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    cycle = F.col("cycle_days")
    due = F.least(F.lit(1.0), (F.col("days_since_last") + F.lit(horizon_days)) / cycle)
    lapse = F.when(F.col("due_ratio") > F.lit(lapse_cycles),
                   F.exp(F.lit(lapse_cycles) - F.col("due_ratio"))).otherwise(F.lit(1.0))
    return F.lit(1.0) / cycle * due * lapse


def buy_again(cycle_rows: DataFrame, n: int = 10, horizon_days: int = DEFAULT_HORIZON_DAYS,
              lapse_cycles: float = DEFAULT_LAPSE_CYCLES) -> DataFrame:
    """The top `n` items per customer by due score: customer_id, rank, item, score, cycle_days,
    days_since_last."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    order = Window.partitionBy("customer_id").orderBy(F.desc("score"), F.asc("item"))
    return (
        cycle_rows.select("customer_id", F.col("product_id").alias("item"),
                          due_score(horizon_days, lapse_cycles).cast("double").alias("score"),
                          "cycle_days", "days_since_last")
        .withColumn("rank", F.row_number().over(order).cast("int"))
        .filter(F.col("rank") <= n)
        .select("customer_id", "rank", "item", "score", "cycle_days", "days_since_last")
    )


def most_frequent(cycle_rows: DataFrame, n: int = 10) -> DataFrame:
    """Baseline: the customer's `n` most frequently bought candidate items (purchase days, then the
    latest purchase, then item id): customer_id, rank, item, score (= purchase days)."""
    order = Window.partitionBy("customer_id").orderBy(F.desc("purchase_days"), F.desc("last_purchase"),
                                                      F.asc("product_id"))
    return (
        cycle_rows.withColumn("rank", F.row_number().over(order).cast("int"))
        .filter(F.col("rank") <= n)
        .select("customer_id", "rank", F.col("product_id").alias("item"),
                F.col("purchase_days").cast("double").alias("score"))
    )
