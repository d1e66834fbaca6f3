"""gold.tier_migration: the monthly tier migration matrix (how many moved from Gold to Silver ...).

Grain: one row per month x tier at the start of the month x tier at its end, with the number of
customers. A month's state is each customer's tier at the last profile snapshot taken in that month
(up to the as-of date); the start of a month is the state of the previous month with snapshots.
`(new)` is a customer who was not in the previous state, `(gone)` one no longer in the profile.
The first month with snapshots has no previous state and is not listed. Rebuilt whole on each run.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf
from jobs.gold.customer_tier_history import snapshots
from jobs.gold.framework import AS_OF, GoldJob

NEW, GONE = "(new)", "(gone)"


def migration(snaps: DataFrame) -> DataFrame:
    month = F.date_format(AS_OF, "yyyy-MM")
    last = snaps.groupBy(month.alias("month")).agg(F.max(AS_OF).alias(AS_OF))
    ordered = Window.orderBy("month")
    months = last.withColumn("prev_month", F.lag("month").over(ordered))
    states = snaps.join(last, AS_OF).select("month", "customer_id", "tier")
    pairs = months.filter(F.col("prev_month").isNotNull()).select("month", "prev_month")
    start = pairs.join(states.select(F.col("month").alias("prev_month"), "customer_id",
                                     F.col("tier").alias("from_tier")), "prev_month").drop("prev_month")
    end = pairs.join(states.select("month", "customer_id", F.col("tier").alias("to_tier")), "month") \
        .drop("prev_month")
    moved = start.join(end, ["month", "customer_id"], "full")
    return (moved.select("month", F.coalesce("from_tier", F.lit(NEW)).alias("from_tier"),
                         F.coalesce("to_tier", F.lit(GONE)).alias("to_tier"))
            .groupBy("month", "from_tier", "to_tier").agg(F.count("*").alias("customers")))


def build(asof: AsOf) -> DataFrame:
    return migration(snapshots(asof))


JOB = GoldJob(table="gold.tier_migration", build=build, write="replace", needs=("customer_profile",))
