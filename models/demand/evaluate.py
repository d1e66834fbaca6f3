"""Forecast accuracy: WAPE and bias against the seasonal-naive baseline, per fold, overall and on
holiday periods; and the rolling-origin backtest that produces them.

    WAPE = sum |actual - forecast| / sum actual        (0 = perfect; 1 - WAPE is the "accuracy")
    bias = (sum forecast - sum actual) / sum actual    (> 0: over-forecast)

Both are computed at the grain the model forecasts (series x day: product x region x day) and, for
reporting, on forecasts and actuals summed to product x day and category_l2 x day (the coarser the
grain, the more errors cancel). The baseline is seasonal naive (forecast.seasonal_naive: the same
weekday of the last week known at the cutoff).

Holiday period: days that are an official holiday day off or at most `holiday_pre_days` (default 14)
days before one (the run-up, when the planted Spring Festival spike happens), from silver.calendar.

Backtest: for each fold, the features are built from an `AsOf` at the fold's cutoff (nothing later
is visible), a model is fitted on them, and the next `horizon` days are forecast recursively. The
actuals come from the evaluation `AsOf` (its date must be on or after the last fold's test end), for
every series, including series that first sold after the cutoff (forecast and baseline 0 for those).
Each fold's collected feature frame is kept (`BacktestResult.frames`), so another model
configuration (the champion's) can be refitted and scored on exactly the same folds in seconds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field, replace

import pandas as pd
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf, parse_day
from models.demand import features as feat
from models.demand import forecast as fc
from models.demand import train as tr
from models.demand.split import Fold

ACTUAL = "actual_qty"
FORECAST = fc.FORECAST
BASELINE = fc.BASELINE
LEVELS = {"series_day": None, "product_day": ["product_id"], "category_l2_day": ["category_l2"]}


def at(asof: AsOf, day: str | dt.date) -> AsOf:
    """The same silver (lakehouse or frames) as of another day."""
    return AsOf(asof.spark, asof.settings, parse_day(day), dict(asof.options), asof.given, asof.given_gold)


def score(df: pd.DataFrame, predicted: str = FORECAST, actual: str = ACTUAL) -> dict:
    """WAPE, bias and their parts for the rows of `df`. WAPE and bias are None without actual units."""
    actual_units = float(df[actual].sum())
    predicted_units = float(df[predicted].sum())
    abs_error = float((df[actual] - df[predicted]).abs().sum())
    wape = abs_error / actual_units if actual_units else None
    bias = (predicted_units - actual_units) / actual_units if actual_units else None
    return {"rows": int(len(df)), "actual_units": actual_units, "forecast_units": predicted_units,
            "abs_error": abs_error, "wape": wape, "bias": bias, "accuracy": None if wape is None else 1.0 - wape}


def compare(df: pd.DataFrame, group: list[str] | None = None, date: str = "date") -> dict:
    """Model and baseline scored on the same rows: {wape, bias, accuracy, baseline_wape,
    baseline_bias, rows, actual_units, ...}. `group`: first sum actuals and forecasts to
    group x date (a coarser grain)."""
    if group is not None:
        df = df.groupby([*group, date], as_index=False)[[ACTUAL, FORECAST, BASELINE]].sum()
    model, base = score(df, FORECAST), score(df, BASELINE)
    return {**model, "baseline_wape": base["wape"], "baseline_bias": base["bias"],
            "baseline_accuracy": base["accuracy"], "baseline_abs_error": base["abs_error"],
            "beats_baseline": (None if model["wape"] is None or base["wape"] is None
                               else bool(model["wape"] < base["wape"]))}


def holiday_periods(asof: AsOf, pre_days: int = 14) -> pd.DataFrame | None:
    """date, is_holiday_period from silver.calendar (None without a calendar)."""
    cal = feat.calendar_features(asof.optional("calendar"))
    if cal is None:
        return None
    pdf = cal.select("date", (F.col("is_holiday") | (F.col("days_to_holiday") <= pre_days))
                     .alias("is_holiday_period")).toPandas()
    pdf["date"] = pd.to_datetime(pdf["date"]).dt.date
    return pdf


@dataclass
class FoldData:
    """What one fold needs to refit and rescore a model: its collected feature frame and facts."""

    fold: Fold
    frame: pd.DataFrame
    keys: list[str]
    train_start: dt.date
    categories: pd.DataFrame  # product_id, category_l1, category_l2 (valid at the evaluation date)


@dataclass
class BacktestResult:
    metrics: dict  # {"overall", "holiday", "non_holiday", "levels", "folds", "params"}
    predictions: pd.DataFrame  # fold, cutoff, date, horizon_days, keys, categories, actual/forecast/baseline, holiday
    models: list  # the fitted model of each fold
    frames: list[FoldData] = field(default_factory=list)
    test_rows: pd.DataFrame | None = None  # the last fold's forecast rows as the model saw them, with actuals

    def flat(self) -> dict[str, float]:
        """Metrics as one flat {name: number} dict (for MLflow's log_metrics)."""
        out: dict[str, float] = {}
        for section in ("overall", "holiday", "non_holiday"):
            for name, value in self.metrics[section].items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[f"{section}_{name}"] = float(value)
        for level, values in self.metrics["levels"].items():
            for name in ("wape", "bias", "baseline_wape", "baseline_bias"):
                if values.get(name) is not None:
                    out[f"{level}_{name}"] = float(values[name])
        for fold in self.metrics["folds"]:
            for name in ("wape", "bias", "baseline_wape", "baseline_bias", "train_seconds"):
                if fold.get(name) is not None:
                    out[f"fold{fold['fold']}_{name}"] = float(fold[name])
        return out

    def fingerprint(self) -> str:
        """Identifies the evaluation data: folds and actual units per series x day."""
        rows = self.predictions.sort_values(["fold", "date", "product_id", "region"], kind="mergesort")
        digest = hashlib.sha256()
        digest.update(repr([f.fold.as_dict() for f in self.frames]).encode())
        digest.update(pd.util.hash_pandas_object(rows[["fold", "date", "product_id", "region", ACTUAL]],
                                                 index=False).to_numpy().tobytes())
        return digest.hexdigest()[:16]


def actuals(asof_eval: AsOf, first: dt.date, last: dt.date, by_tier: bool = False) -> pd.DataFrame:
    """date, keys, actual_qty of every series that sold between first and last (evaluation data)."""
    pdf = (feat.daily_demand(asof_eval, by_tier)
           .filter(F.col("date").between(F.lit(first), F.lit(last)))
           .withColumnRenamed(feat.LABEL, ACTUAL).toPandas())
    pdf["date"] = pd.to_datetime(pdf["date"]).dt.date
    return pdf


def fold_rows(model, data: FoldData, actual: pd.DataFrame, keep_rows: bool = False) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A model's forecast of one fold joined to the baseline and the actuals (outer: series that sold
    only after the cutoff get forecast and baseline 0)."""
    fold, keys = data.fold, data.keys
    predicted = fc.predict_horizon(model, data.frame, keys, fold.cutoff, fold.horizon, keep_rows=keep_rows)
    history = data.frame[data.frame["date"] <= fold.cutoff][[*keys, "date", feat.LABEL]]
    baseline = fc.seasonal_naive(history, keys, fold.cutoff, fold.horizon)
    window = actual[(actual["date"] >= fold.test_start) & (actual["date"] <= fold.test_end)]
    rows = (predicted[[*keys, "date", FORECAST]].merge(baseline[[*keys, "date", BASELINE]], on=[*keys, "date"],
                                                       how="outer")
            .merge(window[[*keys, "date", ACTUAL]], on=[*keys, "date"], how="outer")
            .merge(data.categories, on="product_id", how="left"))
    for c in (ACTUAL, FORECAST, BASELINE):
        rows[c] = rows[c].fillna(0.0).astype("float64")
    for c in ("category_l1", "category_l2"):
        rows[c] = rows[c].fillna(feat.UNKNOWN)
    rows.insert(0, "fold", fold.index)
    rows.insert(1, "cutoff", fold.cutoff)
    rows["horizon_days"] = [(d - fold.cutoff).days for d in rows["date"]]
    seen = None
    if keep_rows and not hasattr(model, "forecast"):  # feature rows exist for a row model only
        seen = predicted.merge(window[[*keys, "date", ACTUAL]], on=[*keys, "date"], how="left")
        seen[ACTUAL] = seen[ACTUAL].fillna(0.0)
    return rows, seen


def summarize(parts: list[pd.DataFrame], periods: pd.DataFrame | None) -> tuple[pd.DataFrame, dict]:
    """The fold rows stacked with the holiday-period flag, and the overall / holiday / level metrics."""
    predictions = pd.concat(parts, ignore_index=True)
    if periods is not None:
        predictions = predictions.merge(periods, on="date", how="left")
    else:
        predictions["is_holiday_period"] = False
    predictions["is_holiday_period"] = predictions["is_holiday_period"].fillna(False).astype(bool)
    metrics = {
        "overall": compare(predictions),
        "holiday": compare(predictions[predictions["is_holiday_period"]]),
        "non_holiday": compare(predictions[~predictions["is_holiday_period"]]),
        "levels": {name: compare(predictions, None if group is None else ["fold", *group])
                   for name, group in LEVELS.items()},
    }
    return predictions, metrics


def backtest(asof: AsOf, folds: list[Fold], spec: feat.FeatureSpec | None = None,
             params: tr.GBTParams | None = None, holiday_pre_days: int = 14, fit_fold=None) -> BacktestResult:
    """Rolling-origin backtest of the GBT forecast (or of `fit_fold(FoldData) -> (model, info)`, e.g.
    the LSTM) against seasonal naive (see the module doc). `asof`: the evaluation date (actuals);
    each fold reads silver as of its own cutoff."""
    if not folds:
        raise ValueError("no folds")
    last = max(f.test_end for f in folds)
    if last > asof.day:
        raise ValueError(f"the folds are scored up to {last}, after the evaluation date {asof.day}")
    spec = spec or feat.FeatureSpec(horizon=max(f.horizon for f in folds))
    if spec.by_tier:
        raise ValueError("the backtest scores product x region forecasts (by_tier=False)")
    params = params or tr.GBTParams()
    if fit_fold is None:
        def fit_fold(data: FoldData):
            return tr.fit(training_rows(data), False, params, spec.as_dict())
    actual = actuals(asof, min(f.test_start for f in folds), last)
    categories = (asof.table("products").select("product_id", F.lower("category_l1").alias("category_l1"),
                                                "category_l2").toPandas())
    frames, built = [], []
    for fold in folds:
        started = time.perf_counter()
        fs = feat.build(at(asof, fold.cutoff), replace(spec, horizon=fold.horizon))
        frames.append(FoldData(fold, fs.frame, fs.keys, fs.train_start, categories))
        built.append(round(time.perf_counter() - started, 2))
    result = run_folds(frames, actual, fit_fold, holiday_periods(asof, holiday_pre_days), keep_last=True)
    for fold_metrics, seconds in zip(result.metrics["folds"], built):
        fold_metrics["features_seconds"] = seconds
    result.metrics["params"] = {**spec.as_dict(), **params.as_dict(), "folds": len(folds),
                                "holiday_pre_days": holiday_pre_days}
    return result


def run_folds(frames: list[FoldData], actual: pd.DataFrame, fit_fold, periods: pd.DataFrame | None,
              keep_last: bool = False) -> BacktestResult:
    """Fits `fit_fold(FoldData)` (a model, or (model, info)) on each fold, forecasts its test window
    and scores it against the actuals (date, keys, actual_qty; optionally a `fold` column) and
    seasonal naive; no Spark. `keep_last`: keep the last fold's forecast rows as the model saw them."""
    parts, fold_metrics, models, seen = [], [], [], None
    for data in frames:
        started = time.perf_counter()
        out = fit_fold(data)
        model, info = out if isinstance(out, tuple) else (out, {})
        trained = time.perf_counter()
        fold_actual = actual[actual["fold"] == data.fold.index].drop(columns="fold") if "fold" in actual else actual
        rows, seen = fold_rows(model, data, fold_actual, keep_rows=keep_last and data is frames[-1])
        parts.append(rows)
        fold_metrics.append({**data.fold.as_dict(), "features_seconds": 0.0,
                             "train_seconds": info.get("train_seconds", round(trained - started, 2)),
                             "predict_seconds": round(time.perf_counter() - trained, 2),
                             "train_rows": info.get("train_rows"), "train_start": data.train_start.isoformat(),
                             **compare(rows)})
        models.append(model)
    predictions, metrics = summarize(parts, periods)
    metrics["folds"] = fold_metrics
    return BacktestResult(metrics=metrics, predictions=predictions, models=models, frames=list(frames),
                          test_rows=seen)


def rescore(result: BacktestResult, fit_fold, holiday: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Another model configuration on the same folds: `fit_fold(FoldData) -> model` (or (model,
    info)) fits on the fold's data; returns its predictions and metrics (same keys as backtest's)."""
    other = rescore_result(result, fit_fold, holiday)
    return other.predictions, other.metrics


def rescore_result(result: BacktestResult, fit_fold, holiday: pd.DataFrame | None = None) -> BacktestResult:
    """`rescore` as a BacktestResult (fold metrics with train seconds, the fitted models): the same
    folds, test windows, actuals, baseline and holiday periods as `result`."""
    actual = result.predictions[["fold", "date", *result.frames[0].keys, ACTUAL]]
    periods = holiday if holiday is not None else (
        result.predictions[["date", "is_holiday_period"]].drop_duplicates("date"))
    other = run_folds(result.frames, actual, fit_fold, periods)
    for mine, theirs in zip(other.metrics["folds"], result.metrics.get("folds", [])):
        mine["features_seconds"] = theirs.get("features_seconds", 0.0)
    other.metrics["params"] = result.metrics.get("params", {})
    return other


def training_rows(data: FoldData) -> pd.DataFrame:
    """The training rows of a kept fold (train_start .. cutoff, with lags)."""
    return feat.rows_between(data.frame, data.keys, data.train_start, data.fold.cutoff)


def spike_lift(predictions: pd.DataFrame, spikes: pd.DataFrame) -> pd.DataFrame:
    """How the forecast and the actuals rose on planted spike days: per spiked category_l2 x fold
    whose test window holds spike days, mean daily units (summed over the category's series) on the
    spike days and on the fold's other days that are neither spike nor holiday days off of the same
    weekday kind (workday / off day is not known here: all other days). `spikes`: holiday_code,
    start_date, end_date, category_l2, multiplier (the truth file; '*' rows are ignored)."""
    daily = predictions.groupby(["fold", "date", "category_l2"], as_index=False)[[ACTUAL, FORECAST, BASELINE]].sum()
    out = []
    for spike in spikes[spikes["category_l2"] != "*"].itertuples():
        start, end = parse_day(str(spike.start_date)), parse_day(str(spike.end_date))
        cat = daily[daily["category_l2"] == spike.category_l2]
        for fold, rows in cat.groupby("fold"):
            on = rows["date"].between(start, end)
            if not on.any() or on.all():
                continue
            spike_days, other = rows[on], rows[~on]
            out.append({"holiday_code": spike.holiday_code, "category_l2": spike.category_l2,
                        "multiplier": float(spike.multiplier), "fold": int(fold), "spike_days": int(on.sum()),
                        "actual_spike": spike_days[ACTUAL].mean(), "actual_other": other[ACTUAL].mean(),
                        "forecast_spike": spike_days[FORECAST].mean(), "forecast_other": other[FORECAST].mean(),
                        "baseline_spike": spike_days[BASELINE].mean(), "baseline_other": other[BASELINE].mean()})
    return pd.DataFrame(out)


