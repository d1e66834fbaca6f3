"""Time split of baskets: the rules learn from the orders before T and are judged on the orders from
T on, as they would be used (rules mined on the past complete the carts of the future).

Grain kept: the input's (one row per order); every order is in exactly one of the two sides, or in
neither when it is after `end` (then it is outside the evaluation window).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def _day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def time_split(basket_rows: DataFrame, split_date: str | dt.date,
               end: str | dt.date | None = None) -> tuple[DataFrame, DataFrame]:
    """(train, test): train = orders dated before `split_date`; test = orders dated on or after
    it (and on or before `end`, when given)."""
    t = _day(split_date)
    if end is not None and _day(end) < t:
        raise ValueError(f"end {end} is before the split date {t}")
    train = basket_rows.filter(F.col("order_date") < F.lit(t))
    test = basket_rows.filter(F.col("order_date") >= F.lit(t))
    if end is not None:
        test = test.filter(F.col("order_date") <= F.lit(_day(end)))
    return train, test
