"""Churn features: one row per eligible customer as of a cutoff date, computed from data up to and
including the cutoff only.

Grain: one row per (cutoff, customer_id) for the customers ELIGIBLE at the cutoff: those with at
least one completed sale in the `active_days` days up to the cutoff ((cutoff - active_days,
cutoff], default 90). Default 90 is the gold lifecycle's `churn_days` (conf/gold.yaml): a customer
without a purchase for 90 days is already "churned" by the house definition, so eligible = active
and not already churned. Customers who never bought, or whose last purchase is older, are neither
labelled nor scored.

No leakage: `customer_features` cuts every fact frame it is given at the cutoff itself (order,
delivery, event dates; complaint and review local timestamps), so frames that run past the cutoff
(training reads silver once, as of the last labelled day) give exactly the features frames cut at
the cutoff give; the customer dimension must be the version valid at the cutoff (`Facts.customers_at`).
tests/models/test_churn.py proves later orders, deliveries, complaints, reviews and events change
no feature.

Features (windows are the last W days up to the cutoff, (cutoff - W, cutoff]; nulls filled as said):

- recency_days: days from the last completed sale to the cutoff (0: bought on the cutoff);
- orders_30, orders_90, orders_prev_30 (sales in (cutoff - 60, cutoff - 30]), orders_trend =
  orders_30 - orders_prev_30;
- spend_30, spend_90 (sum of total_amount), spend_trend = ln(1 + spend_30) - ln(1 + spend_prev_30);
- orders_history and first_order_days over the `history_days` lookback (default 365);
  observed_days: the days the customer could have bought in, from the latest of (cutoff - history_days
  + 1, first day of data `observed_from`, signup) to the cutoff (at least first_order_days + 1);
  mean_interval_days = (last - first sale) / (sales - 1), observed_days for a single sale;
  overdue_ratio = recency_days / max(mean_interval_days, 1) (how late the next purchase already is);
  expected_missed = recency_days x orders_history / observed_days (the purchases the customer's own
  rate says should have happened since the last one);
- deliveries_90, late_90 (late or failed deliveries of the customer's orders), late_share_90,
  late_decayed = sum over late deliveries of 0.5 ^ (age in days / `half_life_days`);
- complaints_90 (kind complaint), complaints_decayed (same decay), low_ratings_90 (reviews rated <= 2);
- events_14, events_prev_14 (app / web events in (cutoff - 28, cutoff - 14]), days_since_event
  (`history_days` when none);
- tenure_days: days from signup to the cutoff (first_order_days when unknown); is_b2b: 1.0 for
  restaurant customers.

The decayed counts follow how service failures fade from memory (a half-life of three weeks by
default); the generator's churn hazard works the same way, which is what a good feature should
capture, but the half-life is a parameter, not read from the generator.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ACTIVE_DAYS = 90
HISTORY_DAYS = 365
HALF_LIFE_DAYS = 21.0
LOW_RATING = 2
B2B_TYPE = "restaurant"
COMPLAINT = "complaint"
KEYS = ("cutoff", "customer_id")
FEATURES = (
    "recency_days", "orders_30", "orders_90", "orders_prev_30", "orders_trend", "spend_30", "spend_90",
    "spend_trend", "orders_history", "first_order_days", "observed_days", "mean_interval_days", "overdue_ratio",
    "expected_missed",
    "deliveries_90", "late_90", "late_share_90", "late_decayed", "complaints_90", "complaints_decayed",
    "low_ratings_90", "events_14", "events_prev_14", "days_since_event", "tenure_days", "is_b2b",
)


@dataclass
class Facts:
    """The silver frames churn needs: completed sales (one row per order: customer_id, order_id,
    order_date, total_amount), deliveries (order_id, delivery_date, is_late), complaints
    (customer_id, kind, created_ts_local), reviews (customer_id, rating, created_ts_local) and events
    (customer_id, event_date); any of the last four may be None (a retailer without that source).
    `customers_at(day)` gives the customer dimension valid at the end of `day` (customer_id,
    signup_date, customer_type)."""

    sales: DataFrame
    customers_at: Callable[[dt.date], DataFrame]
    deliveries: DataFrame | None = None
    complaints: DataFrame | None = None
    reviews: DataFrame | None = None
    events: DataFrame | None = None


def facts_from(asof) -> Facts:
    """The facts known at the end of `asof.day` (a `jobs.gold.asof.AsOf`); `customers_at(d)` asks an
    AsOf of the same silver for day d (the customer version valid then)."""
    from jobs.gold.asof import AsOf

    def customers_at(day: dt.date) -> DataFrame:
        if day == asof.day:
            return asof.customers()
        return AsOf(asof.spark, asof.settings, day, dict(asof.options), asof.given, asof.given_gold).customers()

    owners = asof.table("orders").select("order_id", "customer_id")
    deliveries = (asof.table("deliveries").join(owners, "order_id", how="inner")
                  if asof.has("deliveries") else None)
    return Facts(
        sales=asof.sales().select("order_id", "customer_id", "order_date", "total_amount"),
        customers_at=customers_at,
        deliveries=deliveries,
        complaints=asof.optional("complaints"),
        reviews=asof.optional("reviews"),
        events=asof.optional("events"),
    )


def first_sale_day(facts: Facts) -> dt.date | None:
    """The first day with a completed sale in the facts (the start of the observed history)."""
    return facts.sales.agg(F.min("order_date")).first()[0]


def day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _age(date_col: str | Column, cutoff: dt.date) -> Column:
    """Days from a date to the cutoff (0 on the cutoff)."""
    column = F.col(date_col) if isinstance(date_col, str) else date_col
    return F.datediff(F.lit(cutoff), column)


def _in_window(age: Column, start: int, end: int) -> Column:
    """age in [start, end): the days (cutoff - end, cutoff - start]."""
    return (age >= F.lit(start)) & (age < F.lit(end))


def _count_if(condition: Column) -> Column:
    return F.sum(F.when(condition, 1.0).otherwise(0.0))


def _decayed(condition: Column, age: Column, half_life: float) -> Column:
    return F.sum(F.when(condition, F.pow(F.lit(0.5), age / F.lit(float(half_life)))).otherwise(0.0))


def eligible(sales: DataFrame, cutoff: str | dt.date, active_days: int = ACTIVE_DAYS) -> DataFrame:
    """customer_id of every customer with a completed sale in (cutoff - active_days, cutoff]."""
    c = day(cutoff)
    age = _age("order_date", c)
    return (sales.filter(F.col("customer_id").isNotNull() & _in_window(age, 0, active_days))
            .select("customer_id").distinct())


def _sales_features(sales: DataFrame, c: dt.date, history_days: int) -> DataFrame:
    age = _age("order_date", c)
    amount = F.col("total_amount").cast("double")
    known = sales.filter(_in_window(age, 0, history_days)).withColumn("_age", age)
    a = F.col("_age")
    spend_prev = F.sum(F.when(_in_window(a, 30, 60), amount).otherwise(0.0))
    return known.groupBy("customer_id").agg(
        F.min("_age").cast("double").alias("recency_days"),
        _count_if(_in_window(a, 0, 30)).alias("orders_30"),
        _count_if(_in_window(a, 0, 90)).alias("orders_90"),
        _count_if(_in_window(a, 30, 60)).alias("orders_prev_30"),
        F.sum(F.when(_in_window(a, 0, 30), amount).otherwise(0.0)).alias("spend_30"),
        F.sum(F.when(_in_window(a, 0, 90), amount).otherwise(0.0)).alias("spend_90"),
        spend_prev.alias("_spend_prev_30"),
        F.count(F.lit(1)).cast("double").alias("orders_history"),
        F.max("_age").cast("double").alias("first_order_days"),
    ).select(
        "customer_id", "recency_days", "orders_30", "orders_90", "orders_prev_30",
        (F.col("orders_30") - F.col("orders_prev_30")).alias("orders_trend"),
        "spend_30", "spend_90",
        (F.log1p("spend_30") - F.log1p("_spend_prev_30")).alias("spend_trend"),
        "orders_history", "first_order_days",
        F.when(F.col("orders_history") > 1,
               (F.col("first_order_days") - F.col("recency_days")) / (F.col("orders_history") - 1))
        .alias("_interval"),
    )


def _delivery_features(deliveries: DataFrame, c: dt.date, half_life: float) -> DataFrame:
    age = _age("delivery_date", c)
    recent = deliveries.filter(_in_window(age, 0, 90) & F.col("customer_id").isNotNull()).withColumn("_age", age)
    late = F.coalesce(F.col("is_late"), F.lit(False))
    return recent.groupBy("customer_id").agg(
        F.count(F.lit(1)).cast("double").alias("deliveries_90"),
        _count_if(late).alias("late_90"),
        _decayed(late, F.col("_age"), half_life).alias("late_decayed"),
    ).withColumn("late_share_90", F.col("late_90") / F.col("deliveries_90"))


def _complaint_features(complaints: DataFrame, c: dt.date, half_life: float) -> DataFrame:
    age = _age(F.to_date("created_ts_local"), c)
    recent = (complaints.filter((F.col("kind") == F.lit(COMPLAINT)) & _in_window(age, 0, 90))
              .withColumn("_age", age))
    return recent.groupBy("customer_id").agg(
        F.count(F.lit(1)).cast("double").alias("complaints_90"),
        _decayed(F.lit(True), F.col("_age"), half_life).alias("complaints_decayed"),
    )


def _review_features(reviews: DataFrame, c: dt.date) -> DataFrame:
    age = _age(F.to_date("created_ts_local"), c)
    return (reviews.filter(_in_window(age, 0, 90) & (F.col("rating") <= F.lit(LOW_RATING)))
            .groupBy("customer_id").agg(F.count(F.lit(1)).cast("double").alias("low_ratings_90")))


def _event_features(events: DataFrame, c: dt.date, history_days: int) -> DataFrame:
    age = _age("event_date", c)
    known = (events.filter(F.col("customer_id").isNotNull() & _in_window(age, 0, history_days))
             .withColumn("_age", age))
    return known.groupBy("customer_id").agg(
        _count_if(_in_window(F.col("_age"), 0, 14)).alias("events_14"),
        _count_if(_in_window(F.col("_age"), 14, 28)).alias("events_prev_14"),
        F.min("_age").cast("double").alias("days_since_event"),
    )


def customer_features(facts: Facts, cutoff: str | dt.date, active_days: int = ACTIVE_DAYS,
                      history_days: int = HISTORY_DAYS, half_life_days: float = HALF_LIFE_DAYS,
                      observed_from: str | dt.date | None = None, customers: DataFrame | None = None) -> DataFrame:
    """The feature frame as of `cutoff`: KEYS + FEATURES (all doubles, no nulls), one row per
    eligible customer. `observed_from`: the first day of data, when the history is shorter than
    `history_days` (rates are per day actually observed); `customers` (the dimension valid at the
    cutoff) defaults to `facts.customers_at(cutoff)`."""
    c = day(cutoff)
    if active_days < 1 or history_days < active_days:
        raise ValueError(f"need 1 <= active_days <= history_days, got {active_days}, {history_days}")
    start = c - dt.timedelta(days=history_days - 1)
    if observed_from is not None:
        start = max(start, day(observed_from))
    people = (customers if customers is not None else facts.customers_at(c)).select(
        "customer_id", "signup_date",
        F.when(F.col("customer_type") == F.lit(B2B_TYPE), 1.0).otherwise(0.0).alias("is_b2b"))
    out = (eligible(facts.sales, c, active_days)
           .join(_sales_features(facts.sales, c, history_days), "customer_id", how="left")
           .join(people, "customer_id", how="left"))
    parts = ((facts.deliveries, lambda d: _delivery_features(d, c, half_life_days)),
             (facts.complaints, lambda d: _complaint_features(d, c, half_life_days)),
             (facts.reviews, lambda d: _review_features(d, c)),
             (facts.events, lambda d: _event_features(d, c, history_days)))
    for frame, build in parts:
        if frame is not None:
            out = out.join(build(frame), "customer_id", how="left")
    return _derived(out, c, start, history_days)


def _derived(out: DataFrame, c: dt.date, start: dt.date, history_days: int) -> DataFrame:
    """Observation span, rates and fills, then the contract's select."""
    since = F.greatest(F.lit(start), F.coalesce(F.col("signup_date"), F.lit(start)))
    observed = F.greatest(F.datediff(F.lit(c), since) + 1, F.col("first_order_days") + 1).cast("double")
    out = (out.withColumn("observed_days", observed)
           .withColumn("mean_interval_days", F.coalesce(F.col("_interval"), F.col("observed_days")))
           .withColumn("overdue_ratio", F.col("recency_days") / F.greatest(F.col("mean_interval_days"), F.lit(1.0)))
           .withColumn("expected_missed", F.col("recency_days") * F.col("orders_history") / F.col("observed_days"))
           .withColumn("tenure_days", F.coalesce(F.datediff(F.lit(c), F.col("signup_date")).cast("double"),
                                                 F.col("first_order_days"))))
    fills = {"days_since_event": float(history_days)}
    columns = []
    for name in FEATURES:
        value = F.col(name) if name in out.columns else F.lit(None)
        columns.append(F.coalesce(value.cast("double"), F.lit(fills.get(name, 0.0))).alias(name))
    return out.select(F.lit(c).alias("cutoff"), F.col("customer_id").cast("string").alias("customer_id"), *columns)
