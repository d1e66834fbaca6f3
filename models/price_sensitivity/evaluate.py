"""Evaluation of the sensitivity scores.

Held out in time (`split.py`): the model and every customer's evidence use data up to T = cutoff -
holdout_days; the lines bought on discount days after T (up to the cutoff) are the test. Each such
line is predicted to land in the promoted category with p = q + (1 - q) x clip(r x d), r the
customer's shrunk switching response at T (absolute, not relative). Metrics:

- `heldout_logloss`: mean log-loss of those predictions (lower is better; the primary metric);
- `heldout_logloss_pooled`: the same with everyone's response r_all for every customer: the
  personal scores must beat it to be worth anything;
- `heldout_lines`: lines in the test;
- `spearman_truth` (generated data only): Spearman rank correlation between the score at the cutoff
  and the planted per-customer sensitivity (truth/customers.csv `price_sensitivity`), over the
  customers with at least `min_observations` observations; `customers_compared`.
"""
from __future__ import annotations

import math

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from habitlake import fs
from models.price_sensitivity.train import SensitivityModel

EPS = 1e-6
TRUTH_FILE = "customers.csv"


def predicted(lines: DataFrame, response: F.Column) -> F.Column:
    p = F.col("base_share") + (F.lit(1.0) - F.col("base_share")) * F.least(F.lit(1.0), F.greatest(
        F.lit(0.0), response * F.col("depth")))
    return F.least(F.lit(1.0 - EPS), F.greatest(F.lit(EPS), p))


def logloss(p: F.Column) -> F.Column:
    return -(F.col("in_promo") * F.log(p) + (F.lit(1) - F.col("in_promo")) * F.log(F.lit(1.0) - p))


def heldout(model: SensitivityModel, scored_at_t: DataFrame, test_lines: DataFrame) -> dict[str, float]:
    """Log-loss of the test lines with personal and with pooled switching responses."""
    absolute = F.col("switch_response") * F.lit(model.switch_all)
    joined = test_lines.join(scored_at_t.select("customer_id", absolute.alias("_r")), "customer_id", how="left")
    personal = F.coalesce(F.col("_r"), F.lit(model.switch_all))
    row = joined.agg(F.avg(logloss(predicted(joined, personal))).alias("personal"),
                     F.avg(logloss(predicted(joined, F.lit(model.switch_all)))).alias("pooled"),
                     F.count(F.lit(1)).alias("n")).first()
    if not row["n"]:
        return {"heldout_lines": 0.0}
    return {"heldout_logloss": float(row["personal"]), "heldout_logloss_pooled": float(row["pooled"]),
            "heldout_lines": float(row["n"])}


def read_truth(spark: SparkSession, truth_dir: str) -> DataFrame | None:
    """customer_id, truth (planted price sensitivity), or None without a truth folder."""
    if not any(f.path.endswith(f"/{TRUTH_FILE}") for f in fs.list_files(spark, truth_dir)):
        return None
    raw = spark.read.csv(f"{truth_dir.rstrip('/')}/{TRUTH_FILE}", header=True)
    if "price_sensitivity" not in raw.columns:
        return None
    return raw.select(F.col("customer_id").cast("string"), F.col("price_sensitivity").cast("double").alias("truth"))


def spearman(pairs: list[tuple[float, float]]) -> float:
    """Spearman rank correlation (average ranks for ties) of (x, y) pairs."""
    from scipy.stats import spearmanr

    if len(pairs) < 3:
        return float("nan")
    value = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
    return float(value) if not math.isnan(value) else float("nan")


def against_truth(scored: DataFrame, truth: DataFrame, min_observations: int = 1) -> dict[str, float]:
    rows = (scored.filter(F.col("n_observations") >= min_observations).join(truth, "customer_id", how="inner")
            .select("score", "truth").collect())
    pairs = [(r["score"], r["truth"]) for r in rows if r["score"] is not None and r["truth"] is not None]
    return {"spearman_truth": spearman(pairs), "customers_compared": float(len(pairs))}
