"""gold.supply_daily_demand: what was sold each day, per product, customer region and tier.

Grain: one row per date x product_id x region x tier (the table's business key; MERGE write).
date: the order date (local); region / tier: the buying customer's region and tier in
gold.customer_profile (null as `unknown`). Sales are completed-sale lines (AsOf.sale_lines: not
returns, not cancelled or refunded orders), with the product version valid at D for the category.

Columns: date, product_id, region, tier, category_l1, category_l2, quantity (units), revenue
(sum of line_amount), orders (distinct orders), customers (distinct buyers), computed_as_of (the
as-of date of the run that wrote the row).

Incremental: a run for D recomputes the last `supply.recompute_days` days up to D (conf/gold.yaml,
default 3) and MERGEs them on the key, so orders, refunds and returns that reach silver up to that
many days late are absorbed, and re-running a date gives the same table. The first run, when the
table does not exist yet, fills every day up to D. A key the recompute no longer produces (its
only order was refunded, or its customer changed tier or region since the last run) is rewritten
with zero quantity, revenue, orders and customers, since a MERGE cannot delete: sums over the
table stay right. A day's region and tier are those of the profile of the last run that
recomputed it (D at most recompute_days - 1 days after the date).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold
from jobs.gold.habits import dims, window_start, with_dims

DEFAULT_RECOMPUTE_DAYS = 3
KEY = ["date", "product_id", "region", "tier"]
MEASURES = ("quantity", "revenue", "orders", "customers")


def recompute_days(conf: dict) -> int:
    return int((conf.get("supply") or {}).get("recompute_days", DEFAULT_RECOMPUTE_DAYS))


def transform(lines: DataFrame, profile: DataFrame, previous: DataFrame | None, day: dt.date,
              days: int | None) -> DataFrame:
    """Rows to MERGE into gold.supply_daily_demand. `lines`: completed-sale lines cut at `day`
    (order_id, customer_id, order_date, product_id, category_l1, category_l2, quantity,
    line_amount); `profile` of D (customer_id, region, tier); `previous`: the table as it is
    (None when it does not exist); `days`: how many days up to `day` to recompute (None = all)."""
    if days is not None:
        lines = lines.filter(F.col("order_date") >= F.lit(window_start(day, days)))
    lines = with_dims(lines, dims(profile, "region", "tier"), "region", "tier")
    fresh = lines.groupBy(F.col("order_date").alias("date"), "product_id", "region", "tier").agg(
        F.max("category_l1").alias("category_l1"), F.max("category_l2").alias("category_l2"),
        F.sum("quantity").alias("quantity"), F.sum("line_amount").alias("revenue"),
        F.count_distinct("order_id").alias("orders"), F.count_distinct("customer_id").alias("customers"))
    if previous is not None:
        recomputed = previous.filter(F.col("date") <= F.lit(day))
        if days is not None:
            recomputed = recomputed.filter(F.col("date") >= F.lit(window_start(day, days)))
        gone = (recomputed.select(*KEY, "category_l1", "category_l2").join(fresh.select(*KEY), KEY, "left_anti")
                .withColumns({m: F.lit(0) for m in MEASURES}))
        fresh = fresh.unionByName(gone)
    return fresh.select(
        *KEY, "category_l1", "category_l2",
        F.col("quantity").cast("long").alias("quantity"), F.col("revenue").cast("double").alias("revenue"),
        F.col("orders").cast("long").alias("orders"), F.col("customers").cast("long").alias("customers"),
        F.lit(day).alias("computed_as_of"),
    )


def build(asof: AsOf) -> DataFrame:
    previous = read_gold(asof, "supply_daily_demand", required=False)
    days = recompute_days(config.load()) if previous is not None else None
    profile = read_gold(asof, "customer_profile")
    lines = asof.sale_lines().select("order_id", "customer_id", "order_date", "product_id", "category_l1",
                                     "category_l2", "quantity", "line_amount")
    return transform(lines, profile, previous, asof.day, days)


JOB = GoldJob(table="gold.supply_daily_demand", build=build, write="merge", needs=("customer_profile",))
