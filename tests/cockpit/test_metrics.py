"""The cockpit's metrics on a few hand-written gold rows (no Spark, no browser)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from habitlake.cockpit import metrics
from habitlake.cockpit.metrics import Filters

D = "2025-05-30"


def _profile() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["c1", "c2", "c3", "c4", "c5"],
        "region": ["west", "west", "south", "south", None],
        "tier": ["Gold", "Silver", "Gold", "Churned", "Potential"],
        "preferred_channel": ["app", "web", "app", "app", None],
        "lifecycle_stage": ["active", "new", "at_risk", "churned", "prospect"],
        "orders_90d": [5, 1, 2, 0, 0],
        "purchase_days_90d": [4, 1, 2, 0, None],
        "spend_30d": [100.0, 20.0, 0.0, 0.0, 0.0],
        "monthly_spend": [300.0, 50.0, 80.0, 10.0, 0.0],
        "is_churned": [False, False, False, True, False],
    })


def test_kpis_define_active_and_repurchase():
    k = metrics.kpis(_profile(), Filters(as_of=D))
    # active = new or active (c1, c2); 90-day buyers c1 c2 c3, of whom c1 and c3 bought on 2+ days
    assert k == {"customers": 5, "active_customers": 2, "repurchase_rate": 2 / 3, "at_risk": 1, "churned": 1,
                 "spend_30d": 120.0, "avg_monthly_spend_active": 175.0}


def test_filters_combine_and_unknown_matches_missing_values():
    p = _profile()
    assert list(metrics.filter_customers(p, Filters(as_of=D, region="south", channel="app"))["customer_id"]) == ["c3", "c4"]
    assert list(metrics.filter_customers(p, Filters(as_of=D, region="unknown"))["customer_id"]) == ["c5"]
    k = metrics.kpis(p, Filters(as_of=D, tier="Gold"))
    assert (k["customers"], k["active_customers"], k["repurchase_rate"]) == (2, 1, 1.0)
    empty = metrics.kpis(p, Filters(as_of=D, tier="Platinum"))
    assert (empty["customers"], empty["repurchase_rate"], empty["avg_monthly_spend_active"]) == (0, None, None)


def test_active_series_keeps_the_window_up_to_the_as_of_date():
    slices = []
    for day, stages in (("2025-03-01", ["active"] * 5), ("2025-05-01", ["new", "churned", "active", "active", "x"]),
                        (D, list(_profile()["lifecycle_stage"])), ("2025-06-30", ["active"] * 5)):
        slices.append(_profile().assign(as_of_date=dt.date.fromisoformat(day), lifecycle_stage=stages))
    cube = metrics.profile_cube(pd.concat(slices, ignore_index=True))
    s = metrics.active_series(cube, Filters(as_of=D, window_days=90))
    assert list(s["as_of_date"]) == ["2025-05-01", D]
    assert list(s["active"]) == [3, 2]
    assert list(s["repurchase_rate"]) == [2 / 3, 2 / 3]
    west = metrics.active_series(cube, Filters(as_of=D, window_days=None, region="west"))
    assert list(west["as_of_date"]) == ["2025-03-01", "2025-05-01", D]
    assert list(west["active"]) == [2, 1, 2]


def test_tier_distribution_in_business_order():
    dist = metrics.tier_distribution(_profile(), Filters(as_of=D))
    assert list(dist["tier"]) == ["Gold", "Silver", "Potential", "Churned"]
    assert list(dist["customers"]) == [2, 1, 1, 1]
    assert dist["share"].sum() == pytest.approx(1.0)


def test_not_applicable_filters_are_named():
    f = Filters(as_of=D, region="west", channel="app")
    assert metrics.applies(f, ("region",)) == "not filtered by channel (the table has no such column)"
    assert metrics.applies(f, ("region", "channel")) == ""
    assert f.label() == "region = west, channel = app"
    assert Filters(as_of=D, window_days=30).start == "2025-05-01"


def test_heatmap_follows_region_then_tier():
    rows = pd.DataFrame({
        "dimension": ["all", "all", "all", "tier", "region"],
        "value": ["all", "all", "all", "Gold", "west"],
        "day_type": ["weekday", "weekday", "weekday", "weekend", "weekday"],
        "iso_weekday": [1, 1, None, 6, 2],
        "hour": [20, 8, None, 10, 23],
        "orders": [7, 3, 10, 4, 2],
    })
    grid = metrics.heatmap(rows, Filters(as_of=D))
    assert grid.shape == (7, 24)
    assert (grid.loc[1, 20], grid.loc[1, 8], int(grid.to_numpy().sum())) == (7, 3, 10)  # summary row left out
    assert int(metrics.heatmap(rows, Filters(as_of=D, tier="Gold")).loc[6, 10]) == 4
    both = metrics.heatmap(rows, Filters(as_of=D, tier="Gold", region="west"))
    assert (int(both.to_numpy().sum()), int(both.loc[2, 23])) == (2, 2)


def test_delivery_late_share_pools_days_by_counts():
    rows = pd.DataFrame({
        "measure": ["delivery_delay"] * 5 + ["complaint_rate"],
        "period_start": pd.to_datetime(["2025-05-29", "2025-05-30", "2025-05-30", "2025-05-30", "2025-03-01",
                                        "2025-05-01"]).date,
        "slot": ["am", "am", "pm", "all", "am", "all"],
        "region": ["west"] * 4 + ["west", "all"],
        "tier": ["all"] * 6, "group": ["all"] * 6,
        "numerator": [1, 3, 0, 3, 9, 5], "denominator": [10, 10, 5, 15, 9, 100],
        "avg_delay_minutes": [10.0, 40.0, None, 34.0, 99.0, None],
    })
    by_slot = metrics.delivery_by_slot(rows, Filters(as_of=D, window_days=30, region="west"))
    # 2025-03-01 is outside the 30-day window; the `all` slot row is the rollup, not a slot
    am, pm = by_slot.to_dict("records")
    assert am == {"slot": "am", "deliveries": 20, "late": 4, "late_share": 0.2, "avg_delay_minutes": 25.0}
    assert (pm["slot"], pm["deliveries"], pm["late"], pm["late_share"]) == ("pm", 5, 0, 0.0)
    assert pd.isna(pm["avg_delay_minutes"])  # no delivered one with a delay
    daily = metrics.delivery_daily(rows, Filters(as_of=D, window_days=30, region="west"))
    assert daily.to_dict("records") == [{"period_start": D, "deliveries": 15, "late": 3, "late_share": 0.2,
                                         "avg_delay_minutes": 34.0}]


def test_winback_filters_and_ranks():
    rows = pd.DataFrame({"customer_id": ["a", "b", "c"], "region": ["west", "west", "south"],
                         "tier": ["Gold", "Silver", "Gold"], "preferred_channel": ["app"] * 3,
                         "winback_rank": [2, 1, 3], "spend_total": [900.0, 1200.0, 600.0],
                         "favourite_categories": [["beef", "milk"], ["tofu"], []]})
    count, top = metrics.winback(rows, Filters(as_of=D, region="west"))
    assert count == 2
    assert list(top["customer_id"]) == ["b", "a"]
    assert list(top["favourite_categories"]) == ["tofu", "beef, milk"]


def test_replenishment_largest_suggestions_first():
    rows = pd.DataFrame({"warehouse_id": ["w1", "w1", "w2"], "product_id": ["p1", "p2", "p1"],
                         "suggested_qty": [5, 0, 12], "capped_by_shelf_life": [False, False, True]})
    n, units, top = metrics.replenishment(rows)
    assert (n, units) == (2, 17)
    assert list(zip(top["warehouse_id"], top["product_id"])) == [("w2", "p1"), ("w1", "p1")]
