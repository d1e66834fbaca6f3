"""The churn model's entry points for models/runner.py: `SPEC`, `train_and_evaluate`, `score`.

Training (`habitlake train churn --date D`, ctx.cutoff = D): every row comes from data up to D. The
test cutoff is D - N (the latest cutoff whose N-day label window ends by D), the train cutoffs the
`n_train_cutoffs` cutoffs `step_days` apart before it (split.py states and checks the rule); each
cutoff's eligible customers get features as of that cutoff and the label of the N days after it.
Both models (GBT and logistic regression) are fitted on the stacked train cutoffs and judged on the
test cutoff; the better ROC AUC there is the returned model (ties: logistic regression, the simpler
one). Metrics without prefix are the chosen model's, `gbt_*` / `lr_*` each model's.

Scoring (`habitlake score --date D`): the eligible customers as of D, scored with the champion,
banded and explained (drivers.py) -> gold.churn_risk. Give scoring the same feature parameters as
training (active_days, history_days, half_life_days; the defaults match).

Parameters (ctx.params overrides DEFAULTS): horizon_days N (90), active_days (90), history_days
(365), half_life_days (21), observed_from (the first day of data; default: the first sale in the
facts), n_train_cutoffs (3), step_days (14), strict (False), train_cutoffs /
test_cutoff (explicit ISO dates, replacing the defaults), target_precision (0.7), band_cuts
([0.2, 0.5]), top_k drivers (3), and the classifiers' (train.ModelParams).
"""
from __future__ import annotations

import hashlib
import json
import time

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame

from models.churn import drivers, evaluate, features, label, split, train
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult

DEFAULTS = {
    "horizon_days": label.HORIZON_DAYS,
    "active_days": features.ACTIVE_DAYS,
    "history_days": features.HISTORY_DAYS,
    "half_life_days": features.HALF_LIFE_DAYS,
    "observed_from": None,
    "n_train_cutoffs": split.N_TRAIN,
    "step_days": split.STEP_DAYS,
    "strict": False,
    "train_cutoffs": None,
    "test_cutoff": None,
    "target_precision": evaluate.TARGET_PRECISION,
    "band_cuts": list(drivers.BAND_CUTS),
    "top_k": drivers.TOP_K,
    **train.ModelParams().as_dict(),
}
PRIMARY = "roc_auc"


def settings_of(params) -> dict:
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown churn parameter(s): {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    return {**DEFAULTS, **dict(params)}


def labelled_rows(facts: features.Facts, cutoff, p: dict) -> DataFrame:
    """Features as of `cutoff` joined to their labels: KEYS + FEATURES + label + next_order_days."""
    feats = features.customer_features(facts, cutoff, p["active_days"], p["history_days"], p["half_life_days"],
                                       p["observed_from"])
    labs = label.labels(facts.sales, feats, cutoff, p["horizon_days"])
    return feats.join(labs, list(features.KEYS), how="inner")


def build_rows(facts: features.Facts, train_cutoffs, test_cutoff, p: dict) -> tuple[DataFrame, DataFrame]:
    """(train rows of every train cutoff stacked, test rows), both persisted."""
    train_rows = None
    for cutoff in train_cutoffs:
        rows = labelled_rows(facts, cutoff, p)
        train_rows = rows if train_rows is None else train_rows.unionByName(rows)
    test_rows = labelled_rows(facts, test_cutoff, p)
    return (train_rows.persist(StorageLevel.MEMORY_AND_DISK), test_rows.persist(StorageLevel.MEMORY_AND_DISK))


def predictions(model, rows: DataFrame) -> pd.DataFrame:
    """customer_id, label, churn_score of `rows`, sorted by customer_id (collected: one row per
    customer of one cutoff)."""
    out = drivers.scores(model, rows).select("customer_id", label.LABEL, drivers.SCORE)
    return out.toPandas().sort_values("customer_id", kind="mergesort").reset_index(drop=True)


def fingerprint(test: pd.DataFrame, facts_of_split: dict, p: dict) -> str:
    payload = {"split": facts_of_split, "active_days": p["active_days"], "history_days": p["history_days"],
               "half_life_days": p["half_life_days"], "observed_from": str(p["observed_from"]),
               "rows": [[c, int(y)] for c, y in zip(test["customer_id"], test[label.LABEL])]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _cutoffs(ctx: TrainContext, p: dict):
    if p["train_cutoffs"] or p["test_cutoff"]:
        if not (p["train_cutoffs"] and p["test_cutoff"]):
            raise ValueError("give both train_cutoffs and test_cutoff, or neither")
        return [features.day(c) for c in p["train_cutoffs"]], features.day(p["test_cutoff"])
    return split.default_cutoffs(ctx.cutoff, p["horizon_days"], p["n_train_cutoffs"], p["step_days"], p["strict"])


def fit_and_compare(train_rows: DataFrame, test_rows: DataFrame, seed: int, p: dict) -> dict:
    """Fit both kinds on train_rows, evaluate each on test_rows: {kind: {model, seconds, test
    (predictions), metrics, calibration, importances}}."""
    model_params = train.ModelParams.from_params(p)
    out = {}
    for kind in train.KINDS:
        model, seconds = train.fit(train_rows, kind, seed, model_params)
        test = predictions(model, test_rows)
        y, s = test[label.LABEL].to_numpy(), test[drivers.SCORE].to_numpy()
        out[kind] = {"model": model, "seconds": seconds, "test": test,
                     "metrics": evaluate.metrics(y, s, p["target_precision"]),
                     "calibration": evaluate.calibration_table(y, s), "roc": evaluate.roc_curve(y, s),
                     "importances": train.feature_importances(model)}
    return out


def champion_of(results: dict) -> str:
    """The kind with the higher test ROC AUC (ties: lr)."""
    return max(sorted(results, reverse=True), key=lambda k: results[k]["metrics"][PRIMARY])


def train_and_evaluate(ctx: TrainContext) -> TrainResult:
    p = settings_of(ctx.params)
    from jobs.gold.asof import AsOf

    started = time.perf_counter()
    train_cutoffs, test_cutoff = _cutoffs(ctx, p)
    split_facts = split.check(train_cutoffs, test_cutoff, p["horizon_days"], ctx.cutoff, p["strict"])
    facts = features.facts_from(AsOf(ctx.spark, ctx.settings, ctx.cutoff))
    p["observed_from"] = p["observed_from"] or features.first_sale_day(facts)
    train_rows, test_rows = build_rows(facts, train_cutoffs, test_cutoff, p)
    counts = train_rows.groupBy().agg({"label": "sum", "*": "count"}).first()
    results = fit_and_compare(train_rows, test_rows, ctx.seed, p)
    best = champion_of(results)
    chosen = results[best]

    metrics = dict(chosen["metrics"])
    for kind, result in results.items():
        metrics.update({f"{kind}_{k}": v for k, v in result["metrics"].items()})
    metrics.update({"train_rows": float(counts["count(1)"]), "train_positives": float(counts["sum(label)"])})
    figures = {
        "roc_curve.png": evaluate.roc_figure({k: r["roc"] for k, r in results.items()},
                                             {k: r["metrics"]["roc_auc"] for k, r in results.items()}),
        "calibration.png": evaluate.calibration_figure({k: r["calibration"] for k, r in results.items()}),
        **{f"feature_importance_{k}.png": evaluate.importance_figure(r["importances"], f"Churn drivers ({k})")
           for k, r in results.items()},
    }
    tables = {
        "calibration.csv": pd.concat([r["calibration"].assign(model=k) for k, r in results.items()]),
        "feature_importances.csv": pd.DataFrame([{"model": k, "feature": f, "importance": v}
                                                 for k, r in results.items() for f, v in r["importances"].items()]),
        "timings.json": pd.DataFrame([{"model": k, "train_seconds": r["seconds"]} for k, r in results.items()]
                                     + [{"model": "total", "train_seconds": time.perf_counter() - started}]),
    }
    input_example = (test_rows.select(*features.FEATURES).limit(5).toPandas())

    def champion_metric(model) -> float:
        test = predictions(model, test_rows)
        return evaluate.roc_auc(test[label.LABEL].to_numpy(), test[drivers.SCORE].to_numpy())

    params = {**{k: v for k, v in p.items() if k not in ("train_cutoffs", "test_cutoff")}, **split_facts,
              "observed_from": str(p["observed_from"]), "band_cuts": list(p["band_cuts"]),
              "model_kind": best, "seed": ctx.seed, "data_end": features.day(ctx.cutoff).isoformat(),
              "features": list(features.FEATURES)}
    return TrainResult(model=chosen["model"], params=params, metrics=metrics, primary_metric=PRIMARY,
                       higher_is_better=True, flavor="spark", input_example=input_example, figures=figures,
                       tables=tables, eval_fingerprint=fingerprint(chosen["test"], split_facts, p),
                       champion_metric=champion_metric)


def score(ctx: ScoreContext, model) -> dict[str, DataFrame]:
    """gold.churn_risk as of ctx.asof.date for the eligible customers."""
    p = settings_of(ctx.params)
    facts = features.facts_from(ctx.asof)
    observed_from = p["observed_from"] or features.first_sale_day(facts)
    rows = features.customer_features(facts, ctx.asof.day, p["active_days"], p["history_days"], p["half_life_days"],
                                      observed_from)
    return {"gold.churn_risk": drivers.churn_risk(model, rows, ctx.asof.day, tuple(p["band_cuts"]), p["top_k"])}


SPEC = ModelSpec(
    name="churn",
    description="Churn risk: no purchase in the N days (default 90) after a cutoff; GBT vs logistic regression "
                "on features as of the cutoff, out-of-time test on a later cutoff; gold.churn_risk with "
                "score, risk band and drivers per customer.",
    train=train_and_evaluate,
    score=score,
    gold_tables=("gold.churn_risk",),
)
