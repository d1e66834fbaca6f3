"""Evaluation of a segmentation on held-out customers. K-means has no label to predict, so there is
no accuracy; what is measured, on the customers the model was NOT fitted on (`split.py`):

- `silhouette`: mean silhouette (squared Euclidean, standardised features) of the held-out
  customers assigned to their nearest centroid: how well separated the segments are (-1..1);
- `ari_persona` (only when the planted truth is available, i.e. on generated data): the adjusted
  Rand index between the segments and the generator's hidden personas (truth/customers.csv): 1 =
  the same partition, about 0 = no better than chance. The truth is read only here, never by a
  feature;
- sizes: `customers_test`, `segments_used_test` (segments holding at least one held-out customer),
  `smallest_segment_share` (of the held-out customers).
"""
from __future__ import annotations

from math import comb

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from habitlake import fs
from models.segmentation import train as tr

TRUTH_FILE = "customers.csv"


def adjusted_rand_index(table: dict[tuple, int]) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985) from a contingency table {(a, b): n}: the pair
    agreement of two partitions of the same items, corrected for chance. Two partitions with a
    single cluster each (nothing to compare) give 1.0."""
    cells = table
    n = sum(cells.values())
    rows, cols = {}, {}
    for (a, b), count in cells.items():
        rows[a] = rows.get(a, 0) + count
        cols[b] = cols.get(b, 0) + count
    index = sum(comb(c, 2) for c in cells.values())
    sum_rows = sum(comb(c, 2) for c in rows.values())
    sum_cols = sum(comb(c, 2) for c in cols.values())
    total = comb(n, 2)
    if total == 0:
        return 1.0
    expected = sum_rows * sum_cols / total
    maximum = (sum_rows + sum_cols) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def contingency(assigned: DataFrame, left: str, right: str) -> dict[tuple, int]:
    """{(left value, right value): customers} of a frame with both label columns."""
    rows = assigned.groupBy(left, right).agg(F.count(F.lit(1)).alias("n")).collect()
    return {(r[left], r[right]): int(r["n"]) for r in rows}


def read_personas(spark: SparkSession, truth_dir: str) -> DataFrame | None:
    """customer_id, persona of the generator's truth folder, or None when there is no truth."""
    path = f"{truth_dir.rstrip('/')}/{TRUTH_FILE}"
    if not any(f.path.endswith(f"/{TRUTH_FILE}") for f in fs.list_files(spark, truth_dir)):
        return None
    raw = spark.read.csv(path, header=True)
    if "persona" not in raw.columns:
        return None
    return raw.select(F.col("customer_id").cast("string"), F.col("persona").cast("string"))


def ari_against(assigned: DataFrame, personas: DataFrame) -> tuple[float, int]:
    """(ARI between segment_id and persona, customers compared) over customers in both."""
    both = assigned.select("customer_id", tr.PREDICTION).join(personas, "customer_id", how="inner")
    table = contingency(both, tr.PREDICTION, "persona")
    return adjusted_rand_index(table), sum(table.values())


def evaluate(model: PipelineModel, test: DataFrame, personas: DataFrame | None = None) -> dict[str, float]:
    """Metrics of `model` on the held-out feature rows `test` (see the module docstring)."""
    assigned = model.transform(tr.ordered(test)).cache()
    sizes = [r["n"] for r in assigned.groupBy(tr.PREDICTION).agg(F.count(F.lit(1)).alias("n")).collect()]
    n = sum(sizes)
    if n == 0:
        assigned.unpersist()
        raise ValueError("no held-out customers to evaluate on")
    metrics = {
        "silhouette": tr.silhouette(assigned) if len(sizes) > 1 else 0.0,
        "customers_test": float(n),
        "segments_used_test": float(len(sizes)),
        "smallest_segment_share": min(sizes) / n,
    }
    if personas is not None:
        ari, compared = ari_against(assigned, personas)
        metrics["ari_persona"] = ari
        metrics["customers_with_truth"] = float(compared)
    assigned.unpersist()
    return metrics
