"""The segmentation model as the runner sees it (`models/framework.py`): train, evaluate, score."""
from __future__ import annotations

import hashlib

import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame

from jobs.gold.asof import AsOf
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult
from models.segmentation import evaluate, features, gold, split
from models.segmentation import train as tr

DEFAULTS = {
    "k_min": tr.DEFAULT_K_RANGE[0],
    "k_max": tr.DEFAULT_K_RANGE[1],
    "min_orders": features.DEFAULT_MIN_ORDERS,
    "test_fraction": split.DEFAULT_TEST_FRACTION,
    "max_iter": tr.DEFAULT_MAX_ITER,
    "min_segment_share": tr.DEFAULT_MIN_SEGMENT_SHARE,
}
TABLES = ("gold.customer_segments", "gold.segment_profiles")


def params_of(ctx_params) -> dict:
    unknown = set(ctx_params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown segmentation parameters {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **ctx_params}
    return {"k_min": int(p["k_min"]), "k_max": int(p["k_max"]), "min_orders": int(p["min_orders"]),
            "test_fraction": float(p["test_fraction"]), "max_iter": int(p["max_iter"]),
            "min_segment_share": float(p["min_segment_share"])}


def categories_of(model: PipelineModel) -> list[str]:
    """The category_l1 list a model was trained with (from its feature columns)."""
    prefix = features.category_column("")
    return [c[len(prefix):] for c in tr.columns_of(model) if c.startswith(prefix)]


def fingerprint(cutoff, p: dict, seed: int, test: DataFrame) -> str:
    """Identifies the evaluation data: cutoff, split and the held-out customers."""
    ids = ",".join(r["customer_id"] for r in test.select("customer_id").orderBy("customer_id").collect())
    text = f"segmentation|{cutoff}|{p['min_orders']}|{p['test_fraction']}|{seed}|{ids}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def train_and_evaluate(ctx: TrainContext) -> TrainResult:
    """Features as of the cutoff -> customer split -> k by silhouette on the training customers ->
    metrics on the held-out customers (silhouette; ARI against the planted personas when the truth
    folder exists)."""
    p = params_of(ctx.params)
    spark = ctx.spark
    profile = features.profile_as_of(AsOf(spark, ctx.settings, ctx.cutoff)).cache()
    categories = features.categories_in(profile)
    columns = features.feature_columns(categories)
    rows = features.behaviour_features(profile, categories, p["min_orders"]).cache()
    train, test = split.customer_split(rows, p["test_fraction"], ctx.seed)
    fitted = tr.fit(train, columns, (p["k_min"], p["k_max"]), ctx.seed, p["max_iter"], p["min_segment_share"])
    personas = evaluate.read_personas(spark, ctx.settings.truth)
    metrics = evaluate.evaluate(fitted.model, test, personas)
    metrics.update({"k": float(fitted.k), "customers_train": float(train.count()),
                    "silhouette_train": {c[0]: c[1] for c in fitted.curve}[fitted.k]})
    named = gold.names(fitted.model)
    segments = pd.DataFrame([(seg, name, text) for seg, (name, text) in sorted(named.items())],
                            columns=["segment_id", "segment_name", "description"])
    curve = pd.DataFrame(fitted.curve, columns=["k", "silhouette_train", "smallest_segment_share"])
    test_rows = test.cache()

    def champion_metric(model: PipelineModel) -> float:
        held = features.behaviour_features(profile.join(test_rows.select("customer_id"), "customer_id", "semi"),
                                           categories_of(model), p["min_orders"])
        return evaluate.evaluate(model, held)["silhouette"]

    return TrainResult(
        model=fitted.model,
        params={**p, "seed": ctx.seed, "cutoff": str(ctx.cutoff), "k": fitted.k, "features": ",".join(columns)},
        metrics=metrics,
        primary_metric="silhouette",
        higher_is_better=True,
        flavor="spark",
        input_example=rows.drop("customer_id").limit(5).toPandas(),
        figures={"silhouette.png": tr.silhouette_figure(fitted.curve, fitted.k, p["min_segment_share"])},
        tables={"segments.csv": segments, "silhouette_curve.csv": curve},
        eval_fingerprint=fingerprint(ctx.cutoff, p, ctx.seed, test_rows),
        champion_metric=champion_metric,
    )


def score(ctx: ScoreContext, model: PipelineModel) -> dict[str, DataFrame]:
    """gold.customer_segments and gold.segment_profiles as of `ctx.asof.date`."""
    p = params_of(ctx.params)
    profile = features.profile_as_of(ctx.asof)
    rows = features.behaviour_features(profile, categories_of(model), p["min_orders"])
    segments = gold.customer_segments(model, rows).cache()
    return {"gold.customer_segments": segments, "gold.segment_profiles": gold.segment_profiles(model, segments)}


SPEC = ModelSpec(
    name="segmentation",
    description="K-means customer segments on standardised behaviour features, k by silhouette, named by rules",
    train=train_and_evaluate,
    score=score,
    gold_tables=TABLES,
)
