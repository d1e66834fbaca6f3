"""K-means segmentation with Spark MLlib, k chosen by silhouette.

The model is one `PipelineModel`: `VectorAssembler` (the feature columns, in the order of
`features.feature_columns`) -> `StandardScaler` (zero mean, unit variance, fitted on the training
customers) -> `KMeans` (k-means||, squared Euclidean distance on the standardised features, fixed
seed). Its cluster centres are therefore standardised values ("z-scores"): the naming rules
(`naming.py`) read them directly, and the scaler's mean and std turn them back into feature units.

Choosing k (`silhouette_curve`, `choose_k`): K-means is fitted for every k of `k_range` (3..10 by
default) on the training customers and each fit's silhouette (Spark's `ClusteringEvaluator`,
squared Euclidean) on those customers is recorded with the share of its smallest segment; the k with
the highest silhouette wins (ties: the smaller k) among the fits whose every segment holds at least
`min_segment_share` of the customers (2% by default; when no fit qualifies, among all). Without that
floor a large k wins by walling off a handful of outliers (two customers who buy nothing but
vegetables) in segments of their own, which raises the silhouette and says nothing about the
customer base. The curve is returned for the runner to plot (`silhouette_figure`).

Same data, seed and parameters: same centroids (rows are fed to MLlib sorted by customer_id in one
partition, so partitioning cannot change k-means||'s sampling).
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.clustering import KMeans, KMeansModel
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import StandardScaler, StandardScalerModel, VectorAssembler
from pyspark.sql import DataFrame

RAW, SCALED, PREDICTION = "features_raw", "features", "segment_id"
DEFAULT_K_RANGE = (3, 10)
DEFAULT_MAX_ITER = 50
DEFAULT_TOL = 1e-6
DEFAULT_MIN_SEGMENT_SHARE = 0.02


@dataclass
class Fitted:
    """The chosen model and the silhouette curve that chose it."""

    model: PipelineModel
    k: int
    curve: list[tuple[int, float, float]]  # (k, training silhouette, smallest segment share), every k tried


def ordered(rows: DataFrame) -> DataFrame:
    """The rows in a fixed order in one partition (k-means|| samples by partition and position)."""
    return rows.orderBy("customer_id").coalesce(1)


def preparation(columns: list[str]) -> Pipeline:
    return Pipeline(stages=[
        VectorAssembler(inputCols=list(columns), outputCol=RAW, handleInvalid="error"),
        StandardScaler(inputCol=RAW, outputCol=SCALED, withMean=True, withStd=True),
    ])


def kmeans(k: int, seed: int, max_iter: int = DEFAULT_MAX_ITER) -> KMeans:
    return KMeans(featuresCol=SCALED, predictionCol=PREDICTION, k=k, seed=seed, maxIter=max_iter,
                  tol=DEFAULT_TOL, initMode="k-means||", distanceMeasure="euclidean")


def silhouette(assigned: DataFrame) -> float:
    """Mean silhouette (squared Euclidean) of rows with `features` and `segment_id`."""
    evaluator = ClusteringEvaluator(featuresCol=SCALED, predictionCol=PREDICTION,
                                    metricName="silhouette", distanceMeasure="squaredEuclidean")
    return float(evaluator.evaluate(assigned))


def silhouette_curve(train: DataFrame, columns: list[str], k_range: tuple[int, int] = DEFAULT_K_RANGE,
                     seed: int = 42, max_iter: int = DEFAULT_MAX_ITER
                     ) -> tuple[PipelineModel, dict[int, KMeansModel], list[tuple[int, float, float]]]:
    """Fit the scaler once and K-means for every k in `k_range` (inclusive) on `train`; returns the
    fitted preparation, the K-means model per k and [(k, training silhouette, smallest segment
    share)]."""
    lo, hi = k_range
    if lo < 2 or hi < lo:
        raise ValueError(f"k_range must be (lo, hi) with 2 <= lo <= hi, got {k_range}")
    prepared_model = preparation(columns).fit(ordered(train))
    prepared = prepared_model.transform(ordered(train)).select("customer_id", SCALED).cache()
    n = prepared.count()
    if n <= hi:
        prepared.unpersist()
        raise ValueError(f"{n} training customers cannot make {hi} segments: lower k_range or use more data")
    models, curve = {}, []
    for k in range(lo, hi + 1):
        model = kmeans(k, seed, max_iter).fit(prepared)
        models[k] = model
        sizes = model.summary.clusterSizes
        curve.append((k, silhouette(model.transform(prepared)), min(sizes) / n))
    prepared.unpersist()
    return prepared_model, models, curve


def choose_k(curve: list[tuple[int, float, float]], min_segment_share: float = DEFAULT_MIN_SEGMENT_SHARE) -> int:
    """The k of the highest silhouette (ties: the smallest k) among the fits whose smallest segment
    holds at least `min_segment_share` of the customers (all fits when none does)."""
    if not curve:
        raise ValueError("empty silhouette curve")
    allowed = [c for c in curve if c[2] >= min_segment_share] or list(curve)
    return min(allowed, key=lambda c: (-c[1], c[0]))[0]


def fit(train: DataFrame, columns: list[str], k_range: tuple[int, int] = DEFAULT_K_RANGE, seed: int = 42,
        max_iter: int = DEFAULT_MAX_ITER, min_segment_share: float = DEFAULT_MIN_SEGMENT_SHARE) -> Fitted:
    """Choose k by silhouette and return the whole pipeline for it."""
    prepared_model, models, curve = silhouette_curve(train, columns, k_range, seed, max_iter)
    chosen = choose_k(curve, min_segment_share)
    model = PipelineModel(stages=[*prepared_model.stages, models[chosen]])
    return Fitted(model, chosen, curve)


def columns_of(model: PipelineModel) -> list[str]:
    """The feature columns the model was trained on (the assembler's inputs, in order)."""
    return list(model.stages[0].getInputCols())


def scaler_of(model: PipelineModel) -> StandardScalerModel:
    return model.stages[1]


def kmeans_of(model: PipelineModel) -> KMeansModel:
    return model.stages[-1]


def silhouette_figure(curve: list[tuple[int, float, float]], chosen: int,
                      min_segment_share: float = DEFAULT_MIN_SEGMENT_SHARE):
    """The silhouette curve as a matplotlib Figure (no pyplot state, safe in any thread)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    ks, values = [c[0] for c in curve], [c[1] for c in curve]
    ax.plot(ks, values, marker="o", label="silhouette")
    tiny = [(c[0], c[1]) for c in curve if c[2] < min_segment_share]
    if tiny:
        ax.scatter([t[0] for t in tiny], [t[1] for t in tiny], marker="x", s=80, color="grey",
                   label=f"a segment under {min_segment_share:.0%} (not eligible)")
    best = {c[0]: c[1] for c in curve}[chosen]
    ax.scatter([chosen], [best], s=120, facecolors="none", edgecolors="red", label=f"chosen k = {chosen}")
    ax.set_xlabel("k (segments)")
    ax.set_ylabel("silhouette (training customers)")
    ax.set_title("K-means: silhouette by number of segments")
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
