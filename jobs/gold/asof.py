"""The silver layer as it was known at the end of an as-of date: the only way gold reads silver.

Every gold table and every model feature is computed "as of" a date D, using only what had happened
by the end of D (in the retailer's time zone). Instead of each job remembering to filter, jobs ask
an `AsOf` for a silver table and get it already cut at D:

- facts (orders, order lines, events, deliveries, reviews, complaints, campaign sends, inventory,
  weather) keep only rows whose business date is on or before D;
- dimensions kept as history (customers, products) give the version that was valid at the end of D
  (so a customer who moved city after D is still in the old city);
- promotions are those that had started by D; the calendar is known in advance and is not cut.

`tests/jobs/gold/test_asof.py` proves nothing after D gets through, for every table.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from habitlake import catalog
from habitlake.settings import Settings

# silver table -> the column holding its business date (facts are cut at D on this column)
FACT_DATES = {
    "orders": "order_date",
    "order_lines": "order_date",
    "events": "event_date",
    "deliveries": "delivery_date",
    "inventory": "snapshot_date",
    "weather": "date",
}
# silver table -> local timestamp column whose date is the business date
FACT_LOCAL_TS = {
    "reviews": "created_ts_local",
    "complaints": "created_ts_local",
    "campaign_sends": "sent_ts_local",
}
HISTORY = {"customers": "customer_id", "products": "product_id"}  # SCD2 dimensions and their entity key


def parse_day(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"as-of date {value!r} is not an ISO date (YYYY-MM-DD)") from None


class MissingSource(LookupError):
    """A silver table a gold job reads does not exist: the retailer has no such source (e.g. no
    promotions), or silver has not run yet. `habitlake gold` skips the job (and the jobs that need
    it) and says so; reading it directly raises."""

    def __init__(self, name: str) -> None:
        super().__init__(f"silver.{name} does not exist (the retailer has no such source, or `habitlake silver` "
                         f"has not run yet)")
        self.source = name


@dataclass
class AsOf:
    """Silver cut at the end of `day`. Tables are read once per AsOf and reused by every job."""

    spark: SparkSession
    settings: Settings
    day: dt.date
    options: dict = field(default_factory=dict)  # run options, e.g. {"tier_rules": "recency_spend"}
    given: dict[str, DataFrame] | None = None  # tests: silver frames instead of the lakehouse
    given_gold: dict[str, DataFrame] | None = None  # tests: gold frames instead of the lakehouse
    _frames: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.day = parse_day(self.day)

    @classmethod
    def from_frames(cls, spark: SparkSession, settings: Settings, day: str, silver: dict[str, DataFrame],
                    gold: dict[str, DataFrame] | None = None) -> "AsOf":
        """An AsOf that answers from in-memory frames (tests): the same cut at D is applied to them,
        and a table not given does not exist."""
        return cls(spark, settings, parse_day(day), given=dict(silver), given_gold=dict(gold or {}))

    @property
    def date(self) -> str:
        return self.day.isoformat()

    @property
    def date_lit(self) -> Column:
        return F.lit(self.day)

    @cached_property
    def end_utc(self) -> Column:
        """The first instant after D, in UTC (session time zone is UTC; tables store UTC)."""
        next_local = F.lit(dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time()))
        return F.to_utc_timestamp(next_local, self.settings.timezone)

    def has(self, name: str) -> bool:
        if self.given is not None:
            return name in self.given
        return catalog.exists(self.spark, self.settings, catalog.table(f"silver.{name}"))

    def table(self, name: str) -> DataFrame:
        """silver.<name> as known at the end of D. Raises when the retailer has no such table."""
        if name not in self._frames:
            if not self.has(name):
                raise MissingSource(name)
            raw = (self.given[name] if self.given is not None
                   else catalog.read(self.spark, self.settings, f"silver.{name}"))
            self._frames[name] = self._cut(name, raw)
        return self._frames[name]

    def optional(self, name: str) -> DataFrame | None:
        return self.table(name) if self.has(name) else None

    def _cut(self, name: str, df: DataFrame) -> DataFrame:
        day = self.date_lit
        if name in FACT_DATES:
            return df.filter(F.col(FACT_DATES[name]) <= day)
        if name in FACT_LOCAL_TS:
            return df.filter(F.to_date(FACT_LOCAL_TS[name]) <= day)
        if name in HISTORY:
            valid = (F.col("valid_from") < self.end_utc) & (
                F.col("valid_to").isNull() | (F.col("valid_to") >= self.end_utc))
            return df.filter(valid).drop("valid_to", "is_current", "attrs_hash")
        if name == "promotions":
            return df.filter(F.col("start_date") <= day)
        if name == "calendar":
            return df
        raise KeyError(f"silver.{name}: no as-of rule; add it to jobs/gold/asof.py")

    # Convenience views shared by several gold jobs -------------------------------------------

    def _kept(self, key: str, build) -> DataFrame:
        """A frame many jobs of this as-of date read, computed once and kept (see `release`)."""
        if key not in self._frames:
            self._frames[key] = build().persist(StorageLevel.MEMORY_AND_DISK)
        return self._frames[key]

    def release(self) -> None:
        """Drop the frames kept for this as-of date (end of a run)."""
        for df in self._frames.values():
            if df.is_cached:
                df.unpersist()
        self._frames.clear()

    def sales(self) -> DataFrame:
        """Completed sales (not returns, not cancelled or refunded), one row per order; kept."""
        return self._kept("_sales", lambda: self.table("orders").filter(
            ~F.col("is_return") & F.col("status").isin("paid", "delivered")))

    def sale_lines(self) -> DataFrame:
        """Lines of completed sales joined to the product version valid at D (category, brand, cost);
        kept."""
        def build() -> DataFrame:
            sales = self.sales().select("order_id", "customer_id", "order_ts_local", "channel", "promo_id")
            products = self.table("products").select("product_id", "product_name", "category_l1", "category_l2",
                                                       "brand", "list_price", "unit_cost", "shelf_life_days")
            lines = self.table("order_lines").filter(~F.col("is_return"))
            return lines.join(sales, "order_id").join(F.broadcast(products), "product_id", "left")
        return self._kept("_sale_lines", build)

    def customers(self) -> DataFrame:
        """One row per customer known at D (the version valid at the end of D)."""
        return self.table("customers")
