"""Features of the recommender as of a cutoff date: implicit feedback, purchase days, regulars.

Nothing after the cutoff reaches a feature: every function takes `cutoff` (inclusive) and keeps
only sale lines with `order_date <= cutoff` and events with `event_date <= cutoff` (and, with
`since`, on or after `since`). Production reads silver through `jobs.gold.asof.AsOf`, which cuts at
the as-of date as well (`interactions_as_of`).

- `signal_counts`: one row per customer x product x signal kind with its count. The kind
  `purchase` counts the distinct completed sale orders holding the product; the other kinds are
  silver.events event types (conf/silver.yaml vocabulary: view, favorite, add_cart, remove_cart,
  ...) counted per event, customer and product both known (anonymous events and searches, which
  name no product, do not count).
- `implicit_ratings`: one row per customer x product with a positive rating: the count of every
  weighted kind (`n_<kind>`) and rating = sum of weight x count (`scale="linear"`) or
  ln(1 + that sum) (`scale="log"`, the default: a hundred views of one product should not drown
  everything else, as Hu, Koren and Volinsky's log confidence does). Kinds without a weight are
  ignored; pairs whose weighted sum is 0 are dropped (ALS with implicit preferences treats a
  missing pair as "no preference").
- `purchase_days`: one row per customer x product x day the customer bought it.
- `regulars`: one row per customer x product bought on at least `min_days` distinct days: the
  items the customer already buys again and again (buy-again's job, left out of guess-you-like).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.recommend.config import PURCHASE, SCALES

SIGNAL_COLUMNS = ("customer_id", "product_id", "kind", "n")


def day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _window(df: DataFrame, date_col: str, cutoff: str | dt.date, since: str | dt.date | None) -> DataFrame:
    kept = df.filter(F.col(date_col) <= F.lit(day(cutoff)))
    return kept if since is None else kept.filter(F.col(date_col) >= F.lit(day(since)))


def since_for(cutoff: str | dt.date, history_days: int | None) -> dt.date | None:
    """The first day of a `history_days`-day history ending at `cutoff` (None: all history)."""
    return None if history_days is None else day(cutoff) - dt.timedelta(days=history_days - 1)


def purchase_days(sale_lines: DataFrame, cutoff: str | dt.date, since: str | dt.date | None = None) -> DataFrame:
    """One row per customer x product x order_date with a completed sale in [since, cutoff]:
    customer_id, product_id, order_date, orders (distinct orders that day holding the product).
    `sale_lines`: completed sale lines (`AsOf.sale_lines()`: order_id, customer_id, order_date,
    product_id)."""
    return (
        _window(sale_lines, "order_date", cutoff, since)
        .filter(F.col("customer_id").isNotNull() & F.col("product_id").isNotNull())
        .groupBy("customer_id", "product_id", "order_date")
        .agg(F.countDistinct("order_id").alias("orders"))
        .select(F.col("customer_id").cast("string").alias("customer_id"),
                F.col("product_id").cast("string").alias("product_id"),
                F.col("order_date").cast("date").alias("order_date"),
                F.col("orders").cast("long").alias("orders"))
    )


def signal_counts(sale_lines: DataFrame, events: DataFrame | None, cutoff: str | dt.date,
                  since: str | dt.date | None = None) -> DataFrame:
    """One row per customer x product x kind seen in [since, cutoff]: customer_id, product_id, kind
    (`purchase` or an event type), n. `events` (silver.events: customer_id, product_id, event_type,
    event_date) may be None for a retailer without app events."""
    bought = (
        purchase_days(sale_lines, cutoff, since)
        .groupBy("customer_id", "product_id")
        .agg(F.sum("orders").alias("n"))
        .select("customer_id", "product_id", F.lit(PURCHASE).alias("kind"), "n")
    )
    if events is None:
        return bought.select(*SIGNAL_COLUMNS)
    seen = (
        _window(events, "event_date", cutoff, since)
        .filter(F.col("customer_id").isNotNull() & F.col("product_id").isNotNull()
                & F.col("event_type").isNotNull())
        .groupBy("customer_id", "product_id", F.col("event_type").alias("kind"))
        .agg(F.count(F.lit(1)).alias("n"))
    )
    return (
        bought.unionByName(seen)
        .select(F.col("customer_id").cast("string").alias("customer_id"),
                F.col("product_id").cast("string").alias("product_id"),
                F.col("kind").cast("string").alias("kind"), F.col("n").cast("long").alias("n"))
    )


def implicit_ratings(signals: DataFrame, weights: Mapping[str, float], scale: str = "log") -> DataFrame:
    """One row per customer x product with a positive weighted sum: customer_id, product_id,
    n_<kind> (long, one column per weighted kind, in sorted kind order), rating (double)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if not weights or any(w < 0 for w in weights.values()):
        raise ValueError(f"weights must be non-negative and not empty, got {dict(weights)}")
    kinds = sorted(weights)
    counts = [F.sum(F.when(F.col("kind") == F.lit(k), F.col("n")).otherwise(F.lit(0))).cast("long").alias(f"n_{k}")
              for k in kinds]
    weighted = sum((F.col(f"n_{k}") * F.lit(float(weights[k])) for k in kinds), F.lit(0.0))
    rating = F.log1p(F.col("_sum")) if scale == "log" else F.col("_sum")
    return (
        signals.filter(F.col("kind").isin(*kinds))
        .groupBy("customer_id", "product_id").agg(*counts)
        .withColumn("_sum", weighted)
        .filter(F.col("_sum") > F.lit(0.0))
        .select("customer_id", "product_id", *[f"n_{k}" for k in kinds], rating.cast("double").alias("rating"))
    )


def regulars(days: DataFrame, min_days: int = 2) -> DataFrame:
    """One row per customer x product bought on at least `min_days` distinct days of `days` (rows of
    `purchase_days`): customer_id, product_id, purchase_days."""
    return (
        days.groupBy("customer_id", "product_id")
        .agg(F.countDistinct("order_date").alias("purchase_days"))
        .filter(F.col("purchase_days") >= F.lit(min_days))
        .select("customer_id", "product_id", F.col("purchase_days").cast("long").alias("purchase_days"))
    )


def interactions_as_of(asof, weights: Mapping[str, float], scale: str = "log",
                       history_days: int | None = None) -> DataFrame:
    """`implicit_ratings` of everything known at the end of the as-of date (`asof`: a
    `jobs.gold.asof.AsOf`), over the last `history_days` days (None: all)."""
    since = since_for(asof.day, history_days)
    return implicit_ratings(signal_counts(asof.sale_lines(), asof.optional("events"), asof.day, since),
                            weights, scale)
