"""Guess-you-like lists: the ALS top N per customer, the popularity baseline, and the two merged.

All lists have the columns REC_COLUMNS (customer_id, rank from 1, item, score), ranked by score
descending, ties by item id ascending.

Guess-you-like leaves out `exclude` pairs (customer_id, product_id): the customer's regulars (items
bought on at least two distinct days, `features.regulars`), which the buy-again list covers. So the
two lists never repeat each other: buy-again proposes what the customer buys again and again,
guess-you-like what they have not made a habit of yet (never bought, or tried once).

The popularity baseline ranks items by the number of distinct customers who bought them
(`models.basket.recommend.popular_items` over one "basket" per customer), skipping each customer's
excluded items (`models.basket.recommend.recommend_popular`).
"""
from __future__ import annotations

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from models.basket import recommend as basket_rec
from models.recommend.train import ITEM, USER, stages

REC_COLUMNS = ("customer_id", "rank", "item", "score")


def _labels(df: DataFrame, labels: list[str], index_col: str, label_col: str) -> DataFrame:
    rows = [(i, label) for i, label in enumerate(labels)]
    return df.sparkSession.createDataFrame(rows, f"{index_col} int, {label_col} string")


def exclusion_lists(customers: DataFrame, exclude: DataFrame | None) -> DataFrame:
    """One row per customer: customer_id, excluded (sorted array, empty when nothing is excluded)."""
    ids = customers.select(F.col("customer_id").cast("string").alias("customer_id")).distinct()
    if exclude is None:
        return ids.withColumn("excluded", F.array().cast("array<string>"))
    lists = exclude.groupBy("customer_id").agg(F.array_sort(F.collect_set("product_id")).alias("excluded"))
    return (ids.join(lists, "customer_id", how="left")
            .select("customer_id", F.coalesce("excluded", F.array().cast("array<string>")).alias("excluded")))


def guess_you_like(model: PipelineModel, customers: DataFrame, exclude: DataFrame | None = None,
                   n: int = 10) -> DataFrame:
    """The ALS top `n` items per customer of `customers` (customer_id) the model knows, without the
    customer's `exclude` pairs. Customers the model never saw get no rows."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    user_labels, item_labels, als = stages(model)
    lists = exclusion_lists(customers, exclude)
    users = (lists.join(_labels(lists, user_labels, USER, "customer_id"), "customer_id", how="inner")
             .cache())
    longest = users.agg(F.max(F.size("excluded"))).first()[0]
    if longest is None:  # no known customer
        users.unpersist()
        return lists.sparkSession.createDataFrame([], "customer_id string, rank int, item string, score double")
    wanted = min(n + int(longest), len(item_labels))
    recs = als.recommendForUserSubset(users.select(USER), wanted)
    items = F.broadcast(_labels(lists, item_labels, ITEM, "_item"))
    order = Window.partitionBy("customer_id").orderBy(F.desc("score"), F.asc("item"))
    ranked = (
        recs.select(USER, F.explode("recommendations").alias("r"))
        .select(USER, F.col("r").getField(ITEM).alias(ITEM), F.col("r.rating").cast("double").alias("score"))
        .join(users, USER, how="inner")
        .join(items, ITEM, how="inner")
        .filter(~F.array_contains("excluded", F.col("_item")))
        .select("customer_id", F.col("_item").alias("item"), "score")
        .withColumn("rank", F.row_number().over(order).cast("int"))
        .filter(F.col("rank") <= n)
        .select(*REC_COLUMNS)
    )
    return ranked


def popular_items(days: DataFrame) -> DataFrame:
    """item, freq (distinct customers who bought it in `days`, rows of `features.purchase_days`),
    support (freq / customers)."""
    per_customer = days.groupBy("customer_id").agg(F.collect_set("product_id").alias("items"))
    return basket_rec.popular_items(per_customer)


def recommend_popular(customers: DataFrame, popular: DataFrame, exclude: DataFrame | None = None,
                      n: int = 10) -> DataFrame:
    """The `n` most popular items (`popular_items`) per customer, skipping their `exclude` pairs."""
    carts = exclusion_lists(customers, exclude)
    return (basket_rec.recommend_popular(carts, popular, n=n, id_col="customer_id", items_col="excluded")
            .select("customer_id", F.col("rank").cast("int").alias("rank"), "item",
                    F.col("score").cast("double").alias("score")))


def fill_with_popular(recs: DataFrame, popular_recs: DataFrame, n: int = 10) -> DataFrame:
    """`recs` first, then popular items not already listed, up to `n` per customer (customers the
    model does not know get the popular list): REC_COLUMNS
    (`models.basket.recommend.fill_with_popular` on these columns)."""
    def padded(df: DataFrame) -> DataFrame:
        return df.select(*REC_COLUMNS, F.lit(None).cast("double").alias("confidence"),
                         F.lit(None).cast("double").alias("lift"), F.array().cast("array<string>").alias("antecedent"))
    return (basket_rec.fill_with_popular(padded(recs), padded(popular_recs), n=n, id_col="customer_id")
            .select(*REC_COLUMNS))
