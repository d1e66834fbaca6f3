"""gold.habit_lifecycle: acquisition and first baskets, inter-purchase intervals and lifecycle stages, as of D.

Grain: one row per as-of date D x measure x period x dimension x value x bucket (a long table).
Columns: measure, period ('YYYY-MM' or null), dimension (`all` or the profile column grouped by),
value (its value, `all` for dimension `all`), bucket, bucket_index (sort order of the bucket within
its measure), count, share, avg_first_order_amount (new_customers only). Profile columns are
gold.customer_profile of D (null as `unknown`); purchases are completed sales (AsOf.sales,
AsOf.sale_lines).

- `new_customers`: period = month of the customer's first completed sale, for the last
  `habits.months` months up to D's month (conf/gold.yaml, default 12); dimension `all` and
  `acquisition_channel`; bucket `all`. count = customers whose first purchase fell in the month;
  share = count / all new customers of the month; avg_first_order_amount = their average
  first-order amount (total_amount).
- `first_basket_category`: the same customers, dimensions and values; bucket = a category_l1
  found in the first order (the earliest by local time, then order id; unknown products as `unknown`).
  count = new customers whose first order held the category; share = count / new customers of the
  value and month (a basket holds several categories, so shares add up to more than 1);
  bucket_index = rank by count (1 = the top category; ties by name).
- `interpurchase_interval`: the days between a customer's consecutive purchase days (distinct
  order dates, whole history up to D) where the later one falls in the habits window
  (`habits.window_days`, default 90); dimension `all` and `tier`; bucket = histogram bucket of
  `habits.interval_buckets` (default "1", "2-3", "4-7", "8-14", "15-30", "31-60", "61-90", "91+").
  count = intervals; share = of the value's intervals.
- `lifecycle_stage`: customers of the profile of D by lifecycle_stage (prospect, new, active,
  at_risk, churned: conf `lifecycle`, churned = no purchase for `churn_days`, default 90 days, i.e.
  three months); dimension `all`, `tier` and `region`; count = customers; share = of the value.
  At-risk counts are the churn warning.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold
from jobs.gold.habits import (ALL, UNKNOWN, by_dimension, dims, first_month, habit_conf, in_window,
                              interval_bucket, ratio, with_dims)

NEW_CUSTOMERS, FIRST_BASKET = "new_customers", "first_basket_category"
INTERVALS, STAGE = "interpurchase_interval", "lifecycle_stage"
STAGES = ("prospect", "new", "active", "at_risk", "churned")
COLUMNS = ("measure string, period string, dimension string, value string, bucket string, bucket_index int, "
           "count long, share double, avg_first_order_amount double")


def _shaped(df: DataFrame) -> DataFrame:
    types = [c.split(" ") for c in COLUMNS.split(", ")]
    return df.select(*[(F.col(n) if n in df.columns else F.lit(None)).cast(t).alias(n) for n, t in types])


def first_orders(sales: DataFrame, day: dt.date, months: int) -> DataFrame:
    """Per customer whose first completed sale is in the last `months` months: that order."""
    first = sales.groupBy("customer_id").agg(F.min_by(
        F.struct("order_id", "order_date", F.col("total_amount").cast("double").alias("amount")),
        F.struct("order_ts_local", "order_id")).alias("_f"))
    return (first.select("customer_id", "_f.*")
            .filter(F.col("order_date") >= F.lit(first_month(day, months)))
            .withColumn("period", F.date_format("order_date", "yyyy-MM")))


def acquisition(firsts: DataFrame, lines: DataFrame, profile: DataFrame) -> DataFrame:
    """`new_customers` and `first_basket_category` rows."""
    people = by_dimension(with_dims(firsts, dims(profile, "acquisition_channel"), "acquisition_channel"),
                          ["acquisition_channel"], value="value")
    group = ["period", "dimension", "value"]
    new = people.groupBy(*group).agg(F.count("*").alias("count"), F.avg("amount").alias("avg_first_order_amount"))
    new = new.select(*group, F.lit(NEW_CUSTOMERS).alias("measure"), F.lit(ALL).alias("bucket"),
                     F.lit(0).alias("bucket_index"), "count", "avg_first_order_amount",
                     ratio(F.col("count"), F.sum("count").over(Window.partitionBy("period", "dimension")))
                     .alias("share"))
    categories = (lines.select("order_id", F.coalesce("category_l1", F.lit(UNKNOWN)).alias("bucket"))
                  .distinct())
    basket = (people.join(categories, "order_id", "inner").groupBy(*group, "bucket")
              .agg(F.count("*").alias("count")))
    size = new.select(*group, F.col("count").alias("_new"))
    rank = F.row_number().over(Window.partitionBy(*group).orderBy(F.desc("count"), "bucket"))
    basket = basket.join(size, group, "inner").select(
        *group, F.lit(FIRST_BASKET).alias("measure"), "bucket", rank.alias("bucket_index"), "count",
        ratio(F.col("count"), F.col("_new")).alias("share"))
    return _shaped(new).unionByName(_shaped(basket))


def intervals(sales: DataFrame, profile: DataFrame, day: dt.date, window_days: int, edges: list[int]) -> DataFrame:
    """`interpurchase_interval` rows."""
    days = sales.select("customer_id", "order_date").distinct()
    gap = F.datediff("order_date", F.lag("order_date").over(Window.partitionBy("customer_id").orderBy("order_date")))
    gaps = (days.withColumn("_gap", gap)
            .filter(F.col("_gap").isNotNull() & in_window("order_date", day, window_days))
            .withColumn("_b", interval_bucket(F.col("_gap"), edges)))
    people = by_dimension(with_dims(gaps, dims(profile, "tier"), "tier"), ["tier"], value="value")
    counted = people.groupBy("dimension", "value", F.col("_b.label").alias("bucket"),
                             F.col("_b.index").alias("bucket_index")).agg(F.count("*").alias("count"))
    return _shaped(counted.select(
        "*", F.lit(INTERVALS).alias("measure"),
        ratio(F.col("count"), F.sum("count").over(Window.partitionBy("dimension", "value"))).alias("share")))


def stages(profile: DataFrame) -> DataFrame:
    """`lifecycle_stage` rows."""
    people = by_dimension(dims(profile, "tier", "region", "lifecycle_stage"), ["tier", "region"], value="value")
    order = F.create_map(*[F.lit(x) for i, s in enumerate(STAGES) for x in (s, i)])
    counted = people.groupBy("dimension", "value", F.col("lifecycle_stage").alias("bucket")).agg(
        F.count("*").alias("count"))
    return _shaped(counted.select(
        "*", F.lit(STAGE).alias("measure"),
        F.coalesce(F.element_at(order, F.col("bucket")), F.lit(len(STAGES))).alias("bucket_index"),
        ratio(F.col("count"), F.sum("count").over(Window.partitionBy("dimension", "value"))).alias("share")))


def transform(sales: DataFrame, lines: DataFrame, profile: DataFrame, day: dt.date, months: int,
              window_days: int, interval_edges: list[int]) -> DataFrame:
    """Rows of gold.habit_lifecycle. `sales`: completed sales cut at `day` (order_id, customer_id,
    order_date, order_ts_local, total_amount); `lines`: their lines (order_id, category_l1);
    `profile` of D (customer_id, acquisition_channel, tier, region, lifecycle_stage)."""
    return (acquisition(first_orders(sales, day, months), lines, profile)
            .unionByName(intervals(sales, profile, day, window_days, interval_edges))
            .unionByName(stages(profile)))


def build(asof: AsOf) -> DataFrame:
    h = habit_conf(config.load())
    profile = read_gold(asof, "customer_profile")
    sales = asof.sales().select("order_id", "customer_id", "order_date", "order_ts_local", "total_amount")
    lines = asof.sale_lines().select("order_id", "category_l1")
    return transform(sales, lines, profile, asof.day, h["months"], h["window_days"], list(h["interval_buckets"]))


JOB = GoldJob(table="gold.habit_lifecycle", build=build, needs=("customer_profile",))
