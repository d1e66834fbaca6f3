"""gold.promotion_uplift: how promotions of each discount depth worked, as of D.

Grain: one row per as-of date D x discount-depth bucket of conf/gold.yaml `discount_buckets`
(edges [0.0, 0.1, 0.2, ...]: bucket i holds depths in [edge_i, edge_i+1), the last bucket includes
its upper edge). Every bucket has a row, with zero counts and null measures when no promotion fell
in it. `depth_bucket` is a sortable label ("00-10%", "10-20%", ..., "40-100%"), with depth_min /
depth_max the numeric edges. Only promotions whose window ended on or before D are measured.

Discount and bundle promotions (silver.promotions, promo_type discount | bundle):
- target customers: every customer for target_tier `all`, else the customers whose tier
  (gold.customer_profile, case-insensitive) is the target tier, the tier taken as in
  gold.campaign_results: the profile slice of the promotion's start date, else of D.
- promo_sales_per_day: completed sales (AsOf.sale_lines: line_amount of sales, not returns or
  refunds) of the promoted category_l1 (product version valid at D) by target customers, summed
  over the promotion's start..end dates and divided by its number of days.
- baseline_sales_per_day: the same sales over the `baseline_days` days before the start date
  (conf `uplift.baseline_days`, default 14), divided by baseline_days. Other promotions running in
  the baseline window are not removed. A promotion whose baseline window starts before the first
  sale in the data has no baseline and is counted in discount_promotions_no_baseline only.
- uplift_ratio (per promotion) = promo_sales_per_day / baseline_sales_per_day (null when the
  baseline is 0). Per bucket: discount_promotions (with a baseline), promo_sales_per_day and
  baseline_sales_per_day summed over them, uplift_ratio = the ratio of those sums (pooled: bigger
  categories weigh more), mean_uplift_ratio = the mean of the promotions' ratios (where defined).

Coupon campaigns (gold.campaign_results, tier `all`, is_complete, with a promotion's depth: the
coupon's face value / threshold): the campaigns' sends pooled per bucket: coupon_campaigns,
coupon_sent_a, coupon_converted_a, coupon_sent_b, coupon_converted_b, coupon_conversion_a / _b,
coupon_diff = coupon_conversion_a - coupon_conversion_b with coupon_diff_ci_low / _high and
coupon_p_value exactly as in gold.campaign_results (Wald interval, pooled two-proportion z-test).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.campaign_results import ALL, ab_stats_column, campaign_conf, profile_history, tier_at
from jobs.gold.framework import GoldJob, read_gold

DEFAULT_BASELINE_DAYS = 14
DISCOUNT_TYPES = ("discount", "bundle")


def buckets(edges: list[float]) -> list[tuple[int, str, float, float]]:
    """(index, label, lower edge, upper edge) of each discount-depth bucket."""
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"discount_buckets {edges!r}: need at least two ascending edges")
    return [(i, f"{round(lo * 100):02d}-{round(hi * 100):02d}%", float(lo), float(hi))
            for i, (lo, hi) in enumerate(zip(edges, edges[1:]))]


def bucket_frame(spark: SparkSession, edges: list[float]) -> DataFrame:
    return spark.createDataFrame(buckets(edges), "bucket_index int, depth_bucket string, depth_min double, "
                                                 "depth_max double")


def with_bucket(df: DataFrame, edges: list[float]) -> DataFrame:
    """`bucket_index` of the `discount_depth` column (null outside the edges)."""
    depth = F.col("discount_depth").cast("double")
    index = F.lit(None).cast("int")
    last = len(edges) - 2
    for i, _, lo, hi in reversed(buckets(edges)):
        inside = (depth >= lo) & ((depth <= hi) if i == last else (depth < hi))
        index = F.when(inside, F.lit(i)).otherwise(index)
    return df.withColumn("bucket_index", index)


def discount_uplift(promotions: DataFrame, lines: DataFrame, profiles: DataFrame | None, as_of: dt.date,
                    baseline_days: int) -> DataFrame:
    """One row per ended discount / bundle promotion: its sales per day and baseline per day."""
    promos = promotions.filter(F.col("promo_type").isin(*DISCOUNT_TYPES) & (F.col("end_date") <= F.lit(as_of)))
    promos = promos.select("promo_id", "discount_depth", F.lower("category_l1").alias("category_l1"),
                           F.lower("target_tier").alias("target_tier"), "start_date", "end_date",
                           F.date_sub("start_date", baseline_days).alias("baseline_start"))
    first_sale = lines.agg(F.min("order_date").alias("first_sale"))
    sales = lines.select("customer_id", "order_date", F.lower("category_l1").alias("category_l1"),
                         F.col("line_amount").cast("double").alias("amount"))
    # each sale of the promoted category in the baseline or promotion window, kept when its customer
    # was in the target tier at the promotion's start
    joined = (promos.join(sales, on="category_l1", how="inner")
              .filter(F.col("order_date").between(F.col("baseline_start"), F.col("end_date"))))
    joined = tier_at(joined, "start_date", profiles, as_of).filter(
        (F.col("target_tier") == F.lit(ALL)) | (F.lower("tier") == F.col("target_tier")))
    in_promo = F.col("order_date") >= F.col("start_date")
    totals = joined.groupBy("promo_id").agg(
        F.sum(F.when(in_promo, F.col("amount")).otherwise(0.0)).alias("_promo_sales"),
        F.sum(F.when(~in_promo, F.col("amount")).otherwise(0.0)).alias("_base_sales"))
    days = F.datediff("end_date", "start_date") + 1
    out = (promos.join(totals, on="promo_id", how="left").crossJoin(first_sale).select(
        "promo_id", "discount_depth",
        (F.coalesce("_promo_sales", F.lit(0.0)) / days).alias("promo_sales_per_day"),
        F.when(F.col("baseline_start") >= F.col("first_sale"),
               F.coalesce("_base_sales", F.lit(0.0)) / F.lit(baseline_days)).alias("baseline_sales_per_day")))
    return out.withColumn("uplift_ratio", F.when(F.col("baseline_sales_per_day") > 0,
                                                 F.col("promo_sales_per_day") / F.col("baseline_sales_per_day")))


def transform(spark: SparkSession, promotions: DataFrame, lines: DataFrame, profiles: DataFrame | None,
              campaign_results: DataFrame | None, as_of: dt.date, conf: dict) -> DataFrame:
    """Rows of gold.promotion_uplift. `promotions` and `lines` (customer_id, order_date,
    category_l1, line_amount of completed sales) are cut at `as_of`; `profiles` are the
    customer_profile slices up to `as_of`; `campaign_results` is its slice at `as_of` (or None)."""
    edges = list(conf["discount_buckets"])
    baseline_days = int(conf.get("uplift", {}).get("baseline_days", DEFAULT_BASELINE_DAYS))
    cc = campaign_conf(conf)

    per_promo = with_bucket(discount_uplift(promotions, lines, profiles, as_of, baseline_days), edges)
    has_base = F.col("baseline_sales_per_day").isNotNull()
    discount = per_promo.groupBy("bucket_index").agg(
        F.count(F.when(has_base, F.lit(1))).alias("discount_promotions"),
        F.count(F.when(~has_base, F.lit(1))).alias("discount_promotions_no_baseline"),
        F.sum(F.when(has_base, F.col("promo_sales_per_day"))).alias("promo_sales_per_day"),
        F.sum("baseline_sales_per_day").alias("baseline_sales_per_day"),
        F.avg("uplift_ratio").alias("mean_uplift_ratio"))

    coupon_cols = ("coupon_campaigns", "coupon_sent_a", "coupon_converted_a", "coupon_sent_b", "coupon_converted_b")
    if campaign_results is None:
        coupon = spark.createDataFrame([], "bucket_index int, " + ", ".join(f"{c} long" for c in coupon_cols))
    else:
        done = (campaign_results.filter((F.col("tier") == F.lit(ALL)) & F.col("is_complete")
                                        & F.col("discount_depth").isNotNull())
                .groupBy("campaign_id", "discount_depth").agg(
                    F.sum(F.when(F.col("arm") == "A", F.col("sent"))).alias("_sa"),
                    F.sum(F.when(F.col("arm") == "A", F.col("converted"))).alias("_ca"),
                    F.sum(F.when(F.col("arm") == "B", F.col("sent"))).alias("_sb"),
                    F.sum(F.when(F.col("arm") == "B", F.col("converted"))).alias("_cb")))
        coupon = with_bucket(done, edges).groupBy("bucket_index").agg(
            F.count(F.lit(1)).alias("coupon_campaigns"),
            *[F.coalesce(F.sum(src), F.lit(0)).cast("long").alias(c)
              for src, c in zip(("_sa", "_ca", "_sb", "_cb"), coupon_cols[1:])])

    rows = (bucket_frame(spark, edges).join(discount, on="bucket_index", how="left")
            .join(coupon, on="bucket_index", how="left")
            .fillna(0, subset=["discount_promotions", "discount_promotions_no_baseline", *coupon_cols]))
    conv_a = F.col("coupon_converted_a") / F.when(F.col("coupon_sent_a") > 0, F.col("coupon_sent_a"))
    conv_b = F.col("coupon_converted_b") / F.when(F.col("coupon_sent_b") > 0, F.col("coupon_sent_b"))
    stats = ab_stats_column(F.col("coupon_sent_a"), F.col("coupon_converted_a"), F.col("coupon_sent_b"),
                            F.col("coupon_converted_b"), cc["confidence"], cc["split_a"])
    return rows.withColumn("_s", stats).select(
        "depth_bucket", "bucket_index", "depth_min", "depth_max",
        "discount_promotions", "discount_promotions_no_baseline", "promo_sales_per_day", "baseline_sales_per_day",
        (F.col("promo_sales_per_day") / F.when(F.col("baseline_sales_per_day") > 0, F.col("baseline_sales_per_day"))
         ).alias("uplift_ratio"),
        "mean_uplift_ratio",
        *coupon_cols, conv_a.alias("coupon_conversion_a"), conv_b.alias("coupon_conversion_b"),
        F.col("_s.diff").alias("coupon_diff"), F.col("_s.diff_ci_low").alias("coupon_diff_ci_low"),
        F.col("_s.diff_ci_high").alias("coupon_diff_ci_high"), F.col("_s.p_value").alias("coupon_p_value"),
    )


def build(asof: AsOf) -> DataFrame:
    conf = config.load()
    promotions = asof.table("promotions")
    lines = asof.sale_lines().select("customer_id", "order_date", "category_l1", "line_amount")
    starts = [r[0] for r in promotions.filter(F.col("promo_type").isin(*DISCOUNT_TYPES))
              .select("start_date").distinct().collect()]
    return transform(asof.spark, promotions, lines, profile_history(asof, starts),
                     read_gold(asof, "campaign_results", required=False), asof.day, conf)


JOB = GoldJob(table="gold.promotion_uplift", build=build, needs=("customer_profile", "campaign_results"))
