"""gold.habit_purchase_frequency: how often customers buy, as a distribution, as of D.

Grain: one row per as-of date D x period (`week` | `month`) x tier x region x purchases, where
`purchases` is a number of orders and the row counts the customers who placed exactly that many.

- The periods are the last complete ones up to D: the last ISO week (Monday-Sunday) that ended on
  or before D (the week ending D when D is a Sunday), and the last calendar month that ended on or
  before D (D's month when D is its last day). `period_start` / `period_end` give the dates, so a
  dashboard shows "customers by number of orders last week / last month", stable within a period.
- purchases: completed sales (AsOf.sales: not returns, not cancelled or refunded) placed in the
  period, counted as orders (two orders on one day are two purchases). No cap: the long tail of
  restaurant buyers stays visible.
- customers in the distribution: every customer of the profile of D who had joined by the period's
  end (the earlier of signup_date and first_order_date on or before period_end, or unknown), so
  `purchases = 0` counts the known customers who did not buy in the period.
- tier, region: the customer's in gold.customer_profile of D (not of the period); null as
  `unknown`. Rollups: every tier x region, each tier with region `all`, each region with tier
  `all`, and `all` x `all`.
- share: customers / all customers of the same period, tier and region (the shares of a
  distribution sum to 1).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold
from jobs.gold.habits import cube, dims, ratio, with_dims

WEEK, MONTH = "week", "month"
SUNDAY = 7


def last_complete_periods(day: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """period -> (first day, last day) of the last complete ISO week and calendar month up to `day`."""
    week_end = day if day.isoweekday() == SUNDAY else day - dt.timedelta(days=day.isoweekday())
    month_end = day if (day + dt.timedelta(days=1)).day == 1 else day.replace(day=1) - dt.timedelta(days=1)
    return {WEEK: (week_end - dt.timedelta(days=6), week_end), MONTH: (month_end.replace(day=1), month_end)}


def transform(sales: DataFrame, profile: DataFrame, periods: dict[str, tuple[dt.date, dt.date]]) -> DataFrame:
    """Rows of gold.habit_purchase_frequency. `sales`: completed sales (customer_id, order_id,
    order_date); `profile`: the profile of D (customer_id, tier, region, signup_date, first_order_date)."""
    spans = sales.sparkSession.createDataFrame(
        [(p, start, end) for p, (start, end) in sorted(periods.items())],
        "period string, period_start date, period_end date")
    joined_by = F.least(F.col("signup_date"), F.col("first_order_date"))
    people = (profile.select("customer_id", joined_by.alias("_joined"))
              .crossJoin(spans)
              .filter(F.col("_joined").isNull() | (F.col("_joined") <= F.col("period_end"))))
    counts = (sales.join(spans, F.col("order_date").between(F.col("period_start"), F.col("period_end")), "inner")
              .groupBy("customer_id", "period").agg(F.count_distinct("order_id").alias("_n")))
    per_customer = (people.join(counts, ["customer_id", "period"], "left")
                    .withColumn("purchases", F.coalesce(F.col("_n"), F.lit(0)).cast("int")))
    per_customer = with_dims(per_customer, dims(profile, "tier", "region"), "tier", "region")
    grouped = (cube(per_customer, "tier", "region")
               .groupBy("period", "period_start", "period_end", "tier", "region", "purchases")
               .agg(F.count("*").alias("customers")))
    total = F.sum("customers").over(Window.partitionBy("period", "tier", "region"))
    return grouped.select(
        "period", "period_start", "period_end", "tier", "region", "purchases",
        F.col("customers").cast("long").alias("customers"),
        ratio(F.col("customers"), total).alias("share"),
    )


def build(asof: AsOf) -> DataFrame:
    profile = read_gold(asof, "customer_profile")
    sales = asof.sales().select("customer_id", "order_id", "order_date")
    return transform(sales, profile, last_complete_periods(asof.day))


JOB = GoldJob(table="gold.habit_purchase_frequency", build=build, needs=("customer_profile",))
