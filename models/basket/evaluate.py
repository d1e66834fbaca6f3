"""Offline evaluation of cart completion, as the Databricks market-basket accelerator does it: take
held-out (test) orders with at least two items, hide part of each basket, recommend from the visible
rest, and measure how well the recommendations find the hidden items.

- Hiding (`hide_items`): `hide="one"` hides one item per order; a fraction f in (0, 1) hides
  floor(f x n) items (at least one, and at least one stays visible). Which items are hidden is
  decided by a seeded hash of (seed, order_id, item), so it is the same on every run, machine and
  partitioning, and another seed hides other items.
- Metrics at K (`ranking_metrics`), over every evaluated order (an order without recommendations
  scores 0):
  hit_rate_at_K = share of orders with at least one hidden item in the top K;
  map_at_K = mean over orders of AP@K = sum over ranks r <= K holding a hidden item of precision@r,
  divided by min(hidden items, K) (with one hidden item: 1 / its rank, or 0);
  recall_at_K = mean share of the hidden items found in the top K;
  coverage = share of orders that got at least one recommendation.
- `evaluate` compares the rules (`rules_*`), the popularity baseline (`popularity_*`: the items in
  most training baskets, not already in the cart) and the rules topped up with popular items
  (`rules_filled_*`) on the same hidden items, and returns one flat dict of metrics (names MLflow
  accepts).
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from models.basket import recommend as rec

DEFAULT_K = 10
DEFAULT_SEED = 42


def hide_items(test_baskets: DataFrame, hide: str | float = "one", seed: int = DEFAULT_SEED,
               min_items: int = 2) -> DataFrame:
    """One row per test order with at least `min_items` items: order_id, visible, hidden (both
    sorted arrays, disjoint, together the basket)."""
    if hide != "one" and not (isinstance(hide, float) and 0.0 < hide < 1.0):
        raise ValueError(f"hide must be 'one' or a fraction in (0, 1), got {hide!r}")
    if min_items < 2:
        raise ValueError(f"min_items must be at least 2 (one item to hide, one to show), got {min_items}")
    n = F.col("n_items")
    k = F.lit(1) if hide == "one" else F.greatest(F.lit(1), F.least(n - 1, F.floor(n * F.lit(hide)).cast("int")))
    shuffled = F.transform(
        F.array_sort(F.transform("items", lambda x: F.struct(
            F.xxhash64(F.lit(seed), F.col("order_id"), x).alias("h"), x.alias("item")))),
        lambda s: s["item"])
    return (
        test_baskets.filter(F.size("items") >= min_items)
        .select("order_id", F.size("items").alias("n_items"), shuffled.alias("shuffled"))
        .select("order_id",
                F.array_sort(F.slice("shuffled", k + 1, F.col("n_items"))).alias("visible"),
                F.array_sort(F.slice("shuffled", F.lit(1), k)).alias("hidden"))
    )


def ranking_metrics(recs: DataFrame, held: DataFrame, k: int = DEFAULT_K, id_col: str = "order_id") -> dict:
    """hit_rate_at_k, map_at_k, recall_at_k, coverage and orders, for recommendations `recs` (id_col,
    rank from 1, item) against the hidden items of `held` (id_col, hidden); every order of `held`
    counts."""
    hidden = held.select(id_col, F.explode("hidden").alias("item")).withColumn("rel", F.lit(1))
    top = recs.filter(F.col("rank") <= k).select(id_col, "rank", "item")
    so_far = Window.partitionBy(id_col).orderBy("rank").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    scored = (
        top.join(hidden, [id_col, "item"], how="left").fillna(0, subset=["rel"])
        .withColumn("precision", F.sum("rel").over(so_far) / F.col("rank"))
        .groupBy(id_col).agg(F.sum(F.col("rel") * F.col("precision")).alias("ap_sum"),
                             F.sum("rel").alias("hits"), F.count(F.lit(1)).alias("recs"))
    )
    per_order = (
        held.select(id_col, F.size("hidden").alias("n_hidden"))
        .join(scored, id_col, how="left").fillna(0, subset=["ap_sum", "hits", "recs"])
    )
    row = per_order.agg(
        F.count(F.lit(1)).alias("orders"),
        F.avg((F.col("hits") > 0).cast("double")).alias("hit_rate"),
        F.avg(F.col("ap_sum") / F.least(F.col("n_hidden"), F.lit(k))).alias("map"),
        F.avg(F.col("hits") / F.col("n_hidden")).alias("recall"),
        F.avg((F.col("recs") > 0).cast("double")).alias("coverage"),
    ).first()
    return {"orders": int(row["orders"]), f"hit_rate_at_{k}": float(row["hit_rate"] or 0.0),
            f"map_at_{k}": float(row["map"] or 0.0), f"recall_at_{k}": float(row["recall"] or 0.0),
            "coverage": float(row["coverage"] or 0.0)}


def evaluate(rules: DataFrame, train: DataFrame | None, test: DataFrame, k: int = DEFAULT_K,
             hide: str | float = "one", seed: int = DEFAULT_SEED, score: str = "confidence",
             held: DataFrame | None = None, popular: DataFrame | None = None) -> dict:
    """Hide items of the `test` baskets, complete the carts with `rules` (mined on `train`), with the
    popularity of `train` items, and with both; one flat dict: test_orders, orders_evaluated,
    hidden_items, then rules_*, popularity_*, rules_filled_* (the metrics of `ranking_metrics`).
    `held` (order_id, visible, hidden) replaces the hiding, e.g. to judge several models on the very
    same hidden items; `popular` (item, freq, support) replaces the popularity of `train` (e.g. the
    ranking a fitted model keeps), and then `train` may be None."""
    if popular is None and train is None:
        raise ValueError("give the training baskets or a popularity ranking")
    own = held is None
    held = hide_items(test, hide, seed).cache() if own else held
    carts = held.select(F.col("order_id").alias("cart_id"), F.col("visible").alias("items"))
    popular = rec.popular_items(train) if popular is None else popular
    by_rules = rec.recommend_batch(carts, rules, n=k, score=score).withColumnRenamed("cart_id", "order_id").cache()
    by_popularity = rec.recommend_popular(carts, popular, n=k).withColumnRenamed("cart_id", "order_id").cache()
    filled = rec.fill_with_popular(by_rules, by_popularity, n=k, id_col="order_id")
    metrics = {"test_orders": test.count(),
               "hidden_items": int(held.agg(F.sum(F.size("hidden"))).first()[0] or 0)}
    for name, recs in (("rules", by_rules), ("popularity", by_popularity), ("rules_filled", filled)):
        found = ranking_metrics(recs, held, k)
        metrics["orders_evaluated"] = found.pop("orders")
        metrics.update({f"{name}_{key}": value for key, value in found.items()})
    by_rules.unpersist()
    by_popularity.unpersist()
    if own:
        held.unpersist()
    return metrics
