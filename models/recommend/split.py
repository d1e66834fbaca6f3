"""Time split: models learn from what happened before T and are judged on what customers bought
from T on, as they are used (recommendations made today are bought, or not, in the coming weeks).

With cutoff C (the last day any feature may see), `test_days` and `validation_days`:

    ... history ... | validation [V, T - 1] | test [T, C]        T = C - test_days + 1
                                                                 V = T - validation_days

- evaluation: fit on data up to T - 1, judge on purchases in [T, C];
- tuning (ALS rank, regParam, alpha): fit on data up to V - 1, judge on purchases in [V, T - 1];
  the test window is never looked at while choosing parameters.

`held_out` gives what a customer bought in a window, in the shape `models.basket.evaluate.
ranking_metrics` judges against (one row per customer: hidden = the sorted relevant items).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.recommend.features import day


@dataclass(frozen=True)
class Window:
    """Fit on data up to `train_end`; judge on purchases in [`start`, `end`]."""

    train_end: dt.date
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def first(self, days: int) -> "Window":
        """The same window cut to its first `days` days."""
        return Window(self.train_end, self.start, min(self.end, self.start + dt.timedelta(days=days - 1)))


def windows(cutoff: str | dt.date, test_days: int = 28, validation_days: int = 28) -> tuple[Window, Window]:
    """(validation, test) windows for a model trained as of `cutoff`."""
    if test_days < 1 or validation_days < 1:
        raise ValueError(f"test_days and validation_days must be at least 1, got {test_days}, {validation_days}")
    c = day(cutoff)
    t = c - dt.timedelta(days=test_days - 1)
    v = t - dt.timedelta(days=validation_days)
    one = dt.timedelta(days=1)
    return Window(v - one, v, t - one), Window(t - one, t, c)


def held_out(days: DataFrame, window: Window, exclude: DataFrame | None = None) -> DataFrame:
    """One row per customer who bought a relevant item in `window`: customer_id, hidden (sorted
    distinct product ids). `days`: rows of `features.purchase_days` covering the window; `exclude`
    (customer_id, product_id): pairs that do not count (e.g. the customer's regulars as of the
    window's start, which guess-you-like never recommends)."""
    bought = (days.filter((F.col("order_date") >= F.lit(window.start)) & (F.col("order_date") <= F.lit(window.end)))
              .select("customer_id", "product_id").distinct())
    if exclude is not None:
        bought = bought.join(exclude.select("customer_id", "product_id"), ["customer_id", "product_id"],
                             how="left_anti")
    return (
        bought.groupBy("customer_id")
        .agg(F.array_sort(F.collect_list("product_id")).alias("hidden"))
        .select(F.col("customer_id").cast("string").alias("customer_id"), "hidden")
    )
