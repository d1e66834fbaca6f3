"""Demand features as of a cutoff: daily units per product x region (x tier) on a full date spine.

Everything is read through an `AsOf` at the cutoff C (jobs/gold/asof.py), so no fact dated after C,
no promotion that had not started by C and no customer or product version that began after C can
reach a feature (tests/models/test_demand.py proves it by building the features from silver with and
without everything after C).

Grain and label
  One row per series x date, a series being product_id x region (x tier with `by_tier`). `quantity`
  is the units of completed-sale lines (`AsOf.sale_lines`: no returns, no cancelled or refunded
  orders) ordered that day by customers of the region. Region and tier are the buyer's as of C:
  region from the customer version valid at C (conf/gold.yaml `regions`, as gold.customer_profile
  does), tier from gold.customer_profile of C (or a `tiers` frame given), `unknown` when missing.
  The spine is fully filled: every series that sold at least once by C has a row for every day
  from its first sale (or the spine start) to C + horizon, zero when nothing sold, null after C
  (unknown: the forecast fills it). Rows before a series' first sale do not exist and count as zero
  in the lag windows.

Features of a row dated d (known at C; `origin` = min(d - 1, C), the last day whose data is known)
  calendar  iso_weekday, month, day_of_month, is_weekend, is_holiday (an official holiday day off),
            is_off_day (not a working day: weekend or holiday; adjusted working days are worked),
            is_adjusted_workday, days_to_holiday / days_after_holiday (to the next / since the last
            holiday day off, 0 on one, capped at `holiday_cap_days`), next_holiday (its code). The
            calendar is known in advance (AsOf does not cut it); days outside it count as no holiday.
  weather   temp_high_last (daily high of the origin day), temp_high_7d, precip_7d (mean high and
            mean precipitation of the 7 days ending at the origin) of the series' region. A region's
            weather is the mean over its customers' cities (silver.weather per city), weighted by
            the number of customers known at C in each city. The weather of d itself is never used:
            it is not known at C for days after C (silver has no weather forecast), so training rows
            see the same lagged weather a forecast sees.
  promotion promo_depth: the deepest discount_depth of promotions on the product's category_l1
            active on d (start_date <= d <= end_date; only promotions started by C are known; with
            `by_tier` only those targeting `all` or the row's tier); promo_all_depth: the same for
            store-wide promotions (category_l1 `all`, e.g. coupons). 0 when none.
  lags      from the series' own units on days before d: lag_1, lag_7 (same weekday last week),
            lag_14, mean_7, mean_14, mean_28 (means over the 7 / 14 / 28 days before d),
            weekday_mean_4 (mean of the same weekday over the last 4 weeks). After C the forecast
            fills the units it predicted (recursive forecast, models/demand/forecast.py).
  pooled    product_mean_28: the product's mean daily units over all regions in the 28 days ending
            at the origin (sparse series borrow the product's level).
  last year ly_ratio: how category_l2 sold (all regions) around the same point of last year,
            relative to the 28 days before it: mean units of [a-3, a+3] / mean units of [a-28, a-1]
            (both + `ly_smoothing` units a day), a being d moved back one year: to the same offset
            from the same holiday's first day off last year when d lies within
            `holiday_before` days before to `holiday_after` days after a holiday's first day off
            (holidays move: Spring Festival), else d - 364 (same weekday). 1 when last year is not in
            the data (has_last_year 0). ly_expected = mean_28 x ly_ratio. This is what lets the
            model see a planted holiday spike coming before the lags show it.
  series    region, category_l1, category_l2 (product version valid at C), tier (with `by_tier`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf

UNKNOWN = "unknown"
LABEL = "quantity"
DAY = "_day"  # the date as days since 1970-01-01 (range windows need a number)
ORIGIN = "_origin_day"  # min(d - 1, C): the last day whose data is known for a row dated d
EPOCH = dt.date(1970, 1, 1)
MAX_LAG = 28  # the longest look-back of the lag features
NO_HOLIDAY = "none"

CALENDAR_FEATURES = ("iso_weekday", "month", "day_of_month", "is_weekend", "is_holiday", "is_off_day",
                     "is_adjusted_workday", "days_to_holiday", "days_after_holiday")
WEATHER_FEATURES = ("temp_high_last", "temp_high_7d", "precip_7d")
PROMO_FEATURES = ("promo_depth", "promo_all_depth")
LAG_FEATURES = ("lag_1", "lag_7", "lag_14", "mean_7", "mean_14", "mean_28", "weekday_mean_4")
POOLED_FEATURES = ("product_mean_28",)
LAST_YEAR_FEATURES = ("ly_ratio", "ly_expected", "has_last_year")
NUMERIC_FEATURES = (CALENDAR_FEATURES + WEATHER_FEATURES + PROMO_FEATURES + LAG_FEATURES + POOLED_FEATURES
                    + LAST_YEAR_FEATURES)


@dataclass(frozen=True)
class FeatureSpec:
    """How the feature frame is built. `train_days`: training rows are the last N days up to the
    cutoff (None: every day with a full 28-day look-back)."""

    horizon: int = 14
    by_tier: bool = False
    train_days: int | None = 182
    holiday_cap_days: int = 60
    holiday_before: int = 21
    holiday_after: int = 10
    ly_smoothing: float = 1.0

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1 day, got {self.horizon}")
        if self.train_days is not None and self.train_days < 1:
            raise ValueError(f"train_days must be positive or None, got {self.train_days}")

    def as_dict(self) -> dict:
        return {"horizon": self.horizon, "by_tier": self.by_tier, "train_days": self.train_days,
                "holiday_cap_days": self.holiday_cap_days, "holiday_before": self.holiday_before,
                "holiday_after": self.holiday_after, "ly_smoothing": self.ly_smoothing}


def series_keys(by_tier: bool = False) -> list[str]:
    return ["product_id", "region", "tier"] if by_tier else ["product_id", "region"]


def categorical_features(by_tier: bool = False) -> list[str]:
    return ["region", "category_l1", "category_l2", "next_holiday"] + (["tier"] if by_tier else [])


def day_number(column: str | Column) -> Column:
    col = F.col(column) if isinstance(column, str) else column
    return F.datediff(col, F.lit(EPOCH))


# --- inputs ----------------------------------------------------------------------------------------

def customer_dims(asof: AsOf, by_tier: bool = False, tiers: DataFrame | None = None) -> DataFrame:
    """customer_id, city, region (and tier) of every customer known at the cutoff."""
    customers = asof.customers().select(
        "customer_id", "city", config.region_of(F.col("city"), F.col("province")).alias("region"))
    if not by_tier:
        return customers
    if tiers is None:
        from jobs.gold.framework import read_gold

        tiers = read_gold(asof, "customer_profile")
    tiers = tiers.select("customer_id", F.col("tier").cast("string").alias("tier"))
    return (customers.join(tiers, "customer_id", "left")
            .withColumn("tier", F.coalesce(F.col("tier"), F.lit(UNKNOWN))))


def daily_demand(asof: AsOf, by_tier: bool = False, tiers: DataFrame | None = None,
                 dims: DataFrame | None = None) -> DataFrame:
    """Units sold per date x series up to the cutoff, only where something sold (date, keys,
    quantity). Buyers unknown at the cutoff count as region (and tier) `unknown`. `dims`: the
    `customer_dims` frame when the caller has it already."""
    keys = series_keys(by_tier)
    dims = (dims if dims is not None else customer_dims(asof, by_tier, tiers)).drop("city")
    lines = asof.sale_lines().select("customer_id", "order_date", "product_id", "category_l1", "category_l2",
                                     "quantity")
    joined = lines.join(dims, "customer_id", "left").fillna(UNKNOWN, subset=[k for k in keys if k != "product_id"])
    return (joined.groupBy(F.col("order_date").alias("date"), *keys)
            .agg(F.sum("quantity").cast("double").alias(LABEL)))


def calendar_features(calendar: DataFrame | None, cap_days: int = 60, before: int = 21,
                      after: int = 10) -> DataFrame | None:
    """Per calendar date: is_holiday, is_workday, days_to_holiday, days_after_holiday,
    next_holiday and ly_date (the same point last year, see the module doc). None without a
    calendar. The calendar is small (a few years of days): windows without partitions are fine."""
    if calendar is None:
        return None
    cal = calendar.select("date", F.col("holiday_code"), F.col("is_day_off").alias("is_holiday"),
                          F.col("is_workday"))
    hol = F.col("is_holiday") & F.col("holiday_code").isNotNull()
    cal = cal.withColumn("_hol", hol)
    ahead = Window.orderBy("date").rowsBetween(0, Window.unboundedFollowing)
    behind = Window.orderBy("date").rowsBetween(Window.unboundedPreceding, 0)
    prev_day = Window.orderBy("date")
    cal = cal.withColumns({
        "_next": F.min(F.when(F.col("_hol"), F.col("date"))).over(ahead),
        "_prev": F.max(F.when(F.col("_hol"), F.col("date"))).over(behind),
        "next_holiday": F.first(F.when(F.col("_hol"), F.col("holiday_code")), ignorenulls=True).over(ahead),
        # the first day off of a holiday (the day before is not a day off of the same holiday)
        "_start": F.col("_hol") & ~F.coalesce(
            F.lag(F.col("_hol"), 1).over(prev_day) & (F.lag("holiday_code", 1).over(prev_day) == F.col("holiday_code"))
            & (F.datediff(F.col("date"), F.lag("date", 1).over(prev_day)) == 1), F.lit(False)),
    })
    starts = cal.filter("_start").select(F.col("date").alias("_s"), F.col("holiday_code").alias("_code"))
    last_year = starts.select(F.col("_code"), F.year("_s").alias("_year"), F.col("_s").alias("_s_ly"))
    starts = (starts.withColumn("_year", F.year("_s") - 1).join(last_year, ["_code", "_year"], "left")
              .select("_s", "_s_ly"))
    # the nearest holiday start within [start - before, start + after] of each date, if any
    near = (cal.select("date").crossJoin(F.broadcast(starts))
            .withColumn("_offset", F.datediff("date", "_s"))
            .filter(F.col("_offset").between(-before, after))
            .withColumn("_rank", F.row_number().over(Window.partitionBy("date").orderBy(F.abs("_offset"), "_s")))
            .filter("_rank = 1").select("date", "_offset", "_s_ly"))
    capped = lambda c: F.least(F.coalesce(c, F.lit(cap_days)), F.lit(cap_days))  # noqa: E731
    return cal.join(near, "date", "left").select(
        "date",
        F.coalesce(F.col("_hol"), F.lit(False)).alias("is_holiday"),
        F.col("is_workday"),
        capped(F.datediff("_next", "date")).alias("days_to_holiday"),
        capped(F.datediff("date", "_prev")).alias("days_after_holiday"),
        F.coalesce(F.col("next_holiday"), F.lit(NO_HOLIDAY)).alias("next_holiday"),
        F.coalesce(F.date_add("_s_ly", F.col("_offset")), F.date_sub("date", 364)).alias("ly_date"),
    )


def region_weather(weather: DataFrame | None, dims: DataFrame) -> DataFrame | None:
    """date, region, temp_high_c, precipitation_mm: the mean over the region's customers' cities,
    weighted by customers per city (`dims`: customer_id, city, region)."""
    if weather is None:
        return None
    cities = dims.filter(F.col("city").isNotNull()).groupBy("city", "region").agg(F.count("*").alias("_n"))
    w = F.col("_n").cast("double")
    return (weather.join(F.broadcast(cities), "city")
            .groupBy("date", "region")
            .agg((F.sum(w * F.col("temp_high_c").cast("double")) / F.sum(w)).alias("temp_high_c"),
                 (F.sum(w * F.col("precipitation_mm").cast("double")) / F.sum(w)).alias("precipitation_mm")))


def promo_depth(promotions: DataFrame | None, by_tier: bool = False) -> tuple[DataFrame, DataFrame] | None:
    """(per date x category_l1 [x tier]: promo_depth, per date [x tier]: promo_all_depth) of the
    promotions known at the cutoff. Targets: with by_tier, a promotion counts for its target tier
    (or every tier when `all`); without, for everyone."""
    if promotions is None:
        return None
    days = promotions.select(
        F.explode(F.sequence("start_date", "end_date")).alias("date"),
        F.lower(F.coalesce(F.col("category_l1"), F.lit("all"))).alias("category_l1"),
        F.lower(F.coalesce(F.col("target_tier"), F.lit("all"))).alias("_target"),
        F.col("discount_depth").cast("double").alias("_depth"))
    keys = ["date"]
    if by_tier:
        keys.append("_target")
    by_category = days.filter(F.col("category_l1") != "all").groupBy(*keys, "category_l1").agg(
        F.max("_depth").alias("promo_depth"))
    store_wide = days.filter(F.col("category_l1") == "all").groupBy(*keys).agg(
        F.max("_depth").alias("promo_all_depth"))
    return by_category, store_wide


def _join_promos(base: DataFrame, promos: tuple[DataFrame, DataFrame] | None, by_tier: bool) -> DataFrame:
    if promos is None:
        return base.withColumns({"promo_depth": F.lit(0.0), "promo_all_depth": F.lit(0.0)})
    by_category, store_wide = promos
    if by_tier:
        # per tier of the base: the deepest promotion targeting that tier or `all`
        tiers = base.select("tier").distinct()
        applies = (F.col("_target") == "all") | (F.col("_target") == F.lower("tier"))
        by_category = (by_category.crossJoin(tiers).filter(applies)
                       .groupBy("date", "category_l1", "tier").agg(F.max("promo_depth").alias("promo_depth")))
        store_wide = (store_wide.crossJoin(tiers).filter(applies)
                      .groupBy("date", "tier").agg(F.max("promo_all_depth").alias("promo_all_depth")))
        out = base.join(by_category, ["date", "category_l1", "tier"], "left").join(store_wide, ["date", "tier"], "left")
    else:
        out = base.join(F.broadcast(by_category), ["date", "category_l1"], "left")
        out = out.join(F.broadcast(store_wide), ["date"], "left")
    return out.fillna(0.0, subset=["promo_depth", "promo_all_depth"])


# --- lags (pandas: the same code builds training rows and the recursive forecast's rows) ----------

def add_lags(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`frame` with the lag features of every row computed from the `quantity` of the same series
    on earlier days, and ly_expected. Days missing from the frame (before a series' first row, or
    before the frame starts) and null quantities (days after the cutoff not forecast yet) count as
    zero: a row's lags are right when its frame reaches MAX_LAG days back and every earlier day is
    known or forecast (the recursive forecast fills them day by day)."""
    out = frame.reset_index(drop=True).copy()
    if out.empty:
        for name in LAG_FEATURES + ("ly_expected",):
            out[name] = pd.Series(dtype="float64")
        return out
    series = out.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    day = out[DAY].to_numpy(dtype=np.int64)
    first = int(day.min()) - MAX_LAG
    width = int(day.max()) - first + 1
    units = np.zeros((int(series.max()) + 1, width))
    units[series, day - first] = np.nan_to_num(out[LABEL].to_numpy(dtype="float64", na_value=np.nan))
    cumulative = np.concatenate([np.zeros((units.shape[0], 1)), np.cumsum(units, axis=1)], axis=1)
    at = day - first  # column of the row's own day

    def total(back_first: int, back_last: int) -> np.ndarray:
        """Units of the days d - back_first .. d - back_last."""
        return cumulative[series, at - back_last + 1] - cumulative[series, at - back_first]

    out["lag_1"], out["lag_7"], out["lag_14"] = total(1, 1), total(7, 7), total(14, 14)
    out["mean_7"], out["mean_14"], out["mean_28"] = total(7, 1) / 7.0, total(14, 1) / 14.0, total(28, 1) / 28.0
    out["weekday_mean_4"] = (total(7, 7) + total(14, 14) + total(21, 21) + total(28, 28)) / 4.0
    out["ly_expected"] = out["mean_28"] * out["ly_ratio"]
    return out


# --- the feature frame -----------------------------------------------------------------------------

@dataclass
class FeatureSet:
    """The feature frame of one cutoff, collected (pandas). `frame`: every series x date from
    `lag_start` to cutoff + horizon with the series, calendar, weather, promotion, pooled and
    last-year features and `quantity` (NaN after the cutoff), without the lag features (they depend
    on the units of earlier days, which the recursive forecast fills in after the cutoff)."""

    spec: FeatureSpec
    cutoff: dt.date
    keys: list[str]
    first_day: dt.date  # the first day with sales in the data
    train_start: dt.date
    lag_start: dt.date
    frame: pd.DataFrame

    @property
    def horizon_end(self) -> dt.date:
        return self.cutoff + dt.timedelta(days=self.spec.horizon)

    def rows(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        """Rows dated first .. last (inclusive) with every feature (lags from the frame)."""
        return rows_between(self.frame, self.keys, first, last)

    def training_rows(self) -> pd.DataFrame:
        """Rows dated train_start .. cutoff with every feature and the label."""
        return self.rows(self.train_start, self.cutoff)

    def history(self) -> pd.DataFrame:
        """keys, date, quantity of the known days (up to the cutoff)."""
        known = self.frame[self.frame["date"] <= self.cutoff]
        return known[[*self.keys, "date", LABEL]].reset_index(drop=True)

    @property
    def feature_columns(self) -> list[str]:
        return list(NUMERIC_FEATURES)

    @property
    def categorical_columns(self) -> list[str]:
        return categorical_features(self.spec.by_tier)


def rows_between(frame: pd.DataFrame, keys: list[str], first: dt.date, last: dt.date) -> pd.DataFrame:
    """Rows of a collected base frame dated first .. last with the lag features."""
    window = frame[(frame["date"] >= first - dt.timedelta(days=MAX_LAG)) & (frame["date"] <= last)]
    with_lag = add_lags(window, keys)
    return with_lag[with_lag["date"] >= first].reset_index(drop=True)


def collect(base: DataFrame, keys: list[str]) -> pd.DataFrame:
    """The Spark base frame as pandas, sorted by series and date (dates as datetime.date)."""
    pdf = base.toPandas()
    pdf["date"] = pd.to_datetime(pdf["date"]).dt.date
    for name in NUMERIC_FEATURES:
        if name in pdf.columns:
            pdf[name] = pdf[name].astype("float64")
    pdf[LABEL] = pdf[LABEL].astype("float64")
    return pdf.sort_values([*keys, "date"], kind="mergesort").reset_index(drop=True)


def build(asof: AsOf, spec: FeatureSpec | None = None, tiers: DataFrame | None = None) -> FeatureSet:
    """The feature frame as of `asof.day` (see the module doc)."""
    spec = spec or FeatureSpec()
    cutoff = asof.day
    keys = series_keys(spec.by_tier)
    dims = customer_dims(asof, spec.by_tier, tiers)
    demand = daily_demand(asof, spec.by_tier, dims=dims)
    demand = demand.persist(StorageLevel.MEMORY_AND_DISK)
    first = demand.agg(F.min("date")).first()[0]
    if first is None:
        demand.unpersist()
        raise ValueError(f"no completed sales on or before {cutoff}: nothing to build demand features from")
    train_start = first + dt.timedelta(days=MAX_LAG)
    if spec.train_days is not None:
        train_start = max(train_start, cutoff - dt.timedelta(days=spec.train_days - 1))
    if train_start > cutoff:
        demand.unpersist()
        raise ValueError(f"cutoff {cutoff}: sales start on {first}, the lag features need {MAX_LAG} days of "
                         f"history before the first training day")
    lag_start = train_start - dt.timedelta(days=MAX_LAG)
    end = cutoff + dt.timedelta(days=spec.horizon)
    cutoff_day = (cutoff - EPOCH).days

    products = asof.table("products").select("product_id", F.lower("category_l1").alias("category_l1"),
                                             F.col("category_l2"))
    series = (demand.groupBy(*keys).agg(F.min("date").alias("_first"))
              .join(F.broadcast(products), "product_id", "left")
              .fillna(UNKNOWN, subset=["category_l1", "category_l2"]))
    spine = series.select(
        *keys, "category_l1", "category_l2",
        F.explode(F.sequence(F.greatest(F.col("_first"), F.lit(lag_start)), F.lit(end))).alias("date"))
    base = (spine.join(demand.select("date", *keys, LABEL), ["date", *keys], "left")
            .withColumn(LABEL, F.when(F.col("date") <= F.lit(cutoff), F.coalesce(F.col(LABEL), F.lit(0.0))))
            .withColumn(DAY, day_number("date"))
            .withColumn(ORIGIN, F.least(F.col(DAY) - 1, F.lit(cutoff_day))))

    # calendar
    weekday = F.weekday("date")  # 0 = Monday
    base = base.withColumns({"iso_weekday": weekday + 1, "month": F.month("date"),
                             "day_of_month": F.dayofmonth("date"), "is_weekend": weekday >= 5})
    cal = calendar_features(asof.optional("calendar"), spec.holiday_cap_days, spec.holiday_before,
                            spec.holiday_after)
    if cal is not None:
        base = base.join(F.broadcast(cal), "date", "left")
    else:
        base = base.withColumns({c: F.lit(None) for c in ("is_holiday", "is_workday", "days_to_holiday",
                                                           "days_after_holiday", "next_holiday", "ly_date")})
    base = base.withColumns({
        "is_holiday": F.coalesce(F.col("is_holiday"), F.lit(False)),
        "is_off_day": ~F.coalesce(F.col("is_workday"), ~F.col("is_weekend")),
        "is_adjusted_workday": F.col("is_weekend") & F.coalesce(F.col("is_workday"), F.lit(False)),
        "days_to_holiday": F.coalesce(F.col("days_to_holiday"), F.lit(spec.holiday_cap_days)),
        "days_after_holiday": F.coalesce(F.col("days_after_holiday"), F.lit(spec.holiday_cap_days)),
        "next_holiday": F.coalesce(F.col("next_holiday"), F.lit(NO_HOLIDAY)),
        "ly_date": F.coalesce(F.col("ly_date"), F.date_sub("date", 364)),
    }).drop("is_workday")

    # weather of the origin day and the 7 days ending at it
    weather = region_weather(asof.optional("weather"), dims)
    if weather is not None:
        w_order = Window.partitionBy("region").orderBy(DAY).rangeBetween(-6, 0)
        weather = (weather.withColumn(DAY, day_number("date"))
                   .select("region", F.col(DAY).alias(ORIGIN),
                           F.col("temp_high_c").alias("temp_high_last"),
                           F.avg("temp_high_c").over(w_order).alias("temp_high_7d"),
                           F.avg("precipitation_mm").over(w_order).alias("precip_7d")))
        base = base.join(F.broadcast(weather), ["region", ORIGIN], "left")
    else:
        base = base.withColumns({c: F.lit(None).cast("double") for c in WEATHER_FEATURES})

    # promotions active on the day
    base = _join_promos(base, promo_depth(asof.optional("promotions"), spec.by_tier), spec.by_tier)

    # the product's level over all regions, at the origin
    product_days = demand.groupBy("product_id", "date").agg(F.sum(LABEL).alias("_units"))
    p_spine = (product_days.groupBy("product_id").agg(F.min("date").alias("_first"))
               .select("product_id", F.explode(F.sequence(F.greatest("_first", F.lit(lag_start - dt.timedelta(days=1))),
                                                          F.lit(cutoff))).alias("date")))
    p_order = Window.partitionBy("product_id").orderBy(DAY).rangeBetween(-(MAX_LAG - 1), 0)
    pooled = (p_spine.join(product_days, ["product_id", "date"], "left").withColumn(DAY, day_number("date"))
              .select("product_id", F.col(DAY).alias(ORIGIN),
                      (F.coalesce(F.sum("_units").over(p_order), F.lit(0.0)) / float(MAX_LAG)).alias("product_mean_28")))
    base = base.join(pooled, ["product_id", ORIGIN], "left").fillna(0.0, subset=["product_mean_28"])

    # last year's movement of the category around the same point of the year
    base = _join_last_year(base, demand, products, first, cutoff, spec.ly_smoothing)

    base = base.withColumns({c: F.col(c).cast("double") for c in NUMERIC_FEATURES if c in base.columns
                             and c not in LAG_FEATURES})
    base = base.select(*keys, "category_l1", "category_l2", "date", DAY, ORIGIN, LABEL, *CALENDAR_FEATURES,
                       "next_holiday", *WEATHER_FEATURES, *PROMO_FEATURES, *POOLED_FEATURES, "ly_ratio",
                       "has_last_year")
    frame = collect(base, keys)
    demand.unpersist()
    return FeatureSet(spec=spec, cutoff=cutoff, keys=keys, first_day=first, train_start=train_start,
                      lag_start=lag_start, frame=frame)


def _join_last_year(base: DataFrame, demand: DataFrame, products: DataFrame, first: dt.date, cutoff: dt.date,
                    smoothing: float) -> DataFrame:
    """ly_ratio and has_last_year per row from category_l2 units around `ly_date` (known days only:
    a window that reaches before the first sale day or after the cutoff is not used)."""
    cat_days = (demand.join(F.broadcast(products.select("product_id", "category_l2")), "product_id", "left")
                .fillna(UNKNOWN, subset=["category_l2"])
                .groupBy("category_l2", "date").agg(F.sum(LABEL).alias("_units")))
    categories = cat_days.select("category_l2").distinct()
    dates = cat_days.sparkSession.range(1).select(
        F.explode(F.sequence(F.lit(first), F.lit(cutoff))).alias("date"))
    grid = (categories.crossJoin(dates).join(cat_days, ["category_l2", "date"], "left")
            .withColumn(DAY, day_number("date")))
    order = Window.partitionBy("category_l2").orderBy(DAY)
    first_day, cutoff_day = (first - EPOCH).days, (cutoff - EPOCH).days
    around = F.sum(F.coalesce("_units", F.lit(0.0))).over(order.rangeBetween(-3, 3)) / 7.0
    before = F.sum(F.coalesce("_units", F.lit(0.0))).over(order.rangeBetween(-MAX_LAG, -1)) / float(MAX_LAG)
    known = (F.col(DAY) - MAX_LAG >= first_day) & (F.col(DAY) + 3 <= cutoff_day)
    ratios = grid.select("category_l2", F.col("date").alias("ly_date"),
                         F.when(known, (around + smoothing) / (before + smoothing)).alias("_ratio"))
    joined = base.join(ratios, ["category_l2", "ly_date"], "left")
    return joined.withColumns({"ly_ratio": F.coalesce(F.col("_ratio"), F.lit(1.0)),
                               "has_last_year": F.col("_ratio").isNotNull()}).drop("_ratio", "ly_date")
