"""gold.habit_price_band: the unit prices each customer accepts in each category, as of D.

Grain: one row per as-of date D x customer x category_l2 bought in the preference window
(conf/gold.yaml `habits.preference_days`, default the last 365 days, D inclusive).

The price paid for a unit is the line's line_amount / quantity (after the line's discount) of a
completed-sale line (AsOf.sale_lines, product version valid at D; lines of unknown products are
left out). Percentiles are exact (Spark `percentile`, linear interpolation between units) and
weighted by quantity: a line of 3 units counts as three units at its price.

Columns: lines, quantity, price_min, price_p10, price_p50, price_p90, price_max, avg_price
(amount / quantity). The accepted band of a customer in a category is [price_p10, price_p90].
Prices of different products of one category_l2 mix (a 500 g and a 1 kg pack): the band is of the
prices the customer pays in the category, not a per-kilo price.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob
from jobs.gold.habits import habit_conf, in_window

PERCENTILES = (0.1, 0.5, 0.9)


def transform(lines: DataFrame, day: dt.date, days: int) -> DataFrame:
    """Rows of gold.habit_price_band from completed-sale lines cut at `day` (customer_id,
    order_date, category_l1, category_l2, quantity, line_amount)."""
    lines = lines.filter(in_window("order_date", day, days) & F.col("category_l2").isNotNull()
                         & (F.col("quantity") > 0))
    unit = (F.col("line_amount").cast("double") / F.col("quantity")).alias("unit")
    lines = lines.select("customer_id", "category_l1", "category_l2", "quantity",
                         F.col("line_amount").cast("double"), unit)
    out = lines.groupBy("customer_id", "category_l2").agg(
        F.max("category_l1").alias("category_l1"),
        F.count("*").alias("lines"),
        F.sum("quantity").alias("quantity"),
        F.min("unit").alias("price_min"),
        F.percentile("unit", list(PERCENTILES), F.col("quantity")).alias("_p"),
        F.max("unit").alias("price_max"),
        (F.sum("line_amount") / F.sum("quantity")).alias("avg_price"),
    )
    return out.select(
        "customer_id", "category_l1", "category_l2",
        F.col("lines").cast("long").alias("lines"), F.col("quantity").cast("long").alias("quantity"),
        F.col("price_min").cast("double").alias("price_min"),
        *[F.col("_p")[i].cast("double").alias(f"price_p{round(p * 100)}") for i, p in enumerate(PERCENTILES)],
        F.col("price_max").cast("double").alias("price_max"),
        F.col("avg_price").cast("double").alias("avg_price"),
    )


def build(asof: AsOf) -> DataFrame:
    return transform(asof.sale_lines(), asof.day, habit_conf(config.load())["preference_days"])


JOB = GoldJob(table="gold.habit_price_band", build=build)
