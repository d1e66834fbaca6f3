"""The contract every model package plugs into; only `models/runner.py` talks to MLflow.

A model package `models/<name>/` keeps separate pure functions for features, split, train and
evaluate (no MLflow, no table writes inside them) and declares, in `models/<name>/spec.py`,

    SPEC = ModelSpec(name="segmentation", train=train_and_evaluate, score=score, ...)

- `train(ctx: TrainContext) -> TrainResult`: build features as of `ctx.cutoff` (never from after it),
  split, fit, evaluate on held-out data, and return the fitted model with its metrics. Same seed and
  data, same metrics.
- `score(ctx: ScoreContext, model) -> dict[str, DataFrame]`: with the model the runner loaded from
  `models:/<registered name>@champion`, compute predictions as of `ctx.asof.date` and return rows
  per gold table (logical name -> DataFrame, e.g. {"gold.customer_segments": df}). The runner adds
  `model_name` / `model_version` columns and writes them (snapshot by as_of_date, like gold jobs).

The runner (`habitlake train [MODEL]`, `habitlake score --date D`, `habitlake models`) logs params,
metrics, plots and the model (with signature and input example) to one MLflow experiment per model,
registers the version as `challenger`, and promotes it to `champion` only when it beats the current
champion on the same evaluation data (`TrainResult.primary_metric`, `higher_is_better`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from habitlake.settings import Settings

REGISTERED_PREFIX = "habitlake_"  # registered model name = habitlake_<spec name>
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass
class TrainContext:
    spark: SparkSession
    settings: Settings
    cutoff: dt.date  # features use data up to and including this date only
    seed: int = 42
    params: Mapping[str, Any] = field(default_factory=dict)  # overrides of the model's defaults


@dataclass
class TrainResult:
    """What a model's train function returns; plain values the runner logs."""

    model: Any  # a fitted Spark ML model / PipelineModel (flavor "spark") or a python object ("pyfunc")
    params: dict[str, Any]  # every parameter that shaped the model (logged as MLflow params)
    metrics: dict[str, float]  # evaluated on held-out data, never on the training rows
    primary_metric: str  # the metric promotion compares (must be in `metrics`)
    higher_is_better: bool = True
    # spark (a Spark ML Model / PipelineModel) | sklearn (a fitted estimator) | pyfunc (an
    # mlflow.pyfunc.PythonModel, or any picklable object, e.g. a dataclass of rules). `score` and
    # `champion_metric` get the model back as it was returned here (same class): see models/mlflow_utils.py.
    flavor: str = "spark"
    input_example: Any = None  # a small pandas DataFrame of model input (signature inferred from it)
    figures: dict[str, Any] = field(default_factory=dict)  # file name (.png) -> matplotlib Figure
    tables: dict[str, Any] = field(default_factory=dict)  # file name (.json/.csv) -> pandas DataFrame
    eval_fingerprint: str = ""  # identifies the evaluation data (same data -> same fingerprint)
    champion_metric: Callable[[Any], float] | None = None  # re-evaluates another model on this eval data
    requirements: tuple[str, ...] = ()  # packages loading the model needs beyond its flavor's (e.g. torch)


@dataclass
class ScoreContext:
    spark: SparkSession
    settings: Settings
    asof: Any  # jobs.gold.asof.AsOf of the scoring date
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    name: str  # short name: segmentation, basket, recommend, churn, demand, price_sensitivity
    description: str
    train: Callable[[TrainContext], TrainResult]
    score: Callable[[ScoreContext, Any], Mapping[str, DataFrame]] | None = None
    gold_tables: tuple[str, ...] = ()  # tables `score` writes

    @property
    def registered_name(self) -> str:
        return f"{REGISTERED_PREFIX}{self.name}"
