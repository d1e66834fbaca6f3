"""gold.habit_time: when customers order (local hour x weekday heatmap, weekday vs weekend), as of D.

Grain: one row per as-of date D x dimension x value x cell, where
- dimension / value: `all` / `all`, or `segment` / `tier` / `region` and the value of that profile
  column (gold.customer_profile of D; null as `unknown`). Every order counts once per dimension.
- cell: either a heatmap cell (day_type, iso_weekday 1 = Monday .. 7 = Sunday, hour 0-23 in the
  retailer's local time: orders.order_ts_local / order_hour), or a weekday-vs-weekend summary row
  (day_type `weekday` | `weekend`, iso_weekday and hour null). Weekend = Saturday and Sunday.
Orders: completed sales (AsOf.sales) with an order date in the habits window (conf/gold.yaml
`habits.window_days`, default the last 90 days, D inclusive). Cells without orders have no row.

Measures: orders, customers (distinct buyers in the cell), share (orders / all orders of the
dimension value in the window: the 168 cells of a value sum to 1, and so do its two summary rows),
orders_per_day (summary rows only: orders / the number of weekdays or weekend days in the window,
so weekdays and weekends compare fairly).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold
from jobs.gold.habits import by_dimension, dims, habit_conf, in_window, ratio, window_start, with_dims

DIMENSIONS = ("segment", "tier", "region")
WEEKDAY, WEEKEND = "weekday", "weekend"
SATURDAY = 6


def days_by_type(day: dt.date, days: int) -> dict[str, int]:
    """How many weekdays and weekend days the window of `days` days ending at `day` holds."""
    first = window_start(day, days)
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    weekend = sum(1 for d in dates if d.isoweekday() >= SATURDAY)
    return {WEEKDAY: days - weekend, WEEKEND: weekend}


def transform(sales: DataFrame, profile: DataFrame, day: dt.date, window_days: int) -> DataFrame:
    """Rows of gold.habit_time. `sales`: completed sales (order_id, customer_id, order_date,
    order_ts_local, order_hour); `profile`: the profile of D (customer_id, segment, tier, region)."""
    recent = sales.filter(in_window("order_date", day, window_days))
    recent = with_dims(recent, dims(profile, *DIMENSIONS), *DIMENSIONS)
    iso_weekday = F.weekday("order_ts_local") + 1
    rows = by_dimension(recent.select(
        "order_id", "customer_id", *DIMENSIONS,
        iso_weekday.alias("iso_weekday"), F.col("order_hour").alias("hour"),
        F.when(iso_weekday >= SATURDAY, F.lit(WEEKEND)).otherwise(F.lit(WEEKDAY)).alias("day_type"),
    ), DIMENSIONS)
    measures = [F.count("order_id").alias("orders"), F.count_distinct("customer_id").alias("customers")]
    cells = rows.groupBy("dimension", "value", "day_type", "iso_weekday", "hour").agg(*measures)
    summary = (rows.groupBy("dimension", "value", "day_type").agg(*measures)
               .withColumns({"iso_weekday": F.lit(None).cast("int"), "hour": F.lit(None).cast("int")}))
    n_days = days_by_type(day, window_days)
    per_day = F.create_map(*[F.lit(x) for kv in sorted(n_days.items()) for x in kv])
    total = F.sum("orders").over(Window.partitionBy("dimension", "value", "_summary"))
    return (
        cells.withColumn("_summary", F.lit(False))
        .unionByName(summary.withColumn("_summary", F.lit(True)))
        .select(
            "dimension", "value", "day_type",
            F.col("iso_weekday").cast("int").alias("iso_weekday"), F.col("hour").cast("int").alias("hour"),
            F.col("orders").cast("long").alias("orders"), F.col("customers").cast("long").alias("customers"),
            ratio(F.col("orders"), total).alias("share"),
            F.when(F.col("_summary"), ratio(F.col("orders"), F.element_at(per_day, F.col("day_type"))))
            .alias("orders_per_day"),
        )
    )


def build(asof: AsOf) -> DataFrame:
    profile = read_gold(asof, "customer_profile")
    sales = asof.sales().select("order_id", "customer_id", "order_date", "order_ts_local", "order_hour")
    return transform(sales, profile, asof.day, habit_conf(config.load())["window_days"])


JOB = GoldJob(table="gold.habit_time", build=build, needs=("customer_profile",))
