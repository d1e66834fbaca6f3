"""Forecasts from a cutoff: the recursive multi-day forecast, the seasonal-naive baseline, and the
shapes of `gold.demand_forecast` and `gold.replenishment`.

Recursive, not direct: one model predicts one day from the days before it (the lag features of
models/demand/features.py). For day C + k it sees the actual units up to the cutoff C and its own
forecasts for C + 1 .. C + k - 1 in place of the unknown units; every other feature of C + k is known
at C (calendar, promotions started by C, the weather and product level at C, last year). One model
serves every horizon (1 to 14 days) and its training rows are the plain daily history; the price is
that errors of early days feed the lags of later ones. Forecasts below zero are clipped to zero.
The recursion runs on the collected (pandas) feature frame: each step recomputes the lag features
with the same `features.add_lags` that built the training rows.

Tiers (the supply-chain seed's "demand forecast per tier"): the model forecasts product x region;
`gold.demand_forecast` holds that total as tier 'all' and splits it top-down into one row per buyer
tier by the tier's share of the product x region units over the last weeks (`split_by_tier`), so
the tier rows of a product x region x day always add up to its 'all' row. A separate per-tier model
would forecast four to five times more, mostly empty, series.

Replenishment (per warehouse x product, as of C)
  Region forecasts become warehouse forecasts by the share of each region's units each warehouse
  served (orders.warehouse_id) over the `share_window_days` days up to C. Then, with L =
  lead_time_days, R = review_days, S = the product's shelf_life_days and f(k) the forecast of day
  C + k (days past the forecast horizon take the mean daily forecast):
  - usable_on_hand_qty = on_hand_qty - expiring_qty of the warehouse's latest snapshot up to C
    (stock about to expire is not counted on);
  - forecast_lead_qty = f(1..L); forecast_cover_qty = f(1..L+R) (what must be on the shelf until the
    next order can arrive);
  - safety_stock_qty = z(service_level) x demand_sd x sqrt(L + R), demand_sd being the standard
    deviation of the warehouse's daily units of the product over the `sd_window_days` days up to C;
  - target_qty = forecast_cover_qty + safety_stock_qty; need = target_qty - usable_on_hand_qty;
  - shelf_life_cap_qty: what an order arriving after the lead time can sell before it expires:
    f(L+1 .. L+S) minus the stock still left when it arrives (max(0, usable - f(1..L)), sold first);
  - suggested_qty = ceil(max(0, min(need, shelf_life_cap_qty))); capped_by_shelf_life when the cap
    cut the need.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf
from models.demand import features as feat

FORECAST = "forecast_qty"
BASELINE = "baseline_qty"
ALL_TIERS = "all"  # the tier value of the product x region total in gold.demand_forecast


def predict_recursive(model, frame: pd.DataFrame, keys: list[str], cutoff: dt.date, horizon: int,
                      keep_rows: bool = False) -> pd.DataFrame:
    """keys, date, horizon_days, forecast_qty for every series of the collected base `frame` and day
    C+1 .. C+horizon. `keep_rows`: also return the feature rows the model saw (for importances)."""
    last = frame["date"].max()
    if cutoff + dt.timedelta(days=horizon) > last:
        raise ValueError(f"horizon {horizon} reaches past the feature frame's last day {last}")
    work = frame[frame["date"] >= cutoff - dt.timedelta(days=feat.MAX_LAG - 1)]
    work = work[work["date"] <= cutoff + dt.timedelta(days=horizon)].reset_index(drop=True).copy()
    work.loc[work["date"] > cutoff, feat.LABEL] = np.nan
    parts = []
    for k in range(1, horizon + 1):
        day = cutoff + dt.timedelta(days=k)
        rows = feat.add_lags(work, keys)
        today = rows["date"] == day
        predicted = model.predict(rows[today])
        work.loc[today.to_numpy(), feat.LABEL] = predicted
        part = rows.loc[today].copy() if keep_rows else rows.loc[today, [*keys, "date"]].copy()
        part["horizon_days"] = k
        part[FORECAST] = predicted
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out if keep_rows else out[[*keys, "date", "horizon_days", FORECAST]]


def predict_horizon(model, frame: pd.DataFrame, keys: list[str], cutoff: dt.date, horizon: int,
                    keep_rows: bool = False) -> pd.DataFrame:
    """keys, date, horizon_days, forecast_qty of C+1 .. C+horizon: the model's own multi-day
    `forecast` when it has one (the LSTM, models/demand/lstm.py, forecasts the whole horizon at once
    from the units up to C), else the recursive day-by-day forecast of a row model (the GBT)."""
    if hasattr(model, "forecast"):
        return model.forecast(frame, keys, cutoff, horizon)
    return predict_recursive(model, frame, keys, cutoff, horizon, keep_rows=keep_rows)


def seasonal_naive(history: pd.DataFrame, keys: list[str], cutoff: dt.date, horizon: int) -> pd.DataFrame:
    """keys, date, horizon_days, baseline_qty: the same weekday of the last week known at the cutoff
    (day C+k gets the units of C+k - 7 x ceil(k / 7): last week's for k <= 7, the week before for
    8..14). `history`: keys, date, quantity (a full spine; a missing day counts as zero)."""
    series = history[keys].drop_duplicates().reset_index(drop=True)
    steps = pd.DataFrame({"horizon_days": range(1, horizon + 1)})
    targets = series.merge(steps, how="cross")
    k = targets["horizon_days"]
    targets["date"] = [cutoff + dt.timedelta(days=int(d)) for d in k]
    targets["_source"] = [cutoff + dt.timedelta(days=int(d) - 7 * math.ceil(int(d) / 7)) for d in k]
    known = history[[*keys, "date", feat.LABEL]].rename(columns={"date": "_source", feat.LABEL: BASELINE})
    out = targets.merge(known, on=[*keys, "_source"], how="left")
    out[BASELINE] = out[BASELINE].fillna(0.0).astype("float64")
    return out[[*keys, "date", "horizon_days", BASELINE]]


def forecast_frame(model, fs: feat.FeatureSet, horizon: int | None = None) -> pd.DataFrame:
    """The forecast of every series of `fs` for C+1 .. C+horizon with the seasonal-naive baseline:
    keys, category_l1, category_l2, date, horizon_days, forecast_qty, baseline_qty."""
    horizon = horizon or fs.spec.horizon
    keys = fs.keys
    predicted = predict_horizon(model, fs.frame, keys, fs.cutoff, horizon)
    baseline = seasonal_naive(fs.history(), keys, fs.cutoff, horizon)
    series = fs.frame[[*keys, "category_l1", "category_l2"]].drop_duplicates(keys)
    out = (predicted.merge(baseline, on=[*keys, "date", "horizon_days"], how="left")
           .merge(series, on=keys, how="left"))
    return out[[*keys, "category_l1", "category_l2", "date", "horizon_days", FORECAST, BASELINE]]


def tier_shares(by_tier_history: pd.DataFrame, cutoff: dt.date,
                window_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(product_id, region, tier, share; region, tier, share): each tier's share of the units of its product x region over
    the `window_days` days ending at the cutoff; a product x region without sales in the window takes
    the region's tier mix (all products). `by_tier_history`: date, product_id, region, tier,
    quantity (where something sold)."""
    first = cutoff - dt.timedelta(days=window_days - 1)
    recent = by_tier_history[(by_tier_history["date"] >= first) & (by_tier_history["date"] <= cutoff)]
    series = recent.groupby(["product_id", "region", "tier"], as_index=False)[feat.LABEL].sum()
    series["share"] = series[feat.LABEL] / series.groupby(["product_id", "region"])[feat.LABEL].transform("sum")
    region = recent.groupby(["region", "tier"], as_index=False)[feat.LABEL].sum()
    region["share"] = region[feat.LABEL] / region.groupby("region")[feat.LABEL].transform("sum")
    return series[["product_id", "region", "tier", "share"]], region[["region", "tier", "share"]]


def split_by_tier(forecast: pd.DataFrame, shares: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """The product x region forecast as `tier` = 'all' rows plus one row per tier: the total times
    the tier's share (tier_shares), so the tier rows of a product x region x day sum to its 'all'
    row. A product x region with no tier mix at all (its region sold nothing in the window) gets
    only its 'all' row. The baseline is kept on 'all' rows only (null on tier rows)."""
    by_series, by_region = shares
    total = forecast.assign(tier=ALL_TIERS)
    own = forecast.merge(by_series, on=["product_id", "region"], how="inner")
    has_own = forecast[["product_id", "region"]].drop_duplicates().merge(
        by_series[["product_id", "region"]].drop_duplicates(), how="left", indicator=True)
    lacking = has_own[has_own["_merge"] == "left_only"][["product_id", "region"]]
    borrowed = forecast.merge(lacking, on=["product_id", "region"], how="inner").merge(by_region, on="region",
                                                                                     how="inner")
    tiers = pd.concat([own, borrowed], ignore_index=True)
    tiers[FORECAST] = tiers[FORECAST] * tiers["share"]
    tiers[BASELINE] = np.nan
    columns = list(total.columns)
    return pd.concat([total, tiers[columns]], ignore_index=True)


# --- replenishment ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReplenishmentParams:
    lead_time_days: int = 2
    review_days: int = 7
    service_level: float = 0.95
    sd_window_days: int = 28
    share_window_days: int = 56

    def __post_init__(self) -> None:
        if self.lead_time_days < 0 or self.review_days < 1:
            raise ValueError("lead_time_days must be >= 0 and review_days >= 1")
        if not 0.5 <= self.service_level < 1:
            raise ValueError(f"service_level must be in [0.5, 1), got {self.service_level}")

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(self.service_level)

    def as_dict(self) -> dict:
        return asdict(self)


def warehouse_shares(sold: DataFrame, dims: DataFrame, day: dt.date, window_days: int) -> DataFrame:
    """region, warehouse_id, share: the share of each region's units each warehouse served in the
    `window_days` days ending at `day`. `sold`: customer_id, warehouse_id, order_date, quantity;
    `dims`: customer_id, region."""
    first = day - dt.timedelta(days=window_days - 1)
    units = (sold.filter(F.col("order_date").between(F.lit(first), F.lit(day)))
             .join(dims.select("customer_id", "region"), "customer_id", "left")
             .fillna(feat.UNKNOWN, subset=["region"])
             .groupBy("region", "warehouse_id").agg(F.sum("quantity").cast("double").alias("_units")))
    return units.select("region", "warehouse_id",
                        (F.col("_units") / F.sum("_units").over(Window.partitionBy("region"))).alias("share"))


def warehouse_demand_sd(sold: DataFrame, day: dt.date, window_days: int) -> DataFrame:
    """warehouse_id, product_id, demand_sd: standard deviation of the daily units over the window
    (days without sales count as zero)."""
    first = day - dt.timedelta(days=window_days - 1)
    daily = (sold.filter(F.col("order_date").between(F.lit(first), F.lit(day)))
             .groupBy("warehouse_id", "product_id", "order_date").agg(F.sum("quantity").cast("double").alias("_q")))
    n = float(window_days)
    stats = daily.groupBy("warehouse_id", "product_id").agg(F.sum("_q").alias("_s"), F.sum(F.col("_q") ** 2).alias("_s2"))
    variance = (F.col("_s2") - F.col("_s") ** 2 / n) / (n - 1) if window_days > 1 else F.lit(0.0)
    return stats.select("warehouse_id", "product_id", F.sqrt(F.greatest(variance, F.lit(0.0))).alias("demand_sd"))


def replenishment(demand_forecast: DataFrame, inventory: DataFrame, products: DataFrame, shares: DataFrame,
                  demand_sd: DataFrame, day: dt.date, params: ReplenishmentParams | None = None) -> DataFrame:
    """Rows of `gold.replenishment`, one per warehouse x product in the warehouse's latest inventory
    snapshot up to `day` or with forecast demand (see the module doc).

    `demand_forecast`: horizon_days, product_id, region, forecast_qty (the product x region totals:
    tier 'all' rows only); `inventory`: silver.inventory cut at `day`; `products`: versions valid
    at `day`; `shares`: region, warehouse_id, share; `demand_sd`: warehouse_id, product_id,
    demand_sd."""
    p = params or ReplenishmentParams()
    lead, review = p.lead_time_days, p.review_days
    horizon = demand_forecast.agg(F.max("horizon_days")).first()[0] or 0
    wh_daily = (demand_forecast.join(shares, "region")
                .groupBy("warehouse_id", "product_id", "horizon_days")
                .agg(F.sum(F.col(FORECAST) * F.col("share")).alias("_f")))
    k = F.col("horizon_days")

    def days_sum(first: int, last: int) -> Column:
        return F.sum(F.when(k.between(first, last), F.col("_f")).otherwise(0.0))

    wh = wh_daily.groupBy("warehouse_id", "product_id").agg(
        (F.sum("_f") / F.lit(float(max(horizon, 1)))).alias("forecast_daily_avg"),
        days_sum(1, lead).alias("_lead_in"), days_sum(1, lead + review).alias("_cover_in"))
    latest = Window.partitionBy("warehouse_id")
    stock = (inventory.withColumn("_latest", F.max("snapshot_date").over(latest))
             .filter(F.col("snapshot_date") == F.col("_latest"))
             .select("warehouse_id", "product_id", "snapshot_date", "on_hand_qty", "expiring_qty"))
    rows = (stock.join(wh, ["warehouse_id", "product_id"], "full")
            .join(demand_sd, ["warehouse_id", "product_id"], "left")
            .join(products.select("product_id", "category_l1", "category_l2", "storage_type", "shelf_life_days"),
                  "product_id", "left")
            .fillna(0, subset=["on_hand_qty", "expiring_qty"])
            .fillna(0.0, subset=["forecast_daily_avg", "_lead_in", "_cover_in", "demand_sd"]))

    def beyond(first: int, last: int) -> int:
        """Days of [first, last] after the forecast horizon (they take the mean daily forecast)."""
        return max(0, last - max(first - 1, horizon))

    mean = F.col("forecast_daily_avg")
    lead_qty = F.col("_lead_in") + mean * beyond(1, lead)
    cover_qty = F.col("_cover_in") + mean * beyond(1, lead + review)
    usable = F.greatest(F.col("on_hand_qty") - F.col("expiring_qty"), F.lit(0)).cast("double")
    safety = F.lit(p.z * math.sqrt(lead + review)) * F.col("demand_sd")
    shelf = F.col("shelf_life_days")
    rows = rows.withColumns({"forecast_lead_qty": lead_qty, "forecast_cover_qty": cover_qty,
                             "usable_on_hand_qty": usable, "safety_stock_qty": safety})
    # units an order arriving after the lead time sells before it expires: the forecast of days
    # lead+1 .. lead+shelf inside the horizon, plus the mean daily forecast for those beyond it
    shelf_days = (wh_daily.join(products.select("product_id", "shelf_life_days"), "product_id", "left")
                  .filter((k > lead) & (shelf.isNull() | (k <= lead + shelf)))
                  .groupBy("warehouse_id", "product_id").agg(F.sum("_f").alias("_shelf_in")))
    rows = rows.join(shelf_days, ["warehouse_id", "product_id"], "left").fillna(0.0, subset=["_shelf_in"])
    beyond_shelf = F.greatest(F.lit(0), shelf + F.lit(lead) - F.greatest(F.lit(lead), F.lit(horizon)))
    sellable = F.col("_shelf_in") + mean * beyond_shelf
    leftover = F.greatest(F.col("usable_on_hand_qty") - F.col("forecast_lead_qty"), F.lit(0.0))
    cap = F.when(shelf.isNotNull(), F.greatest(sellable - leftover, F.lit(0.0)))
    target = F.col("forecast_cover_qty") + F.col("safety_stock_qty")
    need = F.greatest(target - F.col("usable_on_hand_qty"), F.lit(0.0))
    rows = rows.withColumns({"target_qty": target, "_need": need, "shelf_life_cap_qty": cap})
    suggested = F.least(F.col("_need"), F.coalesce(F.col("shelf_life_cap_qty"), F.col("_need")))
    return rows.select(
        F.lit(day).alias("as_of_date"), "warehouse_id", "product_id", "category_l1", "category_l2", "storage_type",
        F.col("shelf_life_days").cast("int").alias("shelf_life_days"), "snapshot_date",
        F.col("on_hand_qty").cast("long").alias("on_hand_qty"), F.col("expiring_qty").cast("long").alias("expiring_qty"),
        F.col("usable_on_hand_qty").cast("double").alias("usable_on_hand_qty"),
        F.lit(lead).alias("lead_time_days"), F.lit(review).alias("review_days"),
        F.col("forecast_daily_avg").cast("double").alias("forecast_daily_avg"),
        F.col("forecast_lead_qty").cast("double").alias("forecast_lead_qty"),
        F.col("forecast_cover_qty").cast("double").alias("forecast_cover_qty"),
        F.col("demand_sd").cast("double").alias("demand_sd"),
        F.col("safety_stock_qty").cast("double").alias("safety_stock_qty"),
        F.col("target_qty").cast("double").alias("target_qty"),
        F.col("shelf_life_cap_qty").cast("double").alias("shelf_life_cap_qty"),
        F.ceil(F.round(suggested, 6)).cast("long").alias("suggested_qty"),
        F.coalesce(F.col("shelf_life_cap_qty") < F.col("_need"), F.lit(False)).alias("capped_by_shelf_life"),
        F.when(F.col("forecast_daily_avg") > 0, F.col("usable_on_hand_qty") / F.col("forecast_daily_avg"))
        .alias("days_of_cover"),
    )


def replenishment_for(asof: AsOf, demand_forecast: DataFrame, params: ReplenishmentParams | None = None) -> DataFrame:
    """`replenishment` with its inputs read from silver as of `asof` (sales served per warehouse,
    the inventory snapshot, the product versions)."""
    p = params or ReplenishmentParams()
    sold = (asof.sale_lines().join(asof.sales().select("order_id", "warehouse_id"), "order_id")
            .select("customer_id", "warehouse_id", "product_id", "order_date", "quantity"))
    dims = feat.customer_dims(asof)
    shares = warehouse_shares(sold, dims, asof.day, p.share_window_days)
    sd = warehouse_demand_sd(sold, asof.day, p.sd_window_days)
    return replenishment(demand_forecast, asof.table("inventory"), asof.table("products"), shares, sd, asof.day, p)
