"""Behaviour features for customer segmentation, from the customer profile as of a cutoff.

Grain: one row per customer of the profile with at least `min_orders` completed sales up to the
cutoff (a customer who never bought has no behaviour to segment): customer_id, then one double per
feature column (`feature_columns(categories)`), nulls filled with 0.

Every feature is a share, a rate or a logarithm of what the customer did, read from
`gold.customer_profile` of the cutoff date (which only sees silver up to that date, see
`jobs/gold/asof.py`); nothing here looks at the calendar or at later data:

- when: the share of orders in each hour band of `HOUR_BANDS` (local hours, from the profile's 24
  hourly shares), and `weekend_share`;
- how much: `log_order_value` (log of 1 + the average order value), `log_orders_per_month` (log of
  1 + orders per month of activity: orders_total over the days from the first order to the cutoff
  divided by 30, at least one month);
- what: `cat_<l1>` the share of spend in each top-level category (`categories`, the keys of the
  profile's category_l1_share map the model was trained with, so scoring uses the same columns);
- where and how they pay: `channel_store`, `channel_wholesale`, `channel_web` (shares of orders),
  `pay_cash` (cash, in store or on delivery), `pay_bank_transfer` (shares of orders), `is_b2b` (1 for a restaurant account);
- price: `promo_order_share` (orders with a promotion or coupon) and `discount_rate` (discount over
  gross value), as the profile defines them.

Standardisation (zero mean, unit variance) is the first stage of the model (`train.pipeline`), fitted
on the training customers only.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.gold import customer_profile
from jobs.gold.asof import AsOf
from jobs.gold.framework import read_gold

# hour band -> local hours (the profile's hour_share index); late evening wraps past midnight
HOUR_BANDS: dict[str, tuple[int, ...]] = {
    "early_morning": (4, 5, 6, 7, 8),
    "morning": (9, 10, 11),
    "midday": (12, 13, 14),
    "afternoon": (15, 16, 17, 18),
    "evening": (19, 20, 21, 22, 23, 0, 1, 2, 3),
}
CHANNELS = {"channel_store": "store", "channel_wholesale": "wholesale", "channel_web": "web"}
PAYMENTS = {"pay_cash": ("cash", "cash_on_delivery"), "pay_bank_transfer": ("bank_transfer",)}
B2B_TYPE = "restaurant"
DAYS_PER_MONTH = 30.0
DEFAULT_MIN_ORDERS = 2
BASE_COLUMNS = (
    *(f"hour_{band}" for band in HOUR_BANDS), "weekend_share", "log_order_value", "log_orders_per_month",
    *CHANNELS, *PAYMENTS, "is_b2b", "promo_order_share", "discount_rate",
)
# what the features need from the profile
PROFILE_COLUMNS = ("customer_id", "orders_total", "first_order_date", "last_order_date", "recency_days",
                   "avg_order_value", "hour_share",
                   "weekend_share", "channel_mix", "payment_mix", "category_l1_share", "customer_type",
                   "promo_order_share", "discount_rate")


def category_column(l1: str) -> str:
    return f"cat_{l1}"


def feature_columns(categories: list[str] | tuple[str, ...]) -> list[str]:
    """The model's input columns, in order: the base features, then one share per category_l1."""
    return [*BASE_COLUMNS, *(category_column(c) for c in categories)]


def categories_in(profile: DataFrame) -> list[str]:
    """The sorted category_l1 keys found in the profile's category_l1_share maps."""
    rows = (profile.select(F.explode(F.map_keys("category_l1_share")).alias("l1"))
            .distinct().orderBy("l1").collect())
    return [r["l1"] for r in rows if r["l1"] is not None]


def _share(mix: str, key: str) -> Column:
    return F.coalesce(F.element_at(F.col(mix), F.lit(key)), F.lit(0.0)).cast("double")


def _hour_band(hours: tuple[int, ...]) -> Column:
    return sum((F.coalesce(F.col("hour_share")[h], F.lit(0.0)) for h in hours), F.lit(0.0)).cast("double")


def behaviour_features(profile: DataFrame, categories: list[str] | tuple[str, ...],
                       min_orders: int = DEFAULT_MIN_ORDERS) -> DataFrame:
    """One row per customer of `profile` (a gold.customer_profile slice) with at least `min_orders`
    orders: customer_id and the double columns of `feature_columns(categories)`, sorted by
    customer_id."""
    if min_orders < 1:
        raise ValueError(f"min_orders must be at least 1, got {min_orders}")
    missing = [c for c in PROFILE_COLUMNS if c not in profile.columns]
    if missing:
        raise ValueError(f"the profile lacks the columns {missing}")
    active_days = F.datediff("last_order_date", "first_order_date") + F.col("recency_days") + 1
    months = F.greatest(active_days, F.lit(DAYS_PER_MONTH)) / F.lit(DAYS_PER_MONTH)
    base = profile.filter(F.col("orders_total") >= min_orders)
    columns = {
        **{f"hour_{band}": _hour_band(hours) for band, hours in HOUR_BANDS.items()},
        "weekend_share": F.coalesce(F.col("weekend_share"), F.lit(0.0)),
        "log_order_value": F.log1p(F.coalesce(F.col("avg_order_value"), F.lit(0.0))),
        "log_orders_per_month": F.log1p(F.col("orders_total") / months),
        **{name: _share("channel_mix", code) for name, code in CHANNELS.items()},
        **{name: sum((_share("payment_mix", code) for code in codes), F.lit(0.0)) for name, codes in PAYMENTS.items()},
        "is_b2b": F.when(F.col("customer_type") == F.lit(B2B_TYPE), 1.0).otherwise(0.0),
        "promo_order_share": F.coalesce(F.col("promo_order_share"), F.lit(0.0)),
        "discount_rate": F.coalesce(F.col("discount_rate"), F.lit(0.0)),
        **{category_column(c): _share("category_l1_share", c) for c in categories},
    }
    return base.select(
        F.col("customer_id").cast("string").alias("customer_id"),
        *[expr.cast("double").alias(name) for name, expr in columns.items()],
    ).orderBy("customer_id")


def profile_as_of(asof: AsOf) -> DataFrame:
    """The customer profile of `asof.date`: the stored gold.customer_profile slice of that date when
    it exists, else computed from silver as of the date (`customer_profile.features`: every profile
    column but tier, model outputs and tags, which segmentation does not use). Either way only data
    up to the date is seen."""
    stored = read_gold(asof, "customer_profile", required=False)
    if stored is not None and stored.limit(1).count() > 0:
        return stored
    return customer_profile.features(asof)
