"""What the habit and supply tables share (habit_*, winback_list, supply_*): windows, the customer's
tier / region / segment from the profile of the as-of date, 'all' rollups, buckets, safe ratios.

Windows are whole days ending at the as-of date D inclusive ("the last 90 days" = D-89 .. D).
Their lengths are read from an optional `habits:` block of conf/gold.yaml, with these defaults:

    habits:
      window_days: 90              # recent behaviour: time heatmap, promotions, price comparison
      preference_days: 365         # category / brand preference and price bands
      months: 12                   # monthly series: channel & payment mix, new customers, complaints
      interval_buckets: [1, 2, 4, 8, 15, 31, 61, 91]   # inter-purchase days histogram edges
      view_lookback_days: 14       # views that count as "looked at before buying"
      delay_days: 30               # daily delivery-delay rows
      repurchase_days: 30          # repurchase after a delivery
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ALL = "all"
UNKNOWN = "unknown"
DEFAULTS = {
    "window_days": 90,
    "preference_days": 365,
    "months": 12,
    "interval_buckets": [1, 2, 4, 8, 15, 31, 61, 91],
    "view_lookback_days": 14,
    "delay_days": 30,
    "repurchase_days": 30,
}


def habit_conf(conf: dict) -> dict:
    """The `habits` block of conf/gold.yaml over the defaults above."""
    return {**DEFAULTS, **(conf.get("habits") or {})}


def window_start(day: dt.date, days: int) -> dt.date:
    """First day of the `days`-day window ending at `day`."""
    return day - dt.timedelta(days=days - 1)


def in_window(column: str | Column, day: dt.date, days: int) -> Column:
    """True for a date among the `days` days ending at `day`."""
    col = F.col(column) if isinstance(column, str) else column
    return col.between(F.lit(window_start(day, days)), F.lit(day))


def first_month(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months - 1` months before the month of `day`."""
    index = day.year * 12 + day.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def dims(profile: DataFrame, *names: str) -> DataFrame:
    """customer_id and the named profile columns as text, a missing value as 'unknown' (a column the
    profile does not have yet, e.g. `segment` before the segmentation model ran, is all 'unknown')."""
    def value(name: str) -> Column:
        return F.col(name).cast("string") if name in profile.columns else F.lit(None).cast("string")

    return profile.select("customer_id", *[F.coalesce(value(n), F.lit(UNKNOWN)).alias(n) for n in names])


def with_dims(rows: DataFrame, profile_dims: DataFrame, *names: str) -> DataFrame:
    """`rows` (with customer_id) plus the named dims; customers without a profile row get 'unknown'."""
    joined = rows.join(profile_dims.select("customer_id", *names), "customer_id", "left")
    return joined.fillna(UNKNOWN, subset=list(names))


def cube(df: DataFrame, *names: str) -> DataFrame:
    """Each row once per combination of its own value and 'all' in each named column (2^n copies),
    so a plain groupBy afterwards gives every rollup. Values must not be null or 'all' already."""
    for name in names:
        df = df.withColumn(name, F.explode(F.array(F.col(name), F.lit(ALL))))
    return df


def by_dimension(df: DataFrame, names: tuple[str, ...] | list[str], value: str = "value") -> DataFrame:
    """Each row once as (dimension `all`, `all`) and once per named column as (its name, its value):
    the long form of "per segment, per tier, per region and overall" (the named columns are dropped)."""
    pairs = F.array(F.struct(F.lit(ALL).alias("dimension"), F.lit(ALL).alias(value)),
                    *[F.struct(F.lit(n).alias("dimension"), F.col(n).alias(value)) for n in names])
    return df.select(*[c for c in df.columns if c not in names], F.inline(pairs))


def ratio(part: str | Column, whole: str | Column) -> Column:
    """part / whole as a double; null when whole is 0 or null."""
    p = F.col(part) if isinstance(part, str) else part
    w = F.col(whole) if isinstance(whole, str) else whole
    return F.when(w != 0, p.cast("double") / w.cast("double"))


def depth_buckets(edges: list[float]) -> list[tuple[str, float, float, bool]]:
    """(label, lower, upper, upper inclusive) of each discount-depth bucket of conf `discount_buckets`:
    [lower, upper), the last one [lower, upper]. Labels as in gold.promotion_uplift: "10-20%"."""
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"discount_buckets {edges!r}: need at least two ascending edges")
    last = len(edges) - 2
    return [(f"{round(lo * 100):02d}-{round(hi * 100):02d}%", float(lo), float(hi), i == last)
            for i, (lo, hi) in enumerate(zip(edges, edges[1:]))]


def depth_bucket(depth: Column, edges: list[float]) -> Column:
    """The label of the bucket a depth (share of the price taken off) falls in; null outside."""
    d = depth.cast("double")
    out = F.lit(None).cast("string")
    for label, lo, hi, closed in reversed(depth_buckets(edges)):
        out = F.when((d >= lo) & ((d <= hi) if closed else (d < hi)), F.lit(label)).otherwise(out)
    return out


def interval_buckets(edges: list[int]) -> list[tuple[int, str, int, int | None]]:
    """(index, label, lowest, highest or None) of each histogram bucket of whole days:
    edges [1, 2, 4, 8] -> "1", "2-3", "4-7", "8+"."""
    if not edges or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"interval_buckets {edges!r}: need ascending edges")
    out = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else None
        label = f"{lo}+" if hi is None else (str(lo) if hi == lo else f"{lo}-{hi}")
        out.append((i, label, lo, hi))
    return out


def interval_bucket(days: Column, edges: list[int]) -> Column:
    """struct(index, label) of the histogram bucket of a number of days (null below the first edge)."""
    out = F.lit(None).cast("struct<index:int,label:string>")
    for i, label, lo, _ in interval_buckets(edges):  # the last (highest) bucket is tested first
        out = F.when(days >= lo, F.struct(F.lit(i).alias("index"), F.lit(label).alias("label"))).otherwise(out)
    return out
