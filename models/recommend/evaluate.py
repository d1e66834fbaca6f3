"""Offline evaluation of the recommendation lists on a time split (`split.windows`): lists made with
what was known before T, judged on what each customer bought from T on.

Metrics at K over every evaluated customer (a customer without a list scores 0), for a list
(customer_id, rank from 1, item) against the customer's relevant items `hidden`:

    precision_at_K  mean of (relevant items in the top K) / K
    map_at_K        mean of AP@K = sum over ranks r <= K holding a relevant item of precision@r,
                    divided by min(relevant items, K)
    recall_at_K, hit_rate_at_K, coverage   as `models.basket.evaluate.ranking_metrics` (which
                    computes MAP@K, recall, hit rate and coverage here too)

What counts as relevant, and who is evaluated (`evaluate_lists` is told; `spec.train` decides):

- guess-you-like: the items a customer bought in the test window that were not already regulars
  of theirs at T (the only items guess-you-like may propose), for customers the model knows (with
  feedback before T) who bought at least one such item. The `*_all_items_*` variant judges lists
  made without any exclusion against every item bought, re-buys included (which is mostly
  re-buys: the honest picture of what a plain ALS top-10 catches);
- buy-again: the regulars at T that the customer bought again in the first `buy_again_days` of the
  test window, for customers with at least one regular who bought one again.
"""
from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.basket import evaluate as basket_eval

DEFAULT_K = 10


def precision_at_k(recs: DataFrame, held: DataFrame, k: int = DEFAULT_K, id_col: str = "customer_id") -> float:
    """Mean over the customers of `held` (id_col, hidden) of relevant items in their top `k` / k."""
    hidden = held.select(id_col, F.explode("hidden").alias("item"))
    hits = (recs.filter(F.col("rank") <= k).select(id_col, "item")
            .join(hidden, [id_col, "item"], how="inner")
            .groupBy(id_col).agg(F.count(F.lit(1)).alias("hits")))
    row = (held.select(id_col).join(hits, id_col, how="left").fillna(0, subset=["hits"])
           .agg(F.avg(F.col("hits") / F.lit(float(k))).alias("p")).first())
    return float(row["p"] or 0.0)


def ranking(recs: DataFrame, held: DataFrame, k: int = DEFAULT_K, id_col: str = "customer_id") -> dict[str, float]:
    """precision_at_k, map_at_k, recall_at_k, hit_rate_at_k, coverage and customers (evaluated)."""
    found = basket_eval.ranking_metrics(recs, held, k, id_col=id_col)
    customers = found.pop("orders")
    return {f"precision_at_{k}": precision_at_k(recs, held, k, id_col), **found, "customers": customers}


def evaluate_lists(lists: Mapping[str, DataFrame], held: DataFrame, k: int = DEFAULT_K,
                   prefix: str = "") -> dict[str, float]:
    """`ranking` of each named list against the same `held`, as one flat dict: <prefix><name>_<metric>
    for every list, and <prefix>customers once."""
    held = held.cache()
    metrics: dict[str, float] = {}
    for name, recs in lists.items():
        found = ranking(recs, held, k)
        metrics[f"{prefix}customers"] = found.pop("customers")
        metrics.update({f"{prefix}{name}_{key}": value for key, value in found.items()})
    held.unpersist()
    return metrics


def restrict(held: DataFrame, customers: DataFrame) -> DataFrame:
    """`held` for the customers of `customers` (customer_id) only."""
    return held.join(customers.select("customer_id").distinct(), "customer_id", how="inner")
