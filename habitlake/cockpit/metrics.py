"""What the cockpit shows, computed from gold rows with pandas: pure functions, frames in, frames out.

Every function takes the rows of one or more gold tables (as read by `habitlake.cockpit.data`) and the
dashboard's `Filters`, and returns a small frame or a dict of numbers; the figures and the static
report draw them. A filter a table cannot apply (the warehouse table has no customer region) is
reported by `applies()` so the page says so instead of silently ignoring it.

Definitions (shown under the charts too)
- customers: rows of gold.customer_profile of the as-of date (everyone known to the CRM then);
- active customers: lifecycle_stage `new` or `active` (a completed sale within the last
  `lifecycle.at_risk_days` days, 45 by default; conf/gold.yaml);
- repurchase rate: of the customers who bought in the last 90 days (orders_90d > 0), the share who
  bought on two or more days of them (purchase_days_90d >= 2).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

ALL = "all"
ACTIVE_STAGES = ("new", "active")
STAGES = ("prospect", "new", "active", "at_risk", "churned")
TIER_ORDER = ("Platinum", "Gold", "Silver", "Potential", "Churned")
BANDS = ("high", "medium", "low")
PROFILE_FILTER_COLUMNS = {"region": "region", "tier": "tier", "channel": "preferred_channel"}
CUBE_COLUMNS = ["as_of_date", "customer_id", "region", "tier", "preferred_channel", "lifecycle_stage",
                "orders_90d", "purchase_days_90d"]
KPI_COLUMNS = ["customer_id", "region", "tier", "preferred_channel", "lifecycle_stage", "orders_90d",
               "purchase_days_90d", "spend_30d", "monthly_spend", "is_churned"]


@dataclass(frozen=True)
class Filters:
    as_of: str  # YYYY-MM-DD: the gold slice shown
    window_days: int | None = 90  # how far back time series go (None: everything up to as_of)
    region: str = ALL
    tier: str = ALL
    channel: str = ALL  # the customer's preferred ordering channel

    @property
    def start(self) -> str | None:
        if not self.window_days:
            return None
        return (dt.date.fromisoformat(self.as_of) - dt.timedelta(days=self.window_days - 1)).isoformat()

    def active(self) -> dict[str, str]:
        return {k: v for k, v in (("region", self.region), ("tier", self.tier), ("channel", self.channel))
                if v and v != ALL}

    def label(self) -> str:
        chosen = self.active()
        return ", ".join(f"{k} = {v}" for k, v in chosen.items()) if chosen else "all customers"


def applies(f: Filters, supported: tuple[str, ...]) -> str:
    """A note naming the chosen filters a chart cannot apply ('' when all apply)."""
    ignored = [k for k in f.active() if k not in supported]
    return f"not filtered by {', '.join(ignored)} (the table has no such column)" if ignored else ""


def _date_str(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.strftime("%Y-%m-%d")


def filter_customers(profile: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Profile rows matching the region, tier and channel filters."""
    mask = pd.Series(True, index=profile.index)
    for key, value in f.active().items():
        mask &= profile[PROFILE_FILTER_COLUMNS[key]].astype("string").fillna("unknown") == value
    return profile[mask]


def ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


# --- overview -----------------------------------------------------------------------------------

def kpis(profile: pd.DataFrame, f: Filters) -> dict[str, float | int | None]:
    """Headline numbers of the as-of slice for the filtered customers."""
    p = filter_customers(profile, f)
    buyers = p[p["orders_90d"].fillna(0) > 0]
    repeaters = buyers[buyers["purchase_days_90d"].fillna(0) >= 2]
    active = p[p["lifecycle_stage"].isin(ACTIVE_STAGES)]
    return {
        "customers": int(len(p)),
        "active_customers": int(len(active)),
        "repurchase_rate": ratio(len(repeaters), len(buyers)),
        "at_risk": int((p["lifecycle_stage"] == "at_risk").sum()),
        "churned": int((p["lifecycle_stage"] == "churned").sum()),
        "spend_30d": float(pd.to_numeric(p["spend_30d"]).fillna(0).sum()),
        "avg_monthly_spend_active": (float(pd.to_numeric(active["monthly_spend"]).mean())
                                     if len(active) else None),
    }


def profile_cube(profiles: pd.DataFrame) -> pd.DataFrame:
    """All profile slices rolled up to as_of_date x region x tier x channel: customers, active,
    buyers_90d, repeaters_90d (small: what the time series need, cached once per table version)."""
    p = profiles.assign(
        as_of_date=_date_str(profiles["as_of_date"]),
        region=profiles["region"].astype("string").fillna("unknown"),
        tier=profiles["tier"].astype("string").fillna("unknown"),
        preferred_channel=profiles["preferred_channel"].astype("string").fillna("unknown"),
        _active=profiles["lifecycle_stage"].isin(ACTIVE_STAGES).astype(int),
        _buyer=(profiles["orders_90d"].fillna(0) > 0).astype(int),
        _repeat=((profiles["orders_90d"].fillna(0) > 0) & (profiles["purchase_days_90d"].fillna(0) >= 2)).astype(int),
    )
    return (p.groupby(["as_of_date", "region", "tier", "preferred_channel"], as_index=False)
            .agg(customers=("customer_id", "size"), active=("_active", "sum"), buyers_90d=("_buyer", "sum"),
                 repeaters_90d=("_repeat", "sum")))


def active_series(cube: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Per as-of date in the window: customers, active customers and repurchase rate."""
    c = filter_customers(cube, f)
    c = c[c["as_of_date"] <= f.as_of]
    if f.start:
        c = c[c["as_of_date"] >= f.start]
    s = c.groupby("as_of_date", as_index=False)[["customers", "active", "buyers_90d", "repeaters_90d"]].sum()
    s["repurchase_rate"] = s["repeaters_90d"] / s["buyers_90d"].where(s["buyers_90d"] > 0)
    return s.sort_values("as_of_date").reset_index(drop=True)


def _ordered(values, order) -> list:
    known = [v for v in order if v in set(values)]
    return known + sorted(v for v in set(values) if v not in order)


def tier_distribution(profile: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Customers per tier (tier, customers, share) of the as-of slice."""
    p = filter_customers(profile, f)
    counts = p["tier"].astype("string").fillna("unknown").value_counts()
    tiers = _ordered(counts.index, TIER_ORDER)
    out = pd.DataFrame({"tier": tiers, "customers": [int(counts[t]) for t in tiers]})
    out["share"] = out["customers"] / max(int(out["customers"].sum()), 1)
    return out


def lifecycle_distribution(profile: pd.DataFrame, f: Filters) -> pd.DataFrame:
    p = filter_customers(profile, f)
    counts = p["lifecycle_stage"].astype("string").fillna("unknown").value_counts()
    stages = _ordered(counts.index, STAGES)
    return pd.DataFrame({"stage": stages, "customers": [int(counts[s]) for s in stages]})


def tier_migration(migration: pd.DataFrame, f: Filters) -> tuple[str | None, pd.DataFrame]:
    """The migration matrix of the latest month up to the as-of date: (month, from x to counts)."""
    month = f.as_of[:7]
    months = sorted(m for m in migration["month"].unique() if m <= month)
    if not months:
        return None, pd.DataFrame(columns=["from_tier", "to_tier", "customers"])
    chosen = months[-1]
    rows = migration[migration["month"] == chosen][["from_tier", "to_tier", "customers"]]
    return chosen, rows.reset_index(drop=True)


# --- segments, churn, win-back ----------------------------------------------------------------------

def segment_name_column(segments: pd.DataFrame) -> str:
    for name in ("segment_name", "segment", "name", "segment_id"):
        if name in segments.columns:
            return name
    raise KeyError("gold.customer_segments has no segment column")


def segment_sizes(segments: pd.DataFrame, profile: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Customers per model segment among the filtered customers (segment, customers, share)."""
    column = segment_name_column(segments)
    ids = filter_customers(profile, f)[["customer_id"]]
    rows = segments.merge(ids, on="customer_id", how="inner")
    counts = rows[column].astype("string").fillna("unknown").value_counts().sort_index()
    out = pd.DataFrame({"segment": counts.index.astype(str), "customers": counts.to_numpy().astype(int)})
    out["share"] = out["customers"] / max(int(out["customers"].sum()), 1)
    return out


def churn_bands(churn: pd.DataFrame, profile: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Scored customers per risk band among the filtered ones (band, customers, avg_score)."""
    ids = filter_customers(profile, f)[["customer_id"]]
    rows = churn.merge(ids, on="customer_id", how="inner")
    bands = _ordered(rows["risk_band"].astype("string").fillna("unknown").unique(), BANDS)
    out = []
    for band in bands:
        part = rows[rows["risk_band"] == band]
        out.append({"band": band, "customers": int(len(part)),
                    "avg_score": float(part["churn_score"].mean()) if len(part) else None})
    return pd.DataFrame(out, columns=["band", "customers", "avg_score"])


WINBACK_COLUMNS = ["winback_rank", "customer_id", "tier", "region", "lifecycle_stage", "last_order_date",
                   "recency_days", "orders_total", "spend_total", "favourite_categories", "preferred_channel",
                   "preferred_push_channel", "best_push_hour"]


def winback(winback_rows: pd.DataFrame, f: Filters, top: int = 20) -> tuple[int, pd.DataFrame]:
    """(how many lapsed valuable customers match the filters, the first `top` by winback_rank)."""
    rows = filter_customers(winback_rows, f).sort_values("winback_rank")
    shown = rows[[c for c in WINBACK_COLUMNS if c in rows.columns]].head(top).copy()
    if "favourite_categories" in shown:
        shown["favourite_categories"] = shown["favourite_categories"].map(
            lambda v: ", ".join(v) if v is not None and not isinstance(v, str) else v)
    return int(len(rows)), shown.reset_index(drop=True)


# --- habits ---------------------------------------------------------------------------------------

def heatmap_dimension(f: Filters) -> tuple[str, str]:
    """Which slice of gold.habit_time the filters pick: region first, then tier, else all."""
    if f.region != ALL:
        return "region", f.region
    if f.tier != ALL:
        return "tier", f.tier
    return ALL, ALL


def heatmap(habit_time: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Orders per weekday (rows 1 = Monday .. 7) x local hour (columns 0..23), zeros where no orders."""
    dimension, value = heatmap_dimension(f)
    cells = habit_time[(habit_time["dimension"] == dimension) & (habit_time["value"] == value)
                       & habit_time["iso_weekday"].notna() & habit_time["hour"].notna()]
    grid = (cells.pivot_table(index="iso_weekday", columns="hour", values="orders", aggfunc="sum")
            .reindex(index=range(1, 8), columns=range(24)).fillna(0).astype(int))
    grid.index = grid.index.astype(int)
    grid.columns = grid.columns.astype(int)
    return grid


def category_preferences(category_brand: pd.DataFrame, profile: pd.DataFrame, f: Filters,
                         top: int = 15) -> pd.DataFrame:
    """Per category_l2 (top by spend) for the filtered customers: spend, share of their spend,
    customers, the brand most of them prefer, and brand loyalty (mean top_brand_share)."""
    ids = filter_customers(profile, f)[["customer_id"]]
    rows = category_brand.merge(ids, on="customer_id", how="inner")
    if rows.empty:
        return pd.DataFrame(columns=["category_l2", "spend", "spend_share", "customers", "top_brand",
                                     "top_brand_customers", "brand_loyalty"])
    rows = rows.assign(spend=pd.to_numeric(rows["spend"]).astype(float))
    per = rows.groupby("category_l2").agg(spend=("spend", "sum"), customers=("customer_id", "nunique"),
                                          brand_loyalty=("top_brand_share", "mean"))
    brands = (rows.groupby(["category_l2", "top_brand"]).size().rename("n").reset_index()
              .sort_values(["category_l2", "n", "top_brand"], ascending=[True, False, True])
              .drop_duplicates("category_l2").set_index("category_l2"))
    per["top_brand"] = brands["top_brand"]
    per["top_brand_customers"] = brands["n"].astype(int)
    per["spend_share"] = per["spend"] / per["spend"].sum()
    per = per.sort_values(["spend", "customers"], ascending=False).head(top).reset_index()
    return per[["category_l2", "spend", "spend_share", "customers", "top_brand", "top_brand_customers",
                "brand_loyalty"]]


# --- promotions and campaigns -----------------------------------------------------------------------

def promotion_response(sensitivity: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Per discount-depth bucket, for the tier filter (or all): promotions, eligible pairs,
    promo and baseline conversion and their lift."""
    tier = f.tier if f.tier != ALL else ALL
    rows = sensitivity[sensitivity["tier"] == tier]
    out = None
    for measure, name in (("promo_conversion", "promo_conversion"), ("baseline_conversion", "baseline_conversion"),
                          ("conversion_lift", "lift")):
        part = rows[rows["measure"] == measure][["bucket", "promotions", "denominator", "value"]]
        part = part.rename(columns={"value": name, "denominator": "eligible"})
        if out is None:
            out = part
        else:
            out = out.merge(part[["bucket", name]], on="bucket", how="outer")
    if out is None:
        return pd.DataFrame(columns=["bucket", "promotions", "eligible", "promo_conversion",
                                     "baseline_conversion", "lift"])
    return out.sort_values("bucket").reset_index(drop=True)


CAMPAIGN_COLUMNS = ["campaign_id", "is_complete", "sent_a", "sent_b", "conversion_a", "conversion_b", "diff",
                    "diff_ci_low", "diff_ci_high", "p_value", "is_significant", "srm_flag"]


def campaign_ab(results: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """One row per campaign (the A-arm row carries the A/B comparison), for the tier filter or all."""
    tier = f.tier if f.tier != ALL else ALL
    rows = results[(results["tier"] == tier) & (results["arm"] == "A")]
    return rows[[c for c in CAMPAIGN_COLUMNS if c in rows.columns]].sort_values("campaign_id").reset_index(drop=True)


# --- service ---------------------------------------------------------------------------------------

def _delay_rows(service: pd.DataFrame, f: Filters) -> pd.DataFrame:
    rows = service[(service["measure"] == "delivery_delay") & (service["tier"] == ALL) & (service["group"] == ALL)]
    rows = rows.assign(period_start=_date_str(rows["period_start"]))
    rows = rows[rows["period_start"] <= f.as_of]
    if f.start:
        rows = rows[rows["period_start"] >= f.start]
    return rows


def delivery_by_slot(service: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Per delivery slot, in the window, for the region filter (or all regions): deliveries, late ones,
    late share, average delay in minutes (mean of the daily means weighted by deliveries)."""
    region = f.region if f.region != ALL else ALL
    rows = _delay_rows(service, f)
    rows = rows[(rows["region"] == region) & (rows["slot"] != ALL)]
    return _late(rows, "slot")


def delivery_by_region(service: pd.DataFrame, f: Filters) -> pd.DataFrame:
    rows = _delay_rows(service, f)
    rows = rows[(rows["slot"] == ALL) & (rows["region"] != ALL)]
    return _late(rows, "region")


def delivery_daily(service: pd.DataFrame, f: Filters) -> pd.DataFrame:
    region = f.region if f.region != ALL else ALL
    rows = _delay_rows(service, f)
    rows = rows[(rows["region"] == region) & (rows["slot"] == ALL)]
    return _late(rows, "period_start")


def _late(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    rows = rows.assign(_w=rows["avg_delay_minutes"].astype(float) * rows["denominator"],
                       _wn=rows["denominator"].where(rows["avg_delay_minutes"].notna(), 0))
    out = rows.groupby(by, as_index=False).agg(deliveries=("denominator", "sum"), late=("numerator", "sum"),
                                               _w=("_w", "sum"), _wn=("_wn", "sum"))
    out["late_share"] = out["late"] / out["deliveries"].where(out["deliveries"] > 0)
    out["avg_delay_minutes"] = out["_w"] / out["_wn"].where(out["_wn"] > 0)
    out["deliveries"] = out["deliveries"].astype(int)
    out["late"] = out["late"].astype(int)
    return out.drop(columns=["_w", "_wn"]).sort_values(by).reset_index(drop=True)


# --- supply ----------------------------------------------------------------------------------------

def demand_actual(daily: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Units sold per day in the window up to the as-of date (gold.supply_daily_demand), filtered by
    region and tier."""
    rows = daily.assign(date=_date_str(daily["date"]))
    rows = rows[rows["date"] <= f.as_of]
    if f.start:
        rows = rows[rows["date"] >= f.start]
    for key in ("region", "tier"):
        value = getattr(f, key)
        if value != ALL:
            rows = rows[rows[key] == value]
    out = rows.groupby("date", as_index=False).agg(quantity=("quantity", "sum"), revenue=("revenue", "sum"))
    out["quantity"] = out["quantity"].astype(float)
    out["revenue"] = pd.to_numeric(out["revenue"]).astype(float)
    return out.sort_values("date").reset_index(drop=True)


def demand_forecast(forecast: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Forecast units per forecast date (and the as-of date it was made), filtered by region (and tier
    when the forecast has one)."""
    rows = forecast.assign(forecast_date=_date_str(forecast["forecast_date"]),
                           as_of_date=_date_str(forecast["as_of_date"]))
    if f.region != ALL and "region" in rows:
        rows = rows[rows["region"] == f.region]
    if f.tier != ALL and "tier" in rows:
        rows = rows[rows["tier"] == f.tier]
    out = rows.groupby(["as_of_date", "forecast_date"], as_index=False).agg(forecast_qty=("forecast_qty", "sum"))
    return out.sort_values(["as_of_date", "forecast_date"]).reset_index(drop=True)


REPLENISHMENT_COLUMNS = ["warehouse_id", "product_id", "category_l2", "on_hand_qty", "usable_on_hand_qty",
                         "forecast_daily_avg", "days_of_cover", "target_qty", "suggested_qty",
                         "capped_by_shelf_life"]


def replenishment(rows: pd.DataFrame, top: int = 20) -> tuple[int, int, pd.DataFrame]:
    """(products to order, units suggested, the `top` largest suggestions)."""
    order = rows[rows["suggested_qty"].fillna(0) > 0].sort_values(["suggested_qty", "warehouse_id", "product_id"],
                                                                  ascending=[False, True, True])
    shown = order[[c for c in REPLENISHMENT_COLUMNS if c in order.columns]].head(top)
    return int(len(order)), int(order["suggested_qty"].sum()), shown.reset_index(drop=True)
