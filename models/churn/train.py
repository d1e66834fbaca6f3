"""The two churn classifiers, Spark MLlib pipelines on the feature frame (one row per cutoff x
customer, `features.FEATURES` + `label`):

    VectorAssembler(FEATURES -> features_raw) -> StandardScaler(mean 0, sd 1 -> features) -> classifier

- "gbt": GBTClassifier (logistic loss), shallow trees, no row subsampling, fixed seed;
- "lr": LogisticRegression with a small L2 penalty on the standardised features.

Both see the standardised vector (trees do not care about scaling; it gives both models the same
"average customer" for the drivers, see `drivers.py`, and LR coefficients per standard deviation).
Training is deterministic: fixed seed, rows sorted by (cutoff, customer_id) before fitting.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import (GBTClassificationModel, GBTClassifier, LogisticRegression,
                                       LogisticRegressionModel)
from pyspark.ml.feature import StandardScaler, VectorAssembler
from pyspark.sql import DataFrame

from models.churn.features import FEATURES
from models.churn.label import LABEL

KINDS = ("gbt", "lr")
RAW, SCALED = "features_raw", "features"


@dataclass(frozen=True)
class ModelParams:
    gbt_max_iter: int = 40
    gbt_max_depth: int = 3
    gbt_step_size: float = 0.1
    gbt_min_instances_per_node: int = 5
    lr_reg_param: float = 0.01
    lr_elastic_net: float = 0.0
    lr_max_iter: int = 100

    @classmethod
    def from_params(cls, params: dict) -> "ModelParams":
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def as_dict(self) -> dict:
        return asdict(self)


def classifier(kind: str, seed: int, params: ModelParams):
    if kind == "gbt":
        return GBTClassifier(featuresCol=SCALED, labelCol=LABEL, lossType="logistic", maxIter=params.gbt_max_iter,
                             maxDepth=params.gbt_max_depth, stepSize=params.gbt_step_size,
                             minInstancesPerNode=params.gbt_min_instances_per_node, subsamplingRate=1.0,
                             featureSubsetStrategy="all", seed=seed)
    if kind == "lr":
        return LogisticRegression(featuresCol=SCALED, labelCol=LABEL, regParam=params.lr_reg_param,
                                  elasticNetParam=params.lr_elastic_net, maxIter=params.lr_max_iter,
                                  standardization=False, family="binomial")
    raise ValueError(f"model kind must be one of {KINDS}, got {kind!r}")


def pipeline(kind: str, seed: int = 42, params: ModelParams | None = None) -> Pipeline:
    params = params or ModelParams()
    return Pipeline(stages=[
        VectorAssembler(inputCols=list(FEATURES), outputCol=RAW, handleInvalid="error"),
        StandardScaler(inputCol=RAW, outputCol=SCALED, withMean=True, withStd=True),
        classifier(kind, seed, params),
    ])


def fit(rows: DataFrame, kind: str, seed: int = 42, params: ModelParams | None = None) -> tuple[PipelineModel, float]:
    """(fitted pipeline, seconds) on training rows (FEATURES + label)."""
    ordered = rows.orderBy("cutoff", "customer_id")
    started = time.perf_counter()
    model = pipeline(kind, seed, params).fit(ordered)
    return model, time.perf_counter() - started


def kind_of(model: PipelineModel) -> str:
    """"gbt" or "lr", from the pipeline's last stage (works on a model loaded back from MLflow)."""
    last = model.stages[-1]
    if isinstance(last, GBTClassificationModel):
        return "gbt"
    if isinstance(last, LogisticRegressionModel):
        return "lr"
    raise TypeError(f"not a churn pipeline: last stage is {type(last).__name__}")


def feature_importances(model: PipelineModel) -> dict[str, float]:
    """{feature: importance}, summing to 1, largest first: the trees' split-gain importances for
    GBT; the absolute coefficients per standard deviation, normalised, for LR."""
    last = model.stages[-1]
    values = (last.featureImportances.toArray() if kind_of(model) == "gbt"
              else [abs(v) for v in last.coefficients.toArray()])
    total = float(sum(values)) or 1.0
    pairs = [(name, float(v) / total) for name, v in zip(FEATURES, values)]
    return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))
