"""Scores, risk bands and the main drivers of each customer's churn risk, and the rows of
gold.churn_risk.

Drivers: for each feature, how much the customer's margin (the model's log-odds, `rawPrediction[1]`)
drops when that one feature is set to the training population's mean (0 in the standardised vector
both pipelines feed their classifier):

    contribution_i = margin(x) - margin(x with feature i at the mean)

For logistic regression this is exactly coefficient_i x standardised value_i (the margin is linear).
For the gradient-boosted trees it is the same "what if this were average" question asked of the
trees, so the drivers of both models read alike. A positive contribution raises the customer's risk;
the drivers are the `top_k` largest positive ones (a customer whose every feature lowers the risk
has none). Cost: one extra prediction per customer and feature, in one Spark job.

Risk bands: `band_cuts` (ascending) cut the score into BANDS: with the default (0.2, 0.5), low <
0.2 <= medium < 0.5 <= high.

gold.churn_risk grain: one row per eligible customer (a sale in the 90 days up to the as-of date;
see features.py) per as-of date: as_of_date, customer_id, churn_score, risk_band, main_drivers
(the driver names, strongest first, comma-separated), drivers (array of struct feature, value (the
raw feature value), contribution).
"""
from __future__ import annotations

import datetime as dt

from pyspark.ml import PipelineModel
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.churn.features import FEATURES, day
from models.churn.train import RAW, SCALED

BANDS = ("low", "medium", "high")
BAND_CUTS = (0.2, 0.5)
TOP_K = 3
SCORE = "churn_score"
GOLD_COLUMNS = ("as_of_date", "customer_id", SCORE, "risk_band", "main_drivers", "drivers")


def _margin(column: str = "rawPrediction"):
    return vector_to_array(F.col(column)).getItem(1)


def scores(model: PipelineModel, rows: DataFrame) -> DataFrame:
    """rows + churn_score (the probability of class 1) + margin, features_raw and features."""
    return (model.transform(rows)
            .withColumn(SCORE, vector_to_array(F.col("probability")).getItem(1))
            .withColumn("margin", _margin()))


def risk_band(score, cuts: tuple[float, ...] = BAND_CUTS):
    """The band of a score column: BANDS[i] where i = how many cut points the score reaches."""
    if len(cuts) != len(BANDS) - 1 or list(cuts) != sorted(cuts) or not all(0.0 < c < 1.0 for c in cuts):
        raise ValueError(f"band_cuts must be {len(BANDS) - 1} ascending values in (0, 1), got {cuts}")
    band = F.lit(BANDS[0])
    for cut, name in zip(cuts, BANDS[1:]):
        band = F.when(score >= F.lit(float(cut)), F.lit(name)).otherwise(band)
    return band


def contributions(model: PipelineModel, scored: DataFrame, keys: tuple[str, ...] = ("customer_id",)) -> DataFrame:
    """keys + feature, value, contribution: one row per scored row and feature (see module docstring).
    `scored` is the output of `scores`."""
    classifier = model.stages[-1]
    n = len(FEATURES)
    names = F.array(*[F.lit(f) for f in FEATURES])
    base = scored.select(*keys, "margin", vector_to_array(F.col(SCALED)).alias("_z"),
                         vector_to_array(F.col(RAW)).alias("_x"))
    one_at_mean = (
        base.select(*keys, "margin", "_z", "_x", F.explode(F.sequence(F.lit(0), F.lit(n - 1))).alias("_i"))
        .withColumn(SCALED, array_to_vector(F.transform("_z", lambda v, j: F.when(j == F.col("_i"), 0.0)
                                                         .otherwise(v))))
    )
    return (classifier.transform(one_at_mean)
            .select(*keys,
                    F.element_at(names, F.col("_i") + 1).alias("feature"),
                    F.element_at("_x", F.col("_i") + 1).alias("value"),
                    (F.col("margin") - _margin()).alias("contribution")))


def top_drivers(contribs: DataFrame, top_k: int = TOP_K, keys: tuple[str, ...] = ("customer_id",)) -> DataFrame:
    """keys + drivers: the `top_k` largest positive contributions, strongest first (ties by name)."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    entry = F.struct(F.col("contribution"), F.col("feature"), F.col("value"))
    positive = contribs.filter(F.col("contribution") > F.lit(0.0))
    ranked = F.sort_array(F.collect_list(entry), asc=False)
    return (positive.groupBy(*keys).agg(F.slice(ranked, 1, top_k).alias("_top"))
            .select(*keys, F.transform("_top", lambda d: F.struct(
                d["feature"].alias("feature"), d["value"].alias("value"),
                d["contribution"].alias("contribution"))).alias("drivers")))


def churn_risk(model: PipelineModel, rows: DataFrame, as_of_date: str | dt.date,
               band_cuts: tuple[float, ...] = BAND_CUTS, top_k: int = TOP_K) -> DataFrame:
    """The rows of gold.churn_risk from the feature frame of `as_of_date` (features.customer_features)."""
    scored = scores(model, rows.select("customer_id", *FEATURES))
    drivers = top_drivers(contributions(model, scored), top_k)
    empty = F.array().cast("array<struct<feature:string,value:double,contribution:double>>")
    out = (scored.select("customer_id", SCORE).join(drivers, "customer_id", how="left")
           .withColumn("drivers", F.coalesce(F.col("drivers"), empty)))
    return out.select(
        F.lit(day(as_of_date)).alias("as_of_date"),
        F.col("customer_id").cast("string").alias("customer_id"),
        F.col(SCORE).cast("double").alias(SCORE),
        risk_band(F.col(SCORE), tuple(band_cuts)).alias("risk_band"),
        F.array_join(F.transform("drivers", lambda d: d["feature"]), ", ").alias("main_drivers"),
        F.col("drivers"),
    )
