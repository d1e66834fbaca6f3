"""The churn label: no completed sale in the `horizon` days after the cutoff.

Grain: one row per (cutoff, customer_id) of the given eligible customers (see
`features.eligible`): label 1.0 (churned) when the customer has no completed sale dated in
(cutoff, cutoff + horizon], else 0.0. A sale ON the cutoff belongs to the features (recency 0), not
to the label; a sale exactly `horizon` days after the cutoff still counts as a purchase (label 0).
`next_order_days` is the days from the cutoff to the first sale in the window (null when churned).

The label needs the whole window observed: `check_observed` refuses a cutoff whose window ends after
the last day of data (an unobserved tail would look like churn).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.churn.features import day

HORIZON_DAYS = 90
LABEL = "label"


def window_end(cutoff: str | dt.date, horizon: int) -> dt.date:
    """The last day of the label window of `cutoff`."""
    return day(cutoff) + dt.timedelta(days=horizon)


def check_observed(cutoff: str | dt.date, horizon: int, data_end: str | dt.date) -> None:
    """Raises ValueError when (cutoff, cutoff + horizon] is not fully inside the data (up to data_end)."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, got {horizon}")
    end = window_end(cutoff, horizon)
    if end > day(data_end):
        raise ValueError(f"the label window of cutoff {day(cutoff)} ends {end}, after the last day of data "
                         f"{day(data_end)}: its churn label is not observed yet")


def labels(sales: DataFrame, customers: DataFrame, cutoff: str | dt.date, horizon: int = HORIZON_DAYS) -> DataFrame:
    """cutoff, customer_id, label (1.0 = no sale in (cutoff, cutoff + horizon]), next_order_days, for
    each customer_id of `customers` (the eligible customers at the cutoff). `sales` must run to at
    least cutoff + horizon (see `check_observed`)."""
    c = day(cutoff)
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, got {horizon}")
    after = F.datediff(F.col("order_date"), F.lit(c))
    following = (sales.filter((after >= F.lit(1)) & (after <= F.lit(horizon)))
                 .groupBy("customer_id").agg(F.min(after).alias("next_order_days")))
    return (customers.select("customer_id").distinct()
            .join(following, "customer_id", how="left")
            .select(F.lit(c).alias("cutoff"), F.col("customer_id").cast("string").alias("customer_id"),
                    F.when(F.col("next_order_days").isNull(), 1.0).otherwise(0.0).alias(LABEL),
                    F.col("next_order_days").cast("int").alias("next_order_days")))
