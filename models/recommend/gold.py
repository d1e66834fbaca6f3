"""Rows of gold.recommendations: each customer's guess-you-like and buy-again lists as of a date.

Grain: one row per as-of date x customer x kind x rank (conf/tables.yaml `recommendations`).
Columns: as_of_date (date), customer_id, kind (`guess_you_like` | `buy_again`), rank (int, from 1),
product_id, score (double: the ALS preference, or the popularity share for customers the model does
not know, for guess_you_like; the due score for buy_again), product_name, category_l1, category_l2
(the product version valid at the date; null when unknown), cycle_days and days_since_last
(buy_again only: the customer's repurchase cycle for the item and the days since they last bought
it; null for guess_you_like).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.recommend.features import day

GUESS_YOU_LIKE, BUY_AGAIN = "guess_you_like", "buy_again"
KINDS = (GUESS_YOU_LIKE, BUY_AGAIN)
COLUMNS = ("as_of_date", "customer_id", "kind", "rank", "product_id", "score", "product_name", "category_l1",
           "category_l2", "cycle_days", "days_since_last")
PRODUCT_COLUMNS = ("product_name", "category_l1", "category_l2")


def recommendations(guess_you_like: DataFrame, buy_again: DataFrame, products: DataFrame | None,
                    as_of_date: str | dt.date) -> DataFrame:
    """The rows of gold.recommendations from the two lists (customer_id, rank, item, score; buy-again
    also cycle_days, days_since_last) and the products valid at the date."""
    gyl = guess_you_like.select("customer_id", F.lit(GUESS_YOU_LIKE).alias("kind"), "rank", "item", "score",
                                F.lit(None).cast("double").alias("cycle_days"),
                                F.lit(None).cast("int").alias("days_since_last"))
    again = buy_again.select("customer_id", F.lit(BUY_AGAIN).alias("kind"), "rank", "item", "score",
                             F.col("cycle_days").cast("double").alias("cycle_days"),
                             F.col("days_since_last").cast("int").alias("days_since_last"))
    rows = gyl.unionByName(again)
    if products is not None:
        names = products.select(F.col("product_id").alias("item"), *PRODUCT_COLUMNS).dropDuplicates(["item"])
        rows = rows.join(F.broadcast(names), "item", how="left")
    else:
        rows = rows.select("*", *[F.lit(None).cast("string").alias(c) for c in PRODUCT_COLUMNS])
    return rows.select(
        F.lit(day(as_of_date)).alias("as_of_date"),
        F.col("customer_id").cast("string").alias("customer_id"),
        F.col("kind").cast("string").alias("kind"),
        F.col("rank").cast("int").alias("rank"),
        F.col("item").cast("string").alias("product_id"),
        F.col("score").cast("double").alias("score"),
        *[F.col(c).cast("string").alias(c) for c in PRODUCT_COLUMNS],
        "cycle_days", "days_since_last",
    )
