"""Observations for the price-sensitivity model: what discount each customer was offered on each day,
and what they did, from silver as of a cutoff.

Exposure. A discount or bundle promotion (silver.promotions; coupons are A/B campaigns measured in
gold.campaign_results, not here) cuts the prices of one category_l1 for its target tier (`all`, or
one tier) from start_date to end_date. A customer is exposed on a day to the deepest promotion
running that day that they were eligible for; its depth is the day's `depth` (0 when none) and its
category the day's `promo_l1`.

Eligibility is learned from the sales, not from a hand-written table (the tier names of promotions
and the member levels of the CRM are different vocabularies): for each (target_tier, member_level),
the share of sale lines of the promoted category, bought inside the promotion's window by customers
of that level, that carried a line discount. Levels whose share is at least
`ELIGIBLE_DISCOUNT_SHARE` are eligible for promotions of that target tier; `all` is everyone. The
member level is the one valid at the cutoff.

Two observation tables, both only from data up to the cutoff:

- `customer_days` (grain: customer x day, from the later of signup and the window start to the
  cutoff): customer_id, day, depth, promo_l1, bought (1 if a completed sale that day). The order rate
  of a price-sensitive customer rises with the depth on offer.
- `exposed_lines` (grain: sale line bought on a day with depth > 0): customer_id, day, depth,
  in_promo (1 if the line is of the promoted category), base_share (the customer's share of that
  category among their lines bought on days when that category was not on promotion for them,
  smoothed towards everyone's share with `SHARE_PRIOR_LINES` pseudo-lines). A price-sensitive
  customer moves basket lines into the promoted category.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf

PROMO_TYPES = ("discount", "bundle")
ALL_TIERS = "all"
ELIGIBLE_DISCOUNT_SHARE = 0.5
SHARE_PRIOR_LINES = 5.0
DEFAULT_WINDOW_DAYS = 180


def promotions(asof: AsOf) -> DataFrame:
    """Discount and bundle promotions known by the cutoff: promo_id, depth, promo_l1, target_tier,
    start_date, end_date (cut at the cutoff)."""
    return (
        asof.table("promotions").filter(F.col("promo_type").isin(*PROMO_TYPES))
        .select("promo_id", F.col("discount_depth").cast("double").alias("depth"),
                F.col("category_l1").alias("promo_l1"), "target_tier", "start_date",
                F.least(F.col("end_date"), asof.date_lit).alias("end_date"))
    )


def sale_lines(asof: AsOf) -> DataFrame:
    """customer_id, day, category_l1, discounted (line discount > 0) of completed sales."""
    return asof.sale_lines().select(
        "customer_id", F.col("order_date").alias("day"), "category_l1",
        (F.coalesce(F.col("discount_amount"), F.lit(0)) > 0).alias("discounted"))


def levels(asof: AsOf) -> DataFrame:
    """customer_id, member_level (valid at the cutoff), first_day (signup date)."""
    return asof.customers().select("customer_id", "member_level", F.col("signup_date").alias("first_day"))


def eligibility(promos: DataFrame, lines: DataFrame, customer_levels: DataFrame) -> DataFrame:
    """target_tier, member_level, discount_share, eligible: which levels a target tier reaches."""
    in_window = (
        lines.join(customer_levels.select("customer_id", "member_level"), "customer_id", how="inner")
        .join(promos.filter(F.col("target_tier") != ALL_TIERS),
              (F.col("category_l1") == F.col("promo_l1")) & F.col("day").between(F.col("start_date"), F.col("end_date")),
              how="inner")
    )
    shares = in_window.groupBy("target_tier", "member_level").agg(
        F.avg(F.col("discounted").cast("double")).alias("discount_share"))
    return shares.withColumn("eligible", F.col("discount_share") >= F.lit(ELIGIBLE_DISCOUNT_SHARE))


def customer_promos(promos: DataFrame, customer_levels: DataFrame, eligible: DataFrame) -> DataFrame:
    """customer_id x promo_id pairs of eligible customers, with the promotion's columns."""
    ok = eligible.filter("eligible").select("target_tier", "member_level")
    tiered = (promos.filter(F.col("target_tier") != ALL_TIERS).join(ok, "target_tier", how="inner")
              .join(customer_levels, "member_level", how="inner").drop("member_level"))
    everyone = promos.filter(F.col("target_tier") == ALL_TIERS).crossJoin(customer_levels).drop("member_level")
    return tiered.unionByName(everyone)


def customer_days(asof: AsOf, window_days: int = DEFAULT_WINDOW_DAYS) -> DataFrame:
    """One row per customer x day from the later of signup and the window start to the cutoff."""
    lines, customer_levels, promos = sale_lines(asof), levels(asof), promotions(asof)
    start = F.date_sub(asof.date_lit, window_days - 1)
    spine = (customer_levels.select("customer_id", F.greatest(F.col("first_day"), start).alias("_from"))
             .filter(F.col("_from") <= asof.date_lit)
             .select("customer_id", F.explode(F.sequence("_from", asof.date_lit)).alias("day")))
    offered = (
        customer_promos(promos, customer_levels, eligibility(promos, lines, customer_levels))
        .select("customer_id", "promo_id", "depth", "promo_l1",
                F.explode(F.sequence("start_date", "end_date")).alias("day"))
    )
    deepest = Window.partitionBy("customer_id", "day").orderBy(F.desc("depth"), "promo_id")
    best = (offered.withColumn("_n", F.row_number().over(deepest)).filter(F.col("_n") == 1)
            .select("customer_id", "day", "depth", "promo_l1"))
    bought = lines.select("customer_id", "day").distinct().withColumn("bought", F.lit(1))
    return (
        spine.join(best, ["customer_id", "day"], how="left")
        .join(bought, ["customer_id", "day"], how="left")
        .select("customer_id", "day", F.coalesce("depth", F.lit(0.0)).alias("depth"), "promo_l1",
                F.coalesce("bought", F.lit(0)).cast("int").alias("bought"))
    )


def exposed_lines(asof: AsOf, days: DataFrame) -> DataFrame:
    """One row per sale line bought on a day with a discount on offer (`days` from `customer_days`):
    customer_id, day, depth, in_promo, base_share."""
    lines = sale_lines(asof).join(days.select("customer_id", "day", "depth", "promo_l1"),
                                  ["customer_id", "day"], how="inner")
    promoted_that_day = F.coalesce(F.col("promo_l1") == F.col("category_l1"), F.lit(False))
    total = lines.groupBy("customer_id").agg(F.count(F.lit(1)).alias("_lines"))
    # lines of each customer on days when category c was on promotion for them
    on_promo = (lines.filter(F.col("promo_l1").isNotNull())
                .groupBy("customer_id", F.col("promo_l1").alias("category_l1")).agg(F.count(F.lit(1)).alias("_on")))
    # lines of category c on the other days
    off_promo = (lines.filter(~promoted_that_day)
                 .groupBy("customer_id", "category_l1").agg(F.count(F.lit(1)).alias("_n")))
    everyone = (lines.filter(~promoted_that_day).groupBy("category_l1").agg(F.count(F.lit(1)).alias("_c"))
                .select("category_l1", (F.col("_c") / F.sum("_c").over(Window.partitionBy(F.lit(1)))).alias("_pop")))
    base = (
        lines.filter(F.col("depth") > 0).select("customer_id", F.col("promo_l1").alias("category_l1")).distinct()
        .join(total, "customer_id", how="inner")
        .join(on_promo, ["customer_id", "category_l1"], how="left")
        .join(off_promo, ["customer_id", "category_l1"], how="left")
        .join(F.broadcast(everyone), "category_l1", how="left")
        .select("customer_id", F.col("category_l1").alias("promo_l1"),
                ((F.coalesce("_n", F.lit(0)) + F.lit(SHARE_PRIOR_LINES) * F.coalesce("_pop", F.lit(0.0)))
                 / (F.col("_lines") - F.coalesce("_on", F.lit(0)) + F.lit(SHARE_PRIOR_LINES))).alias("base_share"))
    )
    return (
        lines.filter(F.col("depth") > 0)
        .join(base, ["customer_id", "promo_l1"], how="left")
        .select("customer_id", "day", "depth", promoted_that_day.cast("int").alias("in_promo"),
                F.col("base_share").cast("double").alias("base_share"))
    )
