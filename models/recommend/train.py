"""ALS on implicit feedback (`pyspark.ml.recommendation.ALS`, implicitPrefs=True), and its tuning.

The fitted model is one Spark ML `PipelineModel`, so the runner logs it with the `spark` flavor and
`score` gets back everything it needs from the registry:

    stage 0  StringIndexerModel  customer_id -> user   (ids in alphabetical order: deterministic)
    stage 1  StringIndexerModel  product_id  -> item
    stage 2  ALSModel            user and item factors

Its `transform` on (customer_id, product_id) rows adds `prediction` (the preference score); ids the
model never saw get index = number of labels (handleInvalid="keep") and ALS drops their rows
(coldStartStrategy="drop"). `recommend.guess_you_like` ranks items for many customers at once from
the same stages.

ALS with implicit preferences (Hu, Koren, Volinsky 2008) fits the 0/1 preference "this customer
interacted with this product" with confidence 1 + alpha x rating; `rank` is the number of latent
factors, `reg_param` the L2 penalty. Same data, parameters and seed give the same factors.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import product

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import StringIndexer
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame

from models.recommend.config import ALSParams

USER, ITEM = "user", "item"
INDEX_ORDER = "alphabetAsc"


def pipeline(als: ALSParams, seed: int, blocks: int = 10) -> Pipeline:
    """The unfitted pipeline: two indexers and ALS with `blocks` user and item blocks."""
    return Pipeline(stages=[
        StringIndexer(inputCol="customer_id", outputCol=USER, stringOrderType=INDEX_ORDER, handleInvalid="keep"),
        StringIndexer(inputCol="product_id", outputCol=ITEM, stringOrderType=INDEX_ORDER, handleInvalid="keep"),
        ALS(userCol=USER, itemCol=ITEM, ratingCol="rating", implicitPrefs=True, rank=als.rank,
            regParam=als.reg_param, alpha=als.alpha, maxIter=als.max_iter, seed=seed,
            coldStartStrategy="drop", nonnegative=False, numUserBlocks=blocks, numItemBlocks=blocks),
    ])


def fit(ratings: DataFrame, als: ALSParams, seed: int = 42) -> PipelineModel:
    """Fit on `ratings` (customer_id, product_id, rating: `features.implicit_ratings`), with as many
    ALS blocks as the session's shuffle partitions (the parallelism the deployment configured:
    HABITLAKE_SHUFFLE_PARTITIONS)."""
    data = ratings.select("customer_id", "product_id", "rating")
    blocks = int(data.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return pipeline(als, seed, blocks).fit(data)


def stages(model: PipelineModel) -> tuple[list[str], list[str], ALSModel]:
    """(customer labels, product labels, ALS model) of a fitted pipeline (index = position)."""
    users, items, als = model.stages
    return list(users.labels), list(items.labels), als


def grid(base: ALSParams, values: Mapping[str, Iterable]) -> list[ALSParams]:
    """Every combination of `values` (rank, reg_param, alpha, max_iter) over `base`, in a fixed
    order (keys sorted, values as given); just `base` when `values` is empty."""
    keys = sorted(values)
    if not keys:
        return [base]
    return [ALSParams(**{**base.__dict__, **dict(zip(keys, combo))})
            for combo in product(*(tuple(values[k]) for k in keys))]
