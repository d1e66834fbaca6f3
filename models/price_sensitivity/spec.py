"""The price-sensitivity model as the runner sees it (`models/framework.py`)."""
from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult
from models.price_sensitivity import evaluate, features, split
from models.price_sensitivity import train as tr

DEFAULTS = {
    "window_days": features.DEFAULT_WINDOW_DAYS,
    "holdout_days": split.DEFAULT_HOLDOUT_DAYS,
    "prior_switch": tr.DEFAULT_PRIOR_STRENGTH["switch"],
    "prior_order": tr.DEFAULT_PRIOR_STRENGTH["order"],
    "min_observations": 30,
}
TABLE = "gold.price_sensitivity_scores"


def params_of(given) -> dict:
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown price_sensitivity parameters {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **given}
    return {"window_days": int(p["window_days"]), "holdout_days": int(p["holdout_days"]),
            "prior_switch": float(p["prior_switch"]), "prior_order": float(p["prior_order"]),
            "min_observations": int(p["min_observations"])}


def evidence_as_of(asof: AsOf, window_days: int) -> tuple[DataFrame, DataFrame]:
    """(evidence per customer, exposed lines) from silver as of the date."""
    days = features.customer_days(asof, window_days).cache()
    lines = features.exposed_lines(asof, days).cache()
    return tr.evidence(days, lines), lines


def score_rows(model: tr.SensitivityModel, asof: AsOf) -> DataFrame:
    """gold.price_sensitivity_scores rows as of the date: customer_id, score, band, n_observations."""
    ev, _ = evidence_as_of(asof, model.window_days)
    return tr.scores(model, ev).select("customer_id", "score", "band", "n_observations")


def train_and_evaluate(ctx: TrainContext) -> TrainResult:
    p = params_of(ctx.params)
    cutoff = ctx.cutoff if isinstance(ctx.cutoff, dt.date) else dt.date.fromisoformat(str(ctx.cutoff))
    t = split.train_end(cutoff, p["holdout_days"])
    ev_t, _ = evidence_as_of(AsOf(ctx.spark, ctx.settings, t), p["window_days"])
    ev_t = ev_t.cache()
    model = tr.fit(ev_t, {"switch": p["prior_switch"], "order": p["prior_order"]}, p["window_days"])
    scored_t = tr.scores(model, ev_t).cache()
    _, lines_c = evidence_as_of(AsOf(ctx.spark, ctx.settings, cutoff), p["window_days"])
    test_lines = split.after(lines_c, t).cache()
    metrics = evaluate.heldout(model, scored_t, test_lines)
    metrics["customers_scored"] = float(scored_t.count())
    truth = evaluate.read_truth(ctx.spark, ctx.settings.truth)
    if truth is not None:
        metrics.update(evaluate.against_truth(scored_t, truth, p["min_observations"]))
    metrics.update({"switch_all": model.switch_all, "order_all": model.order_all})
    bands = scored_t.groupBy("band").agg(F.count(F.lit(1)).alias("customers")).orderBy("band").toPandas()
    ids = ",".join(r["customer_id"] for r in test_lines.select("customer_id").distinct().orderBy("customer_id").collect())
    fingerprint = hashlib.sha256(f"price_sensitivity|{cutoff}|{t}|{p['window_days']}|{ids}".encode()).hexdigest()[:16]

    def champion_metric(other: tr.SensitivityModel) -> float:
        return evaluate.heldout(other, tr.scores(other, ev_t), test_lines).get("heldout_logloss", float("nan"))

    return TrainResult(
        model=model,
        params={**p, "cutoff": str(cutoff), "train_end": str(t), "seed": ctx.seed},
        metrics=metrics,
        primary_metric="heldout_logloss",
        higher_is_better=False,
        flavor="pyfunc",
        input_example=pd.DataFrame([model.as_dict()]),
        tables={"bands.csv": bands},
        eval_fingerprint=fingerprint,
        champion_metric=champion_metric,
    )


def score(ctx: ScoreContext, model: tr.SensitivityModel) -> dict[str, DataFrame]:
    return {TABLE: score_rows(model, ctx.asof)}


SPEC = ModelSpec(
    name="price_sensitivity",
    description="Per-customer response to discount depth (basket switching and order rate), shrunk towards everyone's",
    train=train_and_evaluate,
    score=score,
    gold_tables=(TABLE,),
)
