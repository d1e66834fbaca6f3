"""Hold-out split of customers: K-means learns its centroids (and standardisation) on the training
customers; silhouette and the adjusted Rand index are measured on the held-out customers, which the
model assigns to their nearest centroid.

Grain kept: the input's (one row per customer); every customer is in exactly one side. Which side is
decided by a seeded hash of the customer id, so it is the same on every run, machine and
partitioning, does not depend on which other customers exist, and another seed gives another split.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DEFAULT_TEST_FRACTION = 0.25
BUCKETS = 10_000


def test_side(seed: int, test_fraction: float):
    """True for the customers of the held-out side."""
    bucket = F.pmod(F.xxhash64(F.lit(seed), F.col("customer_id")), F.lit(BUCKETS))
    return bucket < F.lit(int(round(test_fraction * BUCKETS)))


def customer_split(rows: DataFrame, test_fraction: float = DEFAULT_TEST_FRACTION,
                   seed: int = 42) -> tuple[DataFrame, DataFrame]:
    """(train, test) customers of `rows` (one row per customer_id)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    held = test_side(seed, test_fraction)
    return rows.filter(~held), rows.filter(held)
