"""gold.campaign_results: A/B effect of every coupon campaign, per tier and arm, as of D.

Grain: one row per as-of date D x campaign x tier x arm (A = got the coupon, B = control), for
every campaign with at least one send known at D (silver.campaign_sends cut at D). `tier` is a tier
of conf/tiers (as in gold.customer_profile), `unknown` for a sent customer without a profile, and
`all` for the rollup over every tier of the campaign.

Definitions
- campaign window: from silver.promotions joined on campaign_id (`window_source = promotion`):
  the earliest start_date to the latest end_date of the campaign's promotions (one in practice).
  A campaign with no promotion row known at D (`window_source = sends`) uses the day of its first
  send and the `campaign.conversion_window_days` days from it, send day included. Note: promotions
  are only known at D once they have started (jobs/gold/asof.py), so a campaign sent before its
  promotion starts is measured on the send window until the promotion starts.
- is_complete: the window ended on or before D. Campaigns still running are included with
  is_complete = false; their conversions so far are counted (orders up to D only).
- sent: customers of the arm who were sent the campaign (one send per campaign x customer).
- converted: sent customers who placed at least one order that is not a return (paid, delivered
  or refunded; cancelled orders never reach silver) with order_date in the window, as the data
  generator defines conversion (any purchase in the window, coupon used or not).
  conversion_rate = converted / sent.
- tier: the customer's tier in the gold.customer_profile slice of the window's first day when the
  customer is in that slice, else in the slice of D, else `unknown`. (A slice after D is never read.)

A vs B comparison, per campaign x tier (repeated on the tier's A and B rows, so filter arm = 'A'
for one row per comparison; null when an arm has no sends):
- sent_a, sent_b, conversion_a, conversion_b; diff = conversion_a - conversion_b (absolute uplift);
  relative_uplift = diff / conversion_b (null when conversion_b = 0).
- diff_ci_low / diff_ci_high: Wald interval for a difference of two proportions,
  diff +- z * sqrt(pa(1-pa)/na + pb(1-pb)/nb), z the (1 + confidence)/2 normal quantile
  (conf `campaign.confidence`, kept in the `confidence` column).
- z_score, p_value: two-sided two-proportion z-test with the pooled proportion
  p = (xa + xb) / (na + nb): z = diff / sqrt(p(1-p)(1/na + 1/nb)), p_value = erfc(|z| / sqrt 2).
  When p is 0 or 1 (nobody or everybody converted) z is null and p_value = 1.
  is_significant: p_value < 1 - confidence.
- srm_chi2, srm_p_value, srm_flag: sample-ratio mismatch, chi-square goodness of fit (1 degree of
  freedom) of (sent_a, sent_b) against the intended split (conf `campaign.split_a`, default 0.5 =
  50/50 as the generator assigns arms): chi2 = sum (observed - expected)^2 / expected,
  p = erfc(sqrt(chi2 / 2)); srm_flag when p < `campaign.srm_alpha` (an untrustworthy split).
Statistics use the Python standard library (math.erfc, statistics.NormalDist): exact, no scipy.
"""
from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import AS_OF, GoldJob, read_gold_history

ALL, UNKNOWN = "all", "unknown"
PROMOTION_COLUMNS = ("promo_id string, campaign_id string, name string, promo_type string, "
                     "discount_depth decimal(4,3), start_date date, end_date date")  # what is read of silver.promotions
DEFAULT_SPLIT_A = 0.5

STATS = T.StructType([
    T.StructField("diff", T.DoubleType()),
    T.StructField("diff_ci_low", T.DoubleType()),
    T.StructField("diff_ci_high", T.DoubleType()),
    T.StructField("relative_uplift", T.DoubleType()),
    T.StructField("z_score", T.DoubleType()),
    T.StructField("p_value", T.DoubleType()),
    T.StructField("srm_chi2", T.DoubleType()),
    T.StructField("srm_p_value", T.DoubleType()),
])


# --- statistics (pure Python) ----------------------------------------------------------------

def z_quantile(confidence: float) -> float:
    """The two-sided normal critical value for a confidence level (1.959963984540054 for 0.95)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence!r} must be strictly between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def srm_test(n_a: int, n_b: int, split_a: float = DEFAULT_SPLIT_A) -> tuple[float | None, float | None]:
    """(chi2, p-value) of the chi-square goodness-of-fit test of the arm counts against the split."""
    n = n_a + n_b
    if n == 0:
        return None, None
    e_a, e_b = n * split_a, n * (1 - split_a)
    chi2 = (n_a - e_a) ** 2 / e_a + (n_b - e_b) ** 2 / e_b
    return chi2, math.erfc(math.sqrt(chi2 / 2))


def ab_test(n_a: int, x_a: int, n_b: int, x_b: int, confidence: float = 0.95,
            split_a: float = DEFAULT_SPLIT_A) -> dict:
    """A vs B: difference of conversion, its Wald interval, pooled two-proportion z-test, and SRM."""
    chi2, srm_p = srm_test(n_a or 0, n_b or 0, split_a)
    out = dict.fromkeys(STATS.fieldNames())
    out.update(srm_chi2=chi2, srm_p_value=srm_p)
    if not n_a or not n_b:
        return out
    p_a, p_b = x_a / n_a, x_b / n_b
    diff = p_a - p_b
    half = z_quantile(confidence) * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = diff / se0 if se0 > 0 else None
    out.update(diff=diff, diff_ci_low=diff - half, diff_ci_high=diff + half,
               relative_uplift=diff / p_b if p_b > 0 else None, z_score=z,
               p_value=math.erfc(abs(z) / math.sqrt(2)) if z is not None else 1.0)
    return out


def ab_stats_column(n_a, x_a, n_b, x_b, confidence: float, split_a: float):
    """`ab_test` as a struct column (a Python UDF: Spark SQL has no erfc; rows here are few)."""
    def stats(na, xa, nb, xb):
        return ab_test(na, xa, nb, xb, confidence, split_a)

    return F.udf(stats, STATS)(n_a, x_a, n_b, x_b)


# --- shared inputs ---------------------------------------------------------------------------

def campaign_conf(conf: dict) -> dict:
    """conf/gold.yaml `campaign`, checked: confidence, srm_alpha, split_a in (0, 1), window >= 1 day."""
    c = conf["campaign"]
    out = {"confidence": float(c["confidence"]), "srm_alpha": float(c["srm_alpha"]),
           "window_days": int(c["conversion_window_days"]), "split_a": float(c.get("split_a", DEFAULT_SPLIT_A))}
    for key in ("confidence", "srm_alpha", "split_a"):
        if not 0 < out[key] < 1:
            raise ValueError(f"conf/gold.yaml campaign.{key} = {out[key]!r}: must be strictly between 0 and 1")
    if out["window_days"] < 1:
        raise ValueError(f"conf/gold.yaml campaign.conversion_window_days = {out['window_days']!r}: must be >= 1")
    return out


def campaign_windows(sends: DataFrame, promotions: DataFrame | None, window_days: int) -> DataFrame:
    """One row per campaign with sends: its window, where the window came from, and its promotion."""
    by_send = sends.groupBy("campaign_id").agg(F.min(F.to_date("sent_ts_local")).alias("_first_send"))
    if promotions is None:
        promotions = sends.sparkSession.createDataFrame([], PROMOTION_COLUMNS)
    promos = (promotions.filter(F.col("campaign_id").isNotNull()).groupBy("campaign_id").agg(
        F.min("promo_id").alias("promo_id"),
        F.min_by("name", "promo_id").alias("campaign_name"),
        F.min_by("promo_type", "promo_id").alias("promo_type"),
        F.min_by("discount_depth", "promo_id").alias("discount_depth"),
        F.min("start_date").alias("_start"),
        F.max("end_date").alias("_end")))
    has_promo = F.col("_start").isNotNull()
    return by_send.join(promos, on="campaign_id", how="left").select(
        "campaign_id", "promo_id", "campaign_name", "promo_type", "discount_depth",
        F.when(has_promo, F.col("_start")).otherwise(F.col("_first_send")).alias("window_start"),
        F.when(has_promo, F.col("_end")).otherwise(F.date_add("_first_send", window_days - 1)).alias("window_end"),
        F.when(has_promo, F.lit("promotion")).otherwise(F.lit("sends")).alias("window_source"),
    )


def profile_history(asof: AsOf, dates: list[dt.date] | None = None) -> DataFrame | None:
    """gold.customer_profile slices (as_of_date, customer_id, tier) up to D, optionally only the
    given dates (partition pruning); None when the table does not exist."""
    df = read_gold_history(asof, "customer_profile")
    if df is None:
        return None
    if dates is not None:
        df = df.filter(F.col(AS_OF).isin(sorted(set(dates) | {asof.day})))
    return df.select(AS_OF, "customer_id", "tier")


def tier_at(rows: DataFrame, start_col: str, profiles: DataFrame | None, as_of: dt.date) -> DataFrame:
    """`rows` (with customer_id and a date column) plus `tier`: the customer's tier in the profile
    slice of that date, else in the slice of `as_of`, else `unknown`."""
    if profiles is None:
        return rows.withColumn("tier", F.lit(UNKNOWN))
    at_start = profiles.select(F.col(AS_OF).alias("_ts"), F.col("customer_id").alias("_cid"),
                               F.col("tier").alias("_tier_start"))
    at_day = profiles.filter(F.col(AS_OF) == F.lit(as_of)).select("customer_id", F.col("tier").alias("_tier_day"))
    return (rows.join(at_start, (F.col("customer_id") == F.col("_cid")) & (F.col(start_col) == F.col("_ts")),
                      how="left")
            .drop("_cid", "_ts")
            .join(at_day, on="customer_id", how="left")
            .withColumn("tier", F.coalesce("_tier_start", "_tier_day", F.lit(UNKNOWN)))
            .drop("_tier_start", "_tier_day"))


# --- transform -------------------------------------------------------------------------------

def converted_sends(sends: DataFrame, windows: DataFrame, orders: DataFrame, profiles: DataFrame | None,
                    as_of: dt.date) -> DataFrame:
    """One row per send (campaign, customer, arm, coupon_value, tier) with `_converted` 0 / 1."""
    sent = (sends.select("campaign_id", "customer_id", "arm", "coupon_value")
            .join(windows.select("campaign_id", "window_start", "window_end"), on="campaign_id", how="inner"))
    sent = tier_at(sent, "window_start", profiles, as_of)
    bought = orders.filter(~F.col("is_return")).select("customer_id", F.col("order_date").alias("_day")).distinct()
    in_window = ((F.col("s.customer_id") == F.col("o.customer_id"))
                 & F.col("o._day").between(F.col("s.window_start"), F.col("s.window_end")))
    converted = (sent.alias("s").join(bought.alias("o"), on=in_window, how="left_semi")
                 .select("campaign_id", "customer_id", F.lit(1).alias("_converted")))
    return (sent.join(converted, on=["campaign_id", "customer_id"], how="left")
            .withColumn("_converted", F.coalesce("_converted", F.lit(0))))


def compare_arms(arms: DataFrame, confidence: float, split_a: float) -> DataFrame:
    """Per campaign x tier: the A vs B figures of `ab_test` from the per-arm counts."""
    def arm(name: str, col: str) -> Column:
        return F.max(F.when(F.col("arm") == name, F.col(col)))

    pairs = arms.groupBy("campaign_id", "tier").agg(
        arm("A", "sent").alias("_sent_a"), arm("A", "converted").alias("_conv_a"),
        arm("B", "sent").alias("_sent_b"), arm("B", "converted").alias("_conv_b"))
    stats = ab_stats_column(F.col("_sent_a"), F.col("_conv_a"), F.col("_sent_b"), F.col("_conv_b"), confidence,
                            split_a)
    return pairs.withColumn("_s", stats).select(
        "campaign_id", "tier",
        F.coalesce("_sent_a", F.lit(0)).cast("long").alias("sent_a"),
        F.coalesce("_sent_b", F.lit(0)).cast("long").alias("sent_b"),
        (F.col("_conv_a") / F.col("_sent_a")).alias("conversion_a"),
        (F.col("_conv_b") / F.col("_sent_b")).alias("conversion_b"),
        "_s.*")


def transform(sends: DataFrame, promotions: DataFrame | None, orders: DataFrame, profiles: DataFrame | None,
              as_of: dt.date, conf: dict) -> DataFrame:
    """Rows of gold.campaign_results from silver frames already cut at `as_of` and profile slices
    up to `as_of` (as_of_date, customer_id, tier)."""
    cc = campaign_conf(conf)
    windows = campaign_windows(sends, promotions, cc["window_days"])
    per_send = (converted_sends(sends, windows, orders, profiles, as_of)
                .withColumn("tier", F.explode(F.array("tier", F.lit(ALL)))))
    arms = per_send.groupBy("campaign_id", "tier", "arm").agg(
        F.count(F.lit(1)).alias("sent"),
        F.sum("_converted").cast("long").alias("converted"),
        F.max("coupon_value").alias("coupon_value"))
    pairs = compare_arms(arms, cc["confidence"], cc["split_a"])
    return (arms.join(pairs, on=["campaign_id", "tier"], how="inner")
            .join(windows, on="campaign_id", how="inner")
            .select(
                "campaign_id", "promo_id", "campaign_name", "promo_type", "discount_depth",
                "window_start", "window_end", "window_source",
                (F.col("window_end") <= F.lit(as_of)).alias("is_complete"),
                "tier", "arm", "sent", "converted",
                (F.col("converted") / F.col("sent")).alias("conversion_rate"), "coupon_value",
                "sent_a", "sent_b", "conversion_a", "conversion_b", "diff", "diff_ci_low", "diff_ci_high",
                "relative_uplift", "z_score", "p_value",
                (F.col("p_value") < F.lit(1 - cc["confidence"])).alias("is_significant"),
                F.lit(cc["confidence"]).alias("confidence"),
                "srm_chi2", "srm_p_value",
                (F.col("srm_p_value") < F.lit(cc["srm_alpha"])).alias("srm_flag")))


def build(asof: AsOf) -> DataFrame:
    conf = config.load()
    sends, promotions = asof.table("campaign_sends"), asof.optional("promotions")
    starts = [r[0] for r in campaign_windows(sends, promotions, campaign_conf(conf)["window_days"])
              .select("window_start").distinct().collect()]
    return transform(sends, promotions, asof.table("orders"), profile_history(asof, starts), asof.day, conf)


JOB = GoldJob(table="gold.campaign_results", build=build, needs=("customer_profile",))
