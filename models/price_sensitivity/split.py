"""Time split for the sensitivity scores: evidence (and the model) up to T, the test after it.

Scores are per customer and need the customer's own history, so the hold-out is in time, not in
customers: the model is fitted and every customer scored with data up to T = cutoff - holdout_days;
the lines bought on discount days in (T, cutoff] are the test (`evaluate.heldout`).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DEFAULT_HOLDOUT_DAYS = 28


def train_end(cutoff: dt.date, holdout_days: int = DEFAULT_HOLDOUT_DAYS) -> dt.date:
    """T: the last day whose data the model may use."""
    if holdout_days < 1:
        raise ValueError(f"holdout_days must be at least 1, got {holdout_days}")
    return cutoff - dt.timedelta(days=holdout_days)


def after(rows: DataFrame, t: dt.date, column: str = "day") -> DataFrame:
    """The rows dated after T (the test side)."""
    return rows.filter(F.col(column) > F.lit(t))
