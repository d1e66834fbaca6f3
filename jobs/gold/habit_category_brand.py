"""gold.habit_category_brand: what each customer buys in each category, and how loyal to a brand, as of D.

Grain: one row per as-of date D x customer x category_l2 the customer bought in the preference
window (conf/gold.yaml `habits.preference_days`, default the last 365 days, D inclusive).

Lines are completed-sale lines (AsOf.sale_lines: not returns, not cancelled or refunded orders) with
the product version valid at D; lines whose product is unknown (no category) are left out, also
from the share-of-wallet denominator. A product without a brand counts as brand `unknown`.
Amounts are line_amount (what was paid for the line).

- orders, quantity, spend: orders with the category, units, amount.
- share_of_wallet: spend / the customer's spend over all categories in the window.
- brands: distinct brands bought; top_brand: the brand with the most spend (ties: first by name);
  top_brand_share: its share of the category spend (1 = one brand only).
- brand switching: the customer's orders with the category, in time order, each with the brand
  it bought most of in the category (by amount; ties: first by name). brand_switches = consecutive
  pairs of those orders whose brand differs; brand_switch_rate = brand_switches / (orders - 1),
  null with a single order.
- single-item preference: top_product_id / top_product_name, the product bought in the largest
  quantity (ties: larger spend, then first product id), and top_product_share, its share of the
  category quantity.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob
from jobs.gold.habits import UNKNOWN, habit_conf, in_window, ratio

KEY = ["customer_id", "category_l2"]


def window_lines(lines: DataFrame, day: dt.date, days: int) -> DataFrame:
    """Sale lines of the window with a known category, brand never null. Amounts stay decimal, so
    sums are exact and a brand with all of a category's spend has a share of exactly 1."""
    return (lines.filter(in_window("order_date", day, days) & F.col("category_l2").isNotNull())
            .withColumn("brand", F.coalesce("brand", F.lit(UNKNOWN))))


def switching(lines: DataFrame) -> DataFrame:
    """Per customer x category_l2: brand_switches between consecutive orders (each order's brand is
    the one it bought most of in the category)."""
    per_order = (lines.groupBy(*KEY, "order_id", "order_ts_local", "brand")
                 .agg(F.sum("line_amount").alias("_amount"))
                 .groupBy(*KEY, "order_id", "order_ts_local")
                 .agg(F.min_by("brand", F.struct(-F.col("_amount"), F.col("brand"))).alias("_brand")))
    previous = F.lag("_brand").over(Window.partitionBy(*KEY).orderBy("order_ts_local", "order_id"))
    return (per_order.withColumn("_switch", (F.col("_brand") != previous).cast("int"))
            .groupBy(*KEY).agg(F.coalesce(F.sum("_switch"), F.lit(0)).cast("long").alias("brand_switches")))


def transform(lines: DataFrame, day: dt.date, days: int) -> DataFrame:
    """Rows of gold.habit_category_brand from completed-sale lines cut at `day` (customer_id,
    order_id, order_ts_local, order_date, product_id, product_name, category_l1, category_l2,
    brand, quantity, line_amount)."""
    lines = window_lines(lines, day, days)
    totals = lines.groupBy(*KEY).agg(
        F.max("category_l1").alias("category_l1"),
        F.count_distinct("order_id").alias("orders"),
        F.sum("quantity").alias("quantity"),
        F.sum("line_amount").alias("spend"))
    brands = (lines.groupBy(*KEY, "brand").agg(F.sum("line_amount").alias("_b"))
              .groupBy(*KEY).agg(
                  F.count("*").alias("brands"),
                  F.min_by("brand", F.struct(-F.col("_b"), F.col("brand"))).alias("top_brand"),
                  F.max("_b").alias("_top_brand_spend")))
    products = (lines.groupBy(*KEY, "product_id")
                .agg(F.sum("quantity").alias("_q"), F.sum("line_amount").alias("_s"),
                     F.max("product_name").alias("_name"))
                .groupBy(*KEY).agg(
                    F.min_by(F.struct(F.col("product_id"), F.col("_name"), F.col("_q")),
                             F.struct(-F.col("_q"), -F.col("_s"), F.col("product_id"))).alias("_top")))
    wallet = F.sum("spend").over(Window.partitionBy("customer_id"))
    return (
        totals.join(brands, KEY, "inner").join(products, KEY, "inner").join(switching(lines), KEY, "inner")
        .select(
            "customer_id", "category_l1", "category_l2",
            F.col("orders").cast("long").alias("orders"), F.col("quantity").cast("long").alias("quantity"),
            F.col("spend").cast("double").alias("spend"),
            ratio(F.col("spend"), wallet).alias("share_of_wallet"),
            F.col("brands").cast("long").alias("brands"), "top_brand",
            ratio(F.col("_top_brand_spend"), F.col("spend")).alias("top_brand_share"),
            "brand_switches",
            F.when(F.col("orders") > 1, F.col("brand_switches") / (F.col("orders") - 1)).alias("brand_switch_rate"),
            F.col("_top.product_id").alias("top_product_id"), F.col("_top._name").alias("top_product_name"),
            ratio(F.col("_top._q"), F.col("quantity")).alias("top_product_share"),
        )
    )


def build(asof: AsOf) -> DataFrame:
    return transform(asof.sale_lines(), asof.day, habit_conf(config.load())["preference_days"])


JOB = GoldJob(table="gold.habit_category_brand", build=build)
