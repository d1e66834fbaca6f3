"""The demand model's entry points for models/runner.py: `SPEC`, `train_and_evaluate`, `score`.

Training (`habitlake train demand --date D`, ctx.cutoff = D): a rolling-origin backtest of
`n_folds` folds whose cutoffs are `step_days` apart, the last test window ending on D; each fold
builds its features from silver as of its own cutoff, fits the gradient-boosted model and forecasts
the next `horizon` days recursively, scored against the seasonal-naive baseline (same weekday last
week) with WAPE and bias, overall and on holiday periods (models/demand/evaluate.py). The returned
model is then fitted on every day up to D. Primary metric: `wape` (overall, series x day; lower is
better). `champion_metric` refits the champion's configuration on the same folds (kept in memory),
so challenger and champion are compared on the same evaluation data.

Scoring (`habitlake score --date D`): features as of D, the next `horizon` days per product x region
(`gold.demand_forecast`, tier 'all', plus one row per buyer tier: the total split by each tier's
share of the last `tier_window_days` days), and per warehouse x product the replenishment
suggestion against the latest stock on hand and the product's shelf life (`gold.replenishment`,
models/demand/forecast.py states the arithmetic).

Model (parameter `model`): "gbt" (default) fits the gradient-boosted trees (models/demand/train.py);
"lstm" runs the same backtest with the LSTM (models/demand/lstm.py, the optional torch extra) and
ships it; "compare" runs the GBT backtest, refits the LSTM on exactly its folds (same test windows,
actuals, seasonal-naive baseline, holiday periods: evaluate.rescore_result), logs both metric sets
side by side (gbt_wape, gbt_bias, gbt_holiday_wape, ..., lstm_wape, lstm_bias, lstm_holiday_wape,
..., gbt_train_seconds, lstm_train_seconds, shipped_lstm), and fits and ships the one with the lower
overall WAPE (param `model` names it, `model_mode` says "compare"); the unprefixed metrics are the
shipped model's. A champion of either kind is refitted on the challenger's folds (`refit_on`).
On the 600-customer test retailer (4 folds a week apart up to 2025-05-30, series x day) the GBT
ships by default: WAPE 1.258 (bias -0.061, holiday periods 1.215) against the LSTM's 1.264 (bias
-0.021, holiday 1.253) and seasonal naive's 1.467 (holiday 1.413); `python -m bench.train_demand
--home ROOT --model compare` prints the table (README, models section).

Parameters (ctx.params overrides DEFAULTS): model ("gbt"), n_folds (4), step_days (7), horizon (14), the feature
spec's (train_days, holiday_cap_days, holiday_before, holiday_after, ly_smoothing), the GBT's
(train.GBTParams), holiday_pre_days (14), tier_window_days (56) and the replenishment's
(forecast.ReplenishmentParams: lead_time_days, review_days, service_level, sd_window_days,
share_window_days) and the LSTM's as lstm_<field> (lstm.LSTMParams: lstm_lookback, lstm_hidden,
lstm_epochs, lstm_patience, ...).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from models.demand import evaluate, split
from models.demand import features as feat
from models.demand import lstm as lstm_mod
from models.demand import forecast as fc
from models.demand import train as tr
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult

log = logging.getLogger(__name__)
FEATURE_PARAMS = ("train_days", "holiday_cap_days", "holiday_before", "holiday_after", "ly_smoothing")
REPLENISHMENT_PARAMS = tuple(fc.ReplenishmentParams.__dataclass_fields__)
MODELS = ("gbt", "lstm", "compare")
LSTM_PREFIX = "lstm_"
DEFAULTS = {
    "model": "gbt",
    "n_folds": 4,
    "step_days": 7,
    "horizon": 14,
    "holiday_pre_days": 14,
    "tier_window_days": 56,
    **{k: v for k, v in feat.FeatureSpec().as_dict().items() if k in FEATURE_PARAMS},
    **{k: v for k, v in tr.GBTParams().as_dict().items() if k != "seed"},
    **fc.ReplenishmentParams().as_dict(),
    **{LSTM_PREFIX + k: v for k, v in lstm_mod.LSTMParams().as_dict().items() if k not in ("seed", "horizon")},
}
PRIMARY = "wape"

FORECAST_SCHEMA = T.StructType([
    T.StructField("date", T.DateType()), T.StructField("horizon_days", T.IntegerType()),
    T.StructField("product_id", T.StringType()), T.StructField("region", T.StringType()),
    T.StructField("tier", T.StringType()), T.StructField("category_l1", T.StringType()),
    T.StructField("category_l2", T.StringType()), T.StructField("forecast_qty", T.DoubleType()),
    T.StructField("baseline_qty", T.DoubleType()), T.StructField("method", T.StringType()),
])


def settings_of(params) -> dict:
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown demand parameter(s): {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **dict(params)}
    if out["model"] not in MODELS:
        raise ValueError(f"demand parameter model must be one of {', '.join(MODELS)}, got {out['model']!r}")
    return out


def feature_spec(p: dict) -> feat.FeatureSpec:
    return feat.FeatureSpec(horizon=int(p["horizon"]), **{k: p[k] for k in FEATURE_PARAMS})


def gbt_params(p: dict, seed: int) -> tr.GBTParams:
    return tr.GBTParams.from_params({**p, "seed": seed})


def lstm_params(p: dict, seed: int) -> lstm_mod.LSTMParams:
    return replace(lstm_mod.LSTMParams.from_params(p, prefix=LSTM_PREFIX), horizon=int(p["horizon"]), seed=seed)


def fit_lstm_fold(params: lstm_mod.LSTMParams, spec: feat.FeatureSpec):
    """fit_fold for evaluate.backtest / rescore: the LSTM on a fold's frame up to its cutoff."""
    def fit_fold(data: evaluate.FoldData):
        return lstm_mod.fit(data.frame, data.keys, data.fold.cutoff, params, spec.as_dict())
    return fit_fold


def refit_on(model, data: evaluate.FoldData):
    """Another model's configuration (the champion's: GBT or LSTM) fitted on a kept fold."""
    if hasattr(model, "refit_fold"):
        return model.refit_fold(data)
    return model.refit(evaluate.training_rows(data))


def pick(gbt_wape: float | None, lstm_wape: float | None) -> str:
    """The model `compare` ships: the lower overall backtest WAPE; the GBT on a tie or when a WAPE
    is missing."""
    if gbt_wape is None or lstm_wape is None:
        return "gbt"
    return "lstm" if lstm_wape < gbt_wape else "gbt"


def prefixed(result: evaluate.BacktestResult, prefix: str, train_seconds: float) -> dict[str, float]:
    """One model's headline metrics (wape, bias, holiday_wape, ..., at coarser grains too) with a
    prefix (gbt_, lstm_), for logging both models of `compare` side by side."""
    m = result.metrics
    out = {f"{prefix}{k}": v for k, v in headline(m).items() if "baseline" not in k}
    for level in ("product_day", "category_l2_day"):
        for name in ("wape", "bias"):
            if m["levels"][level].get(name) is not None:
                out[f"{prefix}{level}_{name}"] = float(m["levels"][level][name])
    for fold in m["folds"]:
        if fold.get("wape") is not None:
            out[f"{prefix}fold{fold['fold']}_wape"] = float(fold["wape"])
    out[f"{prefix}train_seconds"] = round(train_seconds, 2)
    return out

# --- figures and tables ----------------------------------------------------------------------------

def backtest_figure(predictions: pd.DataFrame, label: str = "GBT", other: pd.DataFrame | None = None,
                    other_label: str = ""):
    """Total units per day of each fold's test window: actual, the model's forecast (and another
    model's on the same folds), seasonal naive."""
    from matplotlib.figure import Figure

    daily = predictions.groupby(["fold", "date"], as_index=False)[
        [evaluate.ACTUAL, evaluate.FORECAST, evaluate.BASELINE]].sum()
    folds = sorted(daily["fold"].unique())
    fig = Figure(figsize=(10, 2.6 * len(folds)))
    axes = fig.subplots(len(folds), 1, squeeze=False)[:, 0]
    for ax, fold in zip(axes, folds):
        rows = daily[daily["fold"] == fold].sort_values("date")
        ax.plot(rows["date"], rows[evaluate.ACTUAL], color="black", marker="o", ms=3, label="actual")
        ax.plot(rows["date"], rows[evaluate.FORECAST], color="tab:blue", label=f"{label} forecast")
        if other is not None:
            theirs = other.groupby(["fold", "date"], as_index=False)[evaluate.FORECAST].sum()
            theirs = theirs[theirs["fold"] == fold].sort_values("date")
            ax.plot(theirs["date"], theirs[evaluate.FORECAST], color="tab:green", ls=":",
                    label=f"{other_label} forecast")
        ax.plot(rows["date"], rows[evaluate.BASELINE], color="tab:orange", ls="--", label="same weekday last week")
        cutoff = predictions.loc[predictions["fold"] == fold, "cutoff"].iloc[0]
        ax.set_title(f"fold {fold}: cutoff {cutoff}", fontsize=9)
        ax.set_ylabel("units / day")
        ax.tick_params(axis="x", labelsize=7)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def daily_by_category(predictions: pd.DataFrame) -> pd.DataFrame:
    """fold, date, category_l2, is_holiday_period, actual / forecast / baseline units summed."""
    return (predictions.groupby(["fold", "date", "category_l2", "is_holiday_period"], as_index=False)
            [[evaluate.ACTUAL, evaluate.FORECAST, evaluate.BASELINE]].sum())


def permutation_importances(model, rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """feature, importance: how much the WAPE of the last fold's forecast rows (features as the
    recursive forecast saw them, actual units as labels: held-out data) rises when the feature's
    values are shuffled; largest first."""
    actual = rows[evaluate.ACTUAL].to_numpy()
    total = actual.sum()
    if total <= 0:
        return pd.DataFrame({"feature": model.columns, "importance": 0.0})
    base = np.abs(model.predict(rows) - actual).sum() / total
    rng = np.random.default_rng(seed)
    out = []
    for column in model.columns:
        shuffled = rows.copy()
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
        out.append((column, float(np.abs(model.predict(shuffled) - actual).sum() / total - base)))
    return pd.DataFrame(out, columns=["feature", "importance"]).sort_values(
        "importance", ascending=False, kind="mergesort").reset_index(drop=True)


def importance_figure(importances: pd.DataFrame):
    from matplotlib.figure import Figure

    top = importances.head(20).iloc[::-1]
    fig = Figure(figsize=(7, 0.3 * len(top) + 1.2))
    ax = fig.subplots()
    ax.barh(top["feature"], top["importance"], color="tab:blue")
    ax.set_xlabel("WAPE increase when shuffled (last backtest fold)")
    fig.tight_layout()
    return fig


# --- train -----------------------------------------------------------------------------------------

def headline(metrics: dict) -> dict[str, float]:
    """The metrics a reader looks at first: overall and holiday WAPE / bias of model and baseline."""
    out = {}
    for section, prefix in (("overall", ""), ("holiday", "holiday_"), ("non_holiday", "non_holiday_")):
        m = metrics[section]
        for name in ("wape", "bias", "baseline_wape", "baseline_bias"):
            if m.get(name) is not None:
                out[f"{prefix}{name}"] = float(m[name])
    if out.get("wape") is not None and out.get("baseline_wape"):
        out["wape_vs_baseline"] = out["wape"] / out["baseline_wape"]
    return out


def train_and_evaluate(ctx: TrainContext) -> TrainResult:
    from jobs.gold.asof import AsOf

    p = settings_of(ctx.params)
    mode = p["model"]
    started = time.perf_counter()
    spec, params, net_params = feature_spec(p), gbt_params(p, ctx.seed), lstm_params(p, ctx.seed)
    asof = AsOf(ctx.spark, ctx.settings, ctx.cutoff)
    folds = split.rolling_origin(ctx.cutoff, int(p["n_folds"]), int(p["horizon"]), int(p["step_days"]))
    fit_fold = fit_lstm_fold(net_params, spec) if mode == "lstm" else None
    result = evaluate.backtest(asof, folds, spec, params, int(p["holiday_pre_days"]), fit_fold=fit_fold)
    backtest_seconds = time.perf_counter() - started

    shipped, gbt_result, compared = ("lstm" if mode == "lstm" else "gbt"), None, {}
    if mode == "compare":  # the LSTM on exactly the GBT backtest's folds, actuals and baseline
        gbt_result = result
        lstm_started = time.perf_counter()
        lstm_result = evaluate.rescore_result(gbt_result, fit_lstm_fold(net_params, spec))
        lstm_seconds = time.perf_counter() - lstm_started
        gbt_train = sum(f["train_seconds"] for f in gbt_result.metrics["folds"])
        lstm_train = sum(f["train_seconds"] for f in lstm_result.metrics["folds"])
        shipped = pick(gbt_result.metrics["overall"]["wape"], lstm_result.metrics["overall"]["wape"])
        compared = {**prefixed(gbt_result, "gbt_", gbt_train), **prefixed(lstm_result, "lstm_", lstm_train),
                    "lstm_backtest_seconds": round(lstm_seconds, 2), "shipped_lstm": float(shipped == "lstm")}
        result = lstm_result if shipped == "lstm" else gbt_result
        log.info("demand compare: GBT wape %.4f bias %+.4f holiday wape %.4f (%.1f s) | LSTM wape %.4f bias %+.4f "
                 "holiday wape %.4f (%.1f s) | naive wape %.4f bias %+.4f holiday wape %.4f -> ships %s",
                 *(compared.get(k, float("nan")) for k in ("gbt_wape", "gbt_bias", "gbt_holiday_wape",
                                                           "gbt_train_seconds", "lstm_wape", "lstm_bias",
                                                           "lstm_holiday_wape", "lstm_train_seconds")),
                 *(headline(gbt_result.metrics).get(k, float("nan")) for k in ("baseline_wape", "baseline_bias",
                                                                              "holiday_baseline_wape")), shipped)
    elif mode == "gbt":
        gbt_result = result

    final_started = time.perf_counter()
    fs = feat.build(asof, spec)
    if shipped == "lstm":
        model, info = lstm_mod.fit(fs.frame, fs.keys, fs.cutoff, net_params, spec.as_dict())
    else:
        model, info = tr.fit(fs.training_rows(), False, params, spec.as_dict())
    final_seconds = time.perf_counter() - final_started

    metrics = {**headline(result.metrics), **result.flat(), **compared,
               "backtest_seconds": round(backtest_seconds, 2), "final_fit_seconds": round(final_seconds, 2),
               "final_train_rows": float(info["train_rows"])}
    folds_table = pd.DataFrame(result.metrics["folds"])
    frames = result.frames
    figures, tables = {}, {"backtest_folds.json": folds_table,
                           "backtest_daily.csv": daily_by_category(result.predictions)}
    label = shipped.upper()
    if mode == "compare":
        other = gbt_result if shipped == "lstm" else lstm_result
        figures["backtest.png"] = backtest_figure(result.predictions, label, other.predictions,
                                                  "LSTM" if shipped == "gbt" else "GBT")
        tables["backtest_folds_lstm.json" if shipped == "gbt" else "backtest_folds_gbt.json"] = \
            pd.DataFrame(other.metrics["folds"])
    else:
        figures["backtest.png"] = backtest_figure(result.predictions, label)
    if gbt_result is not None:  # permutation importances need a row model (the GBT)
        importances = permutation_importances(gbt_result.models[-1], gbt_result.test_rows, ctx.seed)
        figures["feature_importances.png"] = importance_figure(importances)
        tables["feature_importances.json"] = importances
    if shipped == "lstm":
        last = frames[-1]
        one = last.frame[[*last.keys]].drop_duplicates().head(1)
        example = last.frame.merge(one, on=last.keys)
        example = example[example["date"] > last.fold.cutoff - dt.timedelta(days=net_params.lookback)]
        example = example[[*last.keys, *[c for c in lstm_mod.FRAME_COLUMNS if c not in last.keys]]].copy()
        example["date"] = pd.to_datetime(example["date"])
        input_example = example.reset_index(drop=True)
    else:
        input_example = result.test_rows[model.columns].head(5).reset_index(drop=True)

    def champion_metric(other) -> float:
        """The overall WAPE of another model's configuration (GBT or LSTM) refitted on this
        backtest's folds."""
        _, m = evaluate.rescore(result, lambda data: refit_on(other, data))
        return float(m["overall"]["wape"])

    return TrainResult(
        model=model,
        params={**p, "seed": ctx.seed, "cutoff": ctx.cutoff.isoformat(), "model": shipped, "model_mode": mode,
                "folds": ";".join(f"{f.fold.cutoff}..{f.fold.test_end}" for f in frames),
                "train_start": fs.train_start.isoformat()},
        metrics={k: float(v) for k, v in metrics.items()},
        primary_metric=PRIMARY,
        higher_is_better=False,
        flavor="pyfunc",
        requirements=("torch",) if shipped == "lstm" else (),  # the LSTM pyfunc loads torch
        input_example=input_example,
        figures=figures,
        tables=tables,
        eval_fingerprint=result.fingerprint(),
        champion_metric=champion_metric,
    )


# --- score -----------------------------------------------------------------------------------------

def tier_history(asof) -> pd.DataFrame:
    """date, product_id, region, tier, quantity up to the as-of date, the buyer's tier from
    gold.customer_profile of that date ('unknown' without it)."""
    from jobs.gold.framework import read_gold

    tiers = read_gold(asof, "customer_profile", required=False)
    if tiers is None:
        tiers = asof.spark.createDataFrame([], "customer_id string, tier string")
    pdf = feat.daily_demand(asof, by_tier=True, tiers=tiers).toPandas()
    pdf["date"] = pd.to_datetime(pdf["date"]).dt.date
    return pdf


def demand_forecast_rows(model, fs: feat.FeatureSet, by_tier: pd.DataFrame, horizon: int,
                         tier_window_days: int) -> pd.DataFrame:
    """gold.demand_forecast rows (without as_of_date, which the runner adds)."""
    total = fc.forecast_frame(model, fs, horizon)
    shares = fc.tier_shares(by_tier, fs.cutoff, tier_window_days)
    rows = fc.split_by_tier(total, shares)
    rows["method"] = getattr(model, "kind", "gbt")
    rows["horizon_days"] = rows["horizon_days"].astype("int32")
    return rows.sort_values(["date", "product_id", "region", "tier"], kind="mergesort").reset_index(drop=True)


def score(ctx: ScoreContext, model) -> dict[str, DataFrame]:
    p = settings_of(ctx.params)
    asof = ctx.asof
    spec = replace(feat.FeatureSpec(**model.feature_spec), horizon=int(p["horizon"])) if model.feature_spec \
        else feature_spec(p)
    fs = feat.build(asof, spec)
    rows = demand_forecast_rows(model, fs, tier_history(asof), int(p["horizon"]), int(p["tier_window_days"]))
    records = [tuple(None if isinstance(v, float) and np.isnan(v) else v for v in r)
               for r in rows[[f.name for f in FORECAST_SCHEMA.fields]].itertuples(index=False, name=None)]
    records = [(r[0], int(r[1]), *r[2:7], float(r[7]), r[8] if r[8] is None else float(r[8]), r[9]) for r in records]
    demand = asof.spark.createDataFrame(records, FORECAST_SCHEMA)
    totals = demand.filter(F.col("tier") == fc.ALL_TIERS).select("horizon_days", "product_id", "region",
                                                                  "forecast_qty")
    params = fc.ReplenishmentParams(**{k: p[k] for k in REPLENISHMENT_PARAMS})
    replenishment = fc.replenishment_for(asof, totals, params)
    return {"gold.demand_forecast": demand, "gold.replenishment": replenishment}


SPEC = ModelSpec(
    name="demand",
    description=("Daily demand per product x region (and per buyer tier) for the next 14 days: gradient-boosted "
                 "trees on calendar, holiday, weather, promotion and lag features, backtested against "
                 "same-weekday-last-week; replenishment per warehouse x product."),
    train=train_and_evaluate,
    score=score,
    gold_tables=("gold.demand_forecast", "gold.replenishment"),
)
