"""gold.habit_price_comparison: who compares prices before buying, from app / web / mini-program views, as of D.

Grain: one row per as-of date D x customer who viewed a product in the habits window
(conf/gold.yaml `habits.window_days`, default the last 90 days, D inclusive) or made a watched
purchase in it (below).

Views are silver.events of type `view` with a customer and a product. Purchases are
(order, product) pairs of completed-sale lines (AsOf.sale_lines) with an order date in the window;
the price paid is line_amount / quantity summed over the order's lines of the product.

- products_viewed: distinct products viewed in the window.
- multi_platform_products: products the customer viewed on 2 or more platforms (app, web,
  mini_program) in the window: checking one product in several places.
- watched_purchases: purchases preceded by 2 or more views of the same product by the customer,
  counting views before the order's local time and no earlier than `habits.view_lookback_days`
  (default 14) days before the order date.
- priced_purchases: watched purchases whose reference price is known, where the reference price
  is the average unit price paid for the product by all customers (amount / quantity of its
  completed-sale lines) on the date of the first of those views; unknown when nobody bought the
  product that day (silver has no price on a view event).
- cheaper_purchases: priced purchases paid strictly below the reference price: the customer came
  back and bought when the price was lower than when they first looked.
- is_price_comparer: multi_platform_products >= 1 or cheaper_purchases >= 1.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob
from jobs.gold.habits import habit_conf, in_window, window_start

VIEW = "view"
MIN_VIEWS = 2
MIN_PLATFORMS = 2


def _views(events: DataFrame) -> DataFrame:
    return (events.filter((F.col("event_type") == VIEW) & F.col("customer_id").isNotNull()
                          & F.col("product_id").isNotNull())
            .select("customer_id", "product_id", "platform", "event_date", "event_ts_local"))


def viewing(views: DataFrame, day: dt.date, days: int) -> DataFrame:
    """Per customer: products_viewed and multi_platform_products in the window."""
    per_product = (views.filter(in_window("event_date", day, days))
                   .groupBy("customer_id", "product_id").agg(F.count_distinct("platform").alias("_platforms")))
    return per_product.groupBy("customer_id").agg(
        F.count("*").alias("products_viewed"),
        F.count(F.when(F.col("_platforms") >= MIN_PLATFORMS, 1)).alias("multi_platform_products"))


def watched(views: DataFrame, lines: DataFrame, day: dt.date, days: int, lookback_days: int) -> DataFrame:
    """Per customer: watched, priced and cheaper purchases in the window."""
    purchases = (lines.filter(in_window("order_date", day, days))
                 .groupBy("customer_id", "order_id", "product_id", "order_date", "order_ts_local")
                 .agg((F.sum(F.col("line_amount").cast("double")) / F.sum("quantity")).alias("_paid")))
    before = (F.col("event_ts_local") < F.col("order_ts_local")) & (
        F.col("event_date") >= F.date_sub(F.col("order_date"), lookback_days))
    seen = (purchases.join(views.filter(F.col("event_date") >= F.lit(window_start(day, days + lookback_days))),
                           ["customer_id", "product_id"], "inner")
            .filter(before)
            .groupBy("customer_id", "order_id", "product_id", "_paid")
            .agg(F.count("*").alias("_views"), F.min_by("event_date", "event_ts_local").alias("_first_view"))
            .filter(F.col("_views") >= MIN_VIEWS))
    daily_price = (lines.groupBy("product_id", F.col("order_date").alias("_first_view"))
                   .agg((F.sum(F.col("line_amount").cast("double")) / F.sum("quantity")).alias("_reference")))
    priced = seen.join(daily_price, ["product_id", "_first_view"], "left")
    return priced.groupBy("customer_id").agg(
        F.count("*").alias("watched_purchases"),
        F.count("_reference").alias("priced_purchases"),
        F.count(F.when(F.col("_paid") < F.col("_reference"), 1)).alias("cheaper_purchases"))


def transform(events: DataFrame, lines: DataFrame, day: dt.date, days: int, lookback_days: int) -> DataFrame:
    """Rows of gold.habit_price_comparison. `events`: silver.events cut at `day`; `lines`:
    completed-sale lines cut at `day` (customer_id, order_id, product_id, order_date,
    order_ts_local, quantity, line_amount)."""
    views = _views(events)
    counts = ["products_viewed", "multi_platform_products", "watched_purchases", "priced_purchases",
              "cheaper_purchases"]
    out = (viewing(views, day, days).join(watched(views, lines, day, days, lookback_days), "customer_id", "full")
           .fillna(0, subset=counts))
    return out.select(
        "customer_id", *[F.col(c).cast("long").alias(c) for c in counts],
        ((F.col("multi_platform_products") > 0) | (F.col("cheaper_purchases") > 0)).alias("is_price_comparer"),
    )


def build(asof: AsOf) -> DataFrame:
    h = habit_conf(config.load())
    return transform(asof.table("events"), asof.sale_lines(), asof.day, h["window_days"], h["view_lookback_days"])


JOB = GoldJob(table="gold.habit_price_comparison", build=build)
