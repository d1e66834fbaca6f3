"""Per-customer price sensitivity: a shrunk estimate of how strongly a customer responds to discount
depth, from the observations of `features.py`.

Two responses to a discount of depth d, each turned into a ratio estimate per customer:

- basket switching (`exposed_lines`): on a day with a discount on category P, a line lands in P with
  probability q + (1 - q) x r x d, q the customer's usual share of P (`base_share`) and r the
  customer's switching response. Weighted least squares through the origin of (in_promo - q) on
  (1 - q) x d gives r_hat = sum(in_promo - q) / sum((1 - q) x d); `switch_num`, `switch_den`.
- buying more often (`customer_days`): the chance of buying on a day is p0 x (1 + g x d), p0 the
  customer's rate on days without a discount (smoothed towards everyone's rate) and g their order
  response; g_hat = sum over discount days of (bought - p0) / sum(p0 x d); `order_num`, `order_den`.

Shrinkage (empirical Bayes with a fixed prior strength): a customer with little evidence is pulled
towards everyone's response, r = (num + m x r_all) / (den + m), with r_all = sum(num) / sum(den)
over the training customers and m = `prior_strength` (in units of the denominator: discounted lines
x depth, resp. expected purchases x depth). The fitted `SensitivityModel` keeps r_all, g_all and
the parameters: it is applied at any later date to that date's evidence (`scores`).

The score is the mean of the two shrunk responses, each divided by its all-customer value (1 = as
responsive as the average customer; 0 = no response), so neither response's units dominate. It is
not bounded below: a customer who buys less, or less of the promoted category, on discount days
than otherwise has a negative estimate, and shrinkage only pulls it towards 1. Bands are fixed cut
points of the score (`BANDS`); a negative score is `low`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

DEFAULT_PRIOR_STRENGTH = {"switch": 3.0, "order": 1.0}
BASE_RATE_PRIOR_DAYS = 10.0
# score cut points: below 0.5 -> low, below 1.5 -> medium, else high (1.0 = the average customer)
BANDS = (("low", 0.5), ("medium", 1.5), ("high", None))


@dataclass
class SensitivityModel:
    """Everyone's responses (the shrinkage targets) and the parameters; a plain Python object."""

    switch_all: float
    order_all: float
    prior_strength: dict = field(default_factory=lambda: dict(DEFAULT_PRIOR_STRENGTH))
    window_days: int = 180

    def as_dict(self) -> dict:
        return {"switch_all": self.switch_all, "order_all": self.order_all,
                "prior_switch": self.prior_strength["switch"], "prior_order": self.prior_strength["order"],
                "window_days": self.window_days}


def switch_evidence(lines: DataFrame) -> DataFrame:
    """Per customer: switch_num, switch_den, lines_exposed (from `features.exposed_lines`)."""
    return lines.groupBy("customer_id").agg(
        F.sum(F.col("in_promo") - F.col("base_share")).alias("switch_num"),
        F.sum((F.lit(1.0) - F.col("base_share")) * F.col("depth")).alias("switch_den"),
        F.count(F.lit(1)).alias("lines_exposed"),
    )


def order_evidence(days: DataFrame) -> DataFrame:
    """Per customer: order_num, order_den, days_observed, days_exposed (from `features.customer_days`)."""
    exposed = F.col("depth") > 0
    per = days.groupBy("customer_id").agg(
        F.count(F.lit(1)).alias("days_observed"),
        F.count(F.when(exposed, 1)).alias("days_exposed"),
        F.sum(F.when(~exposed, F.col("bought"))).alias("_bought_off"),
        F.count(F.when(~exposed, 1)).alias("_days_off"),
        F.sum(F.when(exposed, F.col("bought"))).alias("_bought_on"),
        F.sum(F.when(exposed, F.col("depth"))).alias("_depth_on"),
    )
    everyone = F.sum("_bought_off").over(_all()) / F.sum("_days_off").over(_all())
    p0 = ((F.coalesce("_bought_off", F.lit(0)) + F.lit(BASE_RATE_PRIOR_DAYS) * everyone)
          / (F.col("_days_off") + F.lit(BASE_RATE_PRIOR_DAYS)))
    return per.select(
        "customer_id", "days_observed", "days_exposed",
        (F.coalesce("_bought_on", F.lit(0)) - p0 * F.col("days_exposed")).alias("order_num"),
        (p0 * F.coalesce("_depth_on", F.lit(0.0))).alias("order_den"),
    )


def evidence(days: DataFrame, lines: DataFrame) -> DataFrame:
    """One row per customer of `days`: both evidences (0 when there is none) and n_observations
    (days observed + lines bought on discount days)."""
    return (
        order_evidence(days).join(switch_evidence(lines), "customer_id", how="left")
        .fillna(0, subset=["switch_num", "switch_den", "lines_exposed"])
        .withColumn("n_observations", (F.col("days_observed") + F.col("lines_exposed")).cast("long"))
    )


def _all() -> Window:
    return Window.partitionBy(F.lit(1))


def fit(train_evidence: DataFrame, prior_strength: dict | None = None, window_days: int = 180) -> SensitivityModel:
    """Everyone's responses from the training customers' evidence."""
    row = train_evidence.agg(F.sum("switch_num").alias("sn"), F.sum("switch_den").alias("sd"),
                             F.sum("order_num").alias("on"), F.sum("order_den").alias("od")).first()
    if not row["sd"]:
        raise ValueError("no line was bought on a discount day before the cutoff: nothing to learn from")
    order_all = float(row["on"]) / float(row["od"]) if row["od"] else 0.0
    return SensitivityModel(float(row["sn"]) / float(row["sd"]), order_all,
                            dict(prior_strength or DEFAULT_PRIOR_STRENGTH), window_days)


def band(score: F.Column) -> F.Column:
    out = None
    for name, upper in BANDS:
        if upper is None:
            out = out.otherwise(F.lit(name)) if out is not None else F.lit(name)
        else:
            cond = score < F.lit(upper)
            out = F.when(cond, F.lit(name)) if out is None else out.when(cond, F.lit(name))
    return out


def scores(model: SensitivityModel, ev: DataFrame) -> DataFrame:
    """customer_id, score, band, n_observations, switch_response, order_response (shrunk, relative
    to everyone's)."""
    m_s, m_o = model.prior_strength["switch"], model.prior_strength["order"]
    switch = (F.col("switch_num") + F.lit(m_s * model.switch_all)) / (F.col("switch_den") + F.lit(m_s))
    order = (F.col("order_num") + F.lit(m_o * model.order_all)) / (F.col("order_den") + F.lit(m_o))
    relative_switch = switch / F.lit(model.switch_all) if model.switch_all > 0 else F.lit(None).cast("double")
    relative_order = order / F.lit(model.order_all) if model.order_all > 0 else F.lit(None).cast("double")
    out = ev.select("customer_id", "n_observations", relative_switch.alias("switch_response"),
                    relative_order.alias("order_response"))
    # the mean of the responses that carry information (a response whose everyone-value is 0 or
    # negative says nothing about who responds more)
    score = F.coalesce((F.col("switch_response") + F.col("order_response")) / 2,
                       F.col("switch_response"), F.col("order_response"))
    return out.select("customer_id", score.cast("double").alias("score"), band(score).alias("band"),
                      "n_observations", F.col("switch_response").cast("double"), F.col("order_response").cast("double"))
