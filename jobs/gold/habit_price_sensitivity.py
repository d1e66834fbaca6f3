"""gold.habit_price_sensitivity: how customers respond to price, by discount depth and tier, as of D.

Grain: one row per as-of date D x measure x tier x bucket (a long table; every row has the counts
behind its value so a reader can judge it). tier: the customer's tier in gold.customer_profile of
D (null as `unknown`), and `all`. Columns: measure, tier, bucket, promotions, numerator,
denominator, value.

Promotion response (bucket = discount depth bucket of conf/gold.yaml `discount_buckets`, labelled as
in gold.promotion_uplift: "00-10%", "10-20%", ...; the last bucket includes its upper edge):
- promotions: discount and bundle promotions (silver.promotions, which AsOf cuts to those started
  by D) still running at some point of the habits window (end_date on or after its first day;
  conf `habits.window_days`, default 90). Coupon campaigns are measured against their A/B control
  group in gold.campaign_results and gold.promotion_uplift, not here.
- eligible customers of a promotion: target_tier `all` -> every customer, else the customers whose
  profile tier (case-insensitive) is the target tier, in both cases known by the start of the
  baseline (the earlier of signup_date and first_order_date on or before it, or unknown).
- promotion period: start_date .. the earlier of end_date and D; baseline: the same number of days
  just before start_date. A customer converts in a period with a completed sale (AsOf.sale_lines)
  of the promoted category_l1 (any category for `all`) dated inside it.
- measures: `promo_conversion` (numerator = eligible customer x promotion pairs that converted in
  the promotion period, denominator = eligible pairs, value = numerator / denominator),
  `baseline_conversion` (the same pairs, converted in the baseline), `conversion_lift` (value =
  promo_conversion - baseline_conversion; numerator null, denominator = eligible pairs).
  promotions = the number of promotions pooled in the row.

Price comparison (bucket `all`, promotions null), over the customers of gold.habit_price_comparison
of D (denominator): `price_comparer_share` (is_price_comparer), `multi_platform_share`
(multi_platform_products >= 1), `cheaper_after_views_share` (cheaper_purchases >= 1).

The accepted price band per customer and category is gold.habit_price_band.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold
from jobs.gold.habits import ALL, cube, depth_bucket, dims, habit_conf, ratio, window_start, with_dims

DISCOUNT_TYPES = ("discount", "bundle")
PROMO_CONVERSION, BASELINE_CONVERSION, CONVERSION_LIFT = "promo_conversion", "baseline_conversion", "conversion_lift"
# measure -> the gold.habit_price_comparison condition it counts (SQL, built into a Column when used)
COMPARISON_MEASURES = {
    "price_comparer_share": "is_price_comparer",
    "multi_platform_share": "multi_platform_products > 0",
    "cheaper_after_views_share": "cheaper_purchases > 0",
}
COLUMNS = ("measure string, tier string, bucket string, promotions long, numerator long, denominator long, "
           "value double")


def promotion_pairs(promotions: DataFrame, profile: DataFrame, day: dt.date, window_days: int,
                    edges: list[float]) -> DataFrame:
    """One row per discount / bundle promotion x eligible customer, with the promotion's periods."""
    promos = promotions.filter(F.col("promo_type").isin(*DISCOUNT_TYPES)
                               & (F.col("end_date") >= F.lit(window_start(day, window_days))))
    observed_end = F.least(F.col("end_date"), F.lit(day))
    length = F.datediff(observed_end, F.col("start_date")) + 1
    promos = promos.select(
        "promo_id", F.lower("category_l1").alias("_category"), F.lower("target_tier").alias("_target"),
        depth_bucket(F.col("discount_depth"), edges).alias("bucket"),
        "start_date", observed_end.alias("_end"), F.date_sub(F.col("start_date"), length).alias("_base_start"))
    people = profile.select("customer_id", F.coalesce(F.col("tier"), F.lit("unknown")).alias("tier"),
                            F.least(F.col("signup_date"), F.col("first_order_date")).alias("_joined"))
    eligible = ((F.col("_target") == F.lit(ALL)) | (F.lower("tier") == F.col("_target"))) & (
        F.col("_joined").isNull() | (F.col("_joined") <= F.col("_base_start")))
    return promos.crossJoin(people).filter(eligible)


def conversions(pairs: DataFrame, lines: DataFrame) -> DataFrame:
    """The pairs with `_in_promo` / `_in_base`: whether the customer bought the promoted category
    in the promotion period / the baseline."""
    buys = lines.select("customer_id", "order_date", F.lower("category_l1").alias("_bought")).distinct()
    matches = (pairs.select("promo_id", "customer_id", "_category", "start_date", "_end", "_base_start")
               .join(buys, "customer_id", "inner")
               .filter(((F.col("_category") == F.lit(ALL)) | (F.col("_bought") == F.col("_category")))
                       & F.col("order_date").between(F.col("_base_start"), F.col("_end")))
               .groupBy("promo_id", "customer_id")
               .agg(F.max(F.col("order_date") >= F.col("start_date")).alias("_in_promo"),
                    F.max(F.col("order_date") < F.col("start_date")).alias("_in_base")))
    return (pairs.join(matches, ["promo_id", "customer_id"], "left")
            .fillna(False, subset=["_in_promo", "_in_base"]))


def promotion_rows(pairs: DataFrame) -> DataFrame:
    grouped = cube(pairs, "tier").groupBy("tier", "bucket").agg(
        F.count_distinct("promo_id").alias("promotions"),
        F.count("*").alias("pairs"),
        F.count(F.when(F.col("_in_promo"), 1)).alias("promo"),
        F.count(F.when(F.col("_in_base"), 1)).alias("base"))
    promo_rate, base_rate = ratio("promo", "pairs"), ratio("base", "pairs")
    measures = F.array(
        F.struct(F.lit(PROMO_CONVERSION).alias("measure"), F.col("promo").cast("long").alias("numerator"),
                 promo_rate.alias("value")),
        F.struct(F.lit(BASELINE_CONVERSION).alias("measure"), F.col("base").cast("long").alias("numerator"),
                 base_rate.alias("value")),
        F.struct(F.lit(CONVERSION_LIFT).alias("measure"), F.lit(None).cast("long").alias("numerator"),
                 (promo_rate - base_rate).alias("value")))
    return grouped.select("tier", "bucket", "promotions", F.col("pairs").alias("denominator"), F.inline(measures))


def comparison_rows(comparison: DataFrame, profile: DataFrame) -> DataFrame:
    people = cube(with_dims(comparison, dims(profile, "tier"), "tier"), "tier")
    grouped = people.groupBy("tier").agg(
        F.count("*").alias("denominator"),
        *[F.count(F.when(F.expr(flag), 1)).alias(name) for name, flag in COMPARISON_MEASURES.items()])
    measures = F.array(*[F.struct(F.lit(name).alias("measure"), F.col(name).cast("long").alias("numerator"))
                         for name in COMPARISON_MEASURES])
    return (grouped.select("tier", "denominator", F.inline(measures))
            .select("*", F.lit(ALL).alias("bucket"), F.lit(None).cast("long").alias("promotions"),
                    ratio("numerator", "denominator").alias("value")))


def transform(promotions: DataFrame, lines: DataFrame, profile: DataFrame, comparison: DataFrame | None,
              day: dt.date, window_days: int, edges: list[float]) -> DataFrame:
    """Rows of gold.habit_price_sensitivity. `promotions`, `lines` (completed-sale lines: customer_id,
    order_date, category_l1) cut at `day`; `profile` of D (customer_id, tier, signup_date,
    first_order_date); `comparison`: gold.habit_price_comparison of D, or None."""
    pairs = conversions(promotion_pairs(promotions, profile, day, window_days, edges), lines)
    parts = [promotion_rows(pairs)]
    if comparison is not None:
        parts.append(comparison_rows(comparison, profile))
    names = [c.split(" ")[0] for c in COLUMNS.split(", ")]
    out = parts[0].select(*names)
    for part in parts[1:]:
        out = out.unionByName(part.select(*names))
    types = dict(c.split(" ") for c in COLUMNS.split(", "))
    return out.select(*[F.col(n).cast(types[n]).alias(n) for n in names])


def build(asof: AsOf) -> DataFrame:
    conf = config.load()
    h = habit_conf(conf)
    profile = read_gold(asof, "customer_profile")
    comparison = read_gold(asof, "habit_price_comparison", required=False)
    lines = asof.sale_lines().select("customer_id", "order_date", "category_l1")
    return transform(asof.table("promotions"), lines, profile, comparison, asof.day, h["window_days"],
                     list(conf["discount_buckets"]))


JOB = GoldJob(table="gold.habit_price_sensitivity", build=build,
              needs=("customer_profile", "habit_price_comparison"))
