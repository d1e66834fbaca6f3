"""gold.customer_tier_history: each customer's tier over time (slowly changing, type 2).

Grain: one row per customer tier spell: `valid_from` is the first as-of date the customer was in the
tier, `valid_to` the as-of date the next tier began (exclusive; null while current), `is_current`
marks the spell holding at the run's as-of date. Rebuilt from the profile snapshots up to D
(`gold.customer_profile`), so running any date again gives the same history, and a date run late
slots into place.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf
from jobs.gold.framework import AS_OF, GoldJob, read_gold_history


def snapshots(asof: AsOf) -> DataFrame:
    """(as_of_date, customer_id, tier, tier_rule) of every profile snapshot up to D."""
    profiles = read_gold_history(asof, "customer_profile")
    if profiles is None:
        raise LookupError(f"gold.customer_profile does not exist yet: run `habitlake gold --date {asof.date}`")
    return profiles.select(AS_OF, "customer_id", "tier", "tier_rule")


def spells(snaps: DataFrame) -> DataFrame:
    by_customer = Window.partitionBy("customer_id").orderBy(AS_OF)
    changed = F.coalesce(F.lag("tier").over(by_customer) != F.col("tier"), F.lit(True))
    numbered = snaps.withColumn("_spell", F.sum(changed.cast("int")).over(by_customer))
    grouped = numbered.groupBy("customer_id", "_spell").agg(
        F.min(AS_OF).alias("valid_from"),
        F.min_by("tier", F.col(AS_OF)).alias("tier"),
        F.min_by("tier_rule", F.col(AS_OF)).alias("tier_rule"),
        F.max(AS_OF).alias("last_seen"),
    )
    following = Window.partitionBy("customer_id").orderBy("valid_from")
    return grouped.select(
        "customer_id", "tier", "tier_rule", "valid_from",
        F.lead("valid_from").over(following).alias("valid_to"),
        "last_seen",
    ).withColumn("is_current", F.col("valid_to").isNull())


def build(asof: AsOf) -> DataFrame:
    return spells(snapshots(asof))


JOB = GoldJob(table="gold.customer_tier_history", build=build, write="replace", needs=("customer_profile",))
