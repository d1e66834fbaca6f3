"""gold.winback_list: lapsed customers worth winning back, with what to offer them and when, as of D.

Grain: one row per as-of date D x customer of gold.customer_profile of D whose lifecycle_stage is
`at_risk` or `churned` (conf/gold.yaml `lifecycle`: no purchase for at_risk_days / churn_days) and
whose spend_total (all completed sales up to D) is at least `winback.min_spend_total`.

Columns (all from the profile of D): customer_id, tier, region, member_level, customer_type,
lifecycle_stage, last_order_date, recency_days, orders_total, spend_total,
favourite_categories (the top `winback.favourite_categories` category_l2 by the customer's spend,
i.e. by category_share; ties: first by name), preferred_channel (where they used to order),
preferred_push_channel and best_push_hour (how and when to reach them), and winback_rank
(1 = the highest spend_total; ties: customer_id), so a campaign can take the first N.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold

LAPSED = ("at_risk", "churned")


def favourites(shares: str, n: int) -> F.Column:
    """The keys of a map<category, share> with the n largest shares (ties: first key by name)."""
    ranked = F.array_sort(F.transform(F.map_entries(shares), lambda e: F.struct(
        (-e["value"]).alias("neg_share"), e["key"].alias("category"))))
    return F.transform(F.slice(ranked, 1, n), lambda e: e["category"])


def transform(profile: DataFrame, min_spend_total: float, n_favourites: int) -> DataFrame:
    """Rows of gold.winback_list from the profile of D."""
    lapsed = profile.filter(F.col("lifecycle_stage").isin(*LAPSED)
                            & (F.col("spend_total") >= F.lit(float(min_spend_total))))
    rank = F.row_number().over(Window.orderBy(F.desc("spend_total"), "customer_id"))
    return lapsed.select(
        "customer_id", "tier", "region", "member_level", "customer_type", "lifecycle_stage",
        "last_order_date", F.col("recency_days").cast("int").alias("recency_days"),
        F.col("orders_total").cast("long").alias("orders_total"),
        F.col("spend_total").cast("double").alias("spend_total"),
        F.coalesce(favourites("category_share", n_favourites), F.array().cast("array<string>"))
        .alias("favourite_categories"),
        "preferred_channel", "preferred_push_channel",
        F.col("best_push_hour").cast("int").alias("best_push_hour"),
        rank.alias("winback_rank"),
    )


def build(asof: AsOf) -> DataFrame:
    w = config.load()["winback"]
    return transform(read_gold(asof, "customer_profile"), w["min_spend_total"], w["favourite_categories"])


JOB = GoldJob(table="gold.winback_list", build=build, needs=("customer_profile",))
