"""gold.habit_service: delivery punctuality, complaints, and whether late deliveries cost repurchases, as of D.

Grain: one row per as-of date D x measure x period_start x slot x region x tier x group (a long
table; `all` marks a rolled-up dimension, and a dimension a measure does not use). Columns: measure,
period (`day` | `month` | `window`), period_start, slot, region, tier, group, numerator,
denominator, value, avg_delay_minutes. Every value comes with its counts.

Region: for deliveries, of the delivery city (conf/gold.yaml `regions` via config.region_of; the
city's province taken from silver.customers, where the retailer's cities are known); for orders and
complaints, the customer's region in gold.customer_profile of D. Tier: the profile tier of D.
Null values are `unknown`. Late = silver.deliveries.is_late (delivered after the promised window,
or failed).

- `delivery_delay` (period `day`: period_start = delivery_date, each of the last
  `habits.delay_days` days, default 30; slot x region with `all` rollups; tier, group `all`):
  denominator = deliveries, numerator = late ones, value = late share, avg_delay_minutes = mean
  delay_minutes of the delivered ones (negative = early).
- `complaint_rate` (period `month`: period_start = first day of the month, the last
  `habits.months` months, default 12, D's month to date; region x tier with `all` rollups; slot,
  group `all`): numerator = complaints (kind `complaint`, not suggestions) created in the month,
  denominator = completed sales (AsOf.sales) in the month, value = complaints per 100 orders (null
  without orders).
- `repurchase_after_delivery` (period `window`: period_start = first delivery date measured):
  deliveries dated in the `habits.window_days` days (default 90) ending `habits.repurchase_days`
  (default 30) days before D, so each has its full follow-up inside the data; group `late` |
  `on_time`; region (delivery city) x tier with `all` rollups; slot `all`. denominator =
  deliveries, numerator = deliveries whose customer (the order's) placed another completed sale
  dated 1..repurchase_days days after the delivery date, value = repurchase rate. Compare the
  `late` and `on_time` rows of one region and tier.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold
from jobs.gold.habits import ALL, UNKNOWN, cube, dims, first_month, habit_conf, in_window, ratio, with_dims

DELAY, COMPLAINTS, REPURCHASE = "delivery_delay", "complaint_rate", "repurchase_after_delivery"
COMPLAINT = "complaint"
LATE, ON_TIME = "late", "on_time"
PER_HUNDRED = 100.0
COLUMNS = ("measure string, period string, period_start date, slot string, region string, tier string, "
           "group string, numerator long, denominator long, value double, avg_delay_minutes double")


def _shaped(df: DataFrame, **fixed) -> DataFrame:
    """The table's columns in order: `fixed` gives constants, a column not there is null."""
    out = []
    for name, kind in (c.split(" ") for c in COLUMNS.split(", ")):
        col = F.lit(fixed[name]) if name in fixed else (F.col(name) if name in df.columns else F.lit(None))
        out.append(col.cast(kind).alias(name))
    return df.select(*out)


def delivery_regions(deliveries: DataFrame, cities: DataFrame, conf: dict) -> DataFrame:
    """Deliveries with `region` of their city (province from `cities`: city, province)."""
    provinces = cities.groupBy("city").agg(F.max("province").alias("_province"))
    return (deliveries.join(F.broadcast(provinces), "city", "left")
            .withColumn("region", F.coalesce(config.region_of(F.col("city"), F.col("_province"), conf),
                                             F.lit(UNKNOWN)))
            .withColumn("slot", F.coalesce("slot", F.lit(UNKNOWN))))


def delay_rows(deliveries: DataFrame, day: dt.date, days: int) -> DataFrame:
    recent = cube(deliveries.filter(in_window("delivery_date", day, days)), "slot", "region")
    grouped = recent.groupBy(F.col("delivery_date").alias("period_start"), "slot", "region").agg(
        F.count("*").alias("denominator"), F.count(F.when(F.col("is_late"), 1)).alias("numerator"),
        F.avg("delay_minutes").alias("avg_delay_minutes"))
    return _shaped(grouped.withColumn("value", ratio("numerator", "denominator")),
                   measure=DELAY, period="day", tier=ALL, group=ALL)


def complaint_rows(sales: DataFrame, complaints: DataFrame, profile_dims: DataFrame, day: dt.date,
                   months: int) -> DataFrame:
    since = F.lit(first_month(day, months))
    orders = (sales.filter(F.col("order_date") >= since)
              .select("customer_id", F.trunc("order_date", "month").alias("period_start")))
    filed = (complaints.filter((F.col("kind") == COMPLAINT) & (F.to_date("created_ts_local") >= since))
             .select("customer_id", F.trunc(F.to_date("created_ts_local"), "month").alias("period_start")))
    keys = ["period_start", "region", "tier"]

    def counted(df: DataFrame, name: str) -> DataFrame:
        return (cube(with_dims(df, profile_dims, "region", "tier"), "region", "tier")
                .groupBy(*keys).agg(F.count("*").alias(name)))

    both = (counted(orders, "denominator").join(counted(filed, "numerator"), keys, "full")
            .fillna(0, subset=["denominator", "numerator"]))
    value = ratio(F.col("numerator") * PER_HUNDRED, F.col("denominator"))
    return _shaped(both.withColumn("value", value), measure=COMPLAINTS, period="month", slot=ALL, group=ALL)


def repurchase_rows(deliveries: DataFrame, orders: DataFrame, sales: DataFrame, profile_dims: DataFrame,
                    day: dt.date, window_days: int, follow_days: int) -> DataFrame:
    last = day - dt.timedelta(days=follow_days)
    owned = (deliveries.filter(in_window("delivery_date", last, window_days))
             .join(orders.select("order_id", "customer_id"), "order_id", "inner"))
    later = sales.select("customer_id", F.col("order_date").alias("_next"))
    followed = F.datediff(F.col("_next"), F.col("delivery_date")).between(1, follow_days)
    came_back = (owned.join(later, "customer_id", "inner").filter(followed)
                 .select("delivery_id").distinct().withColumn("_back", F.lit(True)))
    rows = (owned.join(came_back, "delivery_id", "left")
            .withColumn("group", F.when(F.col("is_late"), F.lit(LATE)).otherwise(F.lit(ON_TIME))))
    rows = cube(with_dims(rows, profile_dims.select("customer_id", "tier"), "tier"), "region", "tier")
    grouped = rows.groupBy("group", "region", "tier").agg(
        F.count("*").alias("denominator"), F.count("_back").alias("numerator"))
    start = last - dt.timedelta(days=window_days - 1)
    return _shaped(grouped.withColumn("value", ratio("numerator", "denominator")),
                   measure=REPURCHASE, period="window", period_start=start, slot=ALL)


def transform(deliveries: DataFrame, orders: DataFrame, sales: DataFrame, complaints: DataFrame | None,
              cities: DataFrame, profile: DataFrame, day: dt.date, conf: dict) -> DataFrame:
    """Rows of gold.habit_service. Silver frames cut at `day`: `deliveries`, `orders` (all orders,
    for a delivery's customer), `sales` (completed sales: customer_id, order_date), `complaints`
    (or None), `cities` (city, province from silver.customers); `profile` of D (customer_id,
    region, tier)."""
    h = habit_conf(conf)
    located = delivery_regions(deliveries, cities, conf)
    profile_dims = dims(profile, "region", "tier")
    out = (delay_rows(located, day, h["delay_days"])
           .unionByName(repurchase_rows(located, orders, sales, profile_dims, day, h["window_days"],
                                        h["repurchase_days"])))
    if complaints is not None:
        out = out.unionByName(complaint_rows(sales, complaints, profile_dims, day, h["months"]))
    return out


def build(asof: AsOf) -> DataFrame:
    return transform(asof.table("deliveries"), asof.table("orders"), asof.sales(), asof.optional("complaints"),
                     asof.customers().select("city", "province"), read_gold(asof, "customer_profile"),
                     asof.day, config.load())


JOB = GoldJob(table="gold.habit_service", build=build, needs=("customer_profile",))
