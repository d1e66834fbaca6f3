"""Lifecycle and service habits on hand-made frames, every output row written out: new customers
and their first baskets by acquisition channel, inter-purchase interval histogram, lifecycle stage
counts; delivery delay by slot x region x day, complaints per 100 orders, repurchase after late vs
on-time deliveries."""
from __future__ import annotations

import copy

from pyspark.testing import assertDataFrameEqual

from jobs.gold import config, habit_lifecycle, habit_service

from habit_frames import d, profile, typed

LIFECYCLE = ("measure string, period string, dimension string, value string, bucket string, bucket_index int, "
             "count long, share double, avg_first_order_amount double")


def test_lifecycle(spark):
    day = "2025-06-30"
    sales = typed(spark, "order_id string, customer_id string, order_date date, order_ts_local timestamp, "
                         "total_amount decimal(14,2)", [
        ("O1", "A", "2025-03-01", "2025-03-01 10:00:00", 10),  # A's first order is before the two months
        ("O2", "A", "2025-06-01", "2025-06-01 10:00:00", 10),  # 92 days later
        ("O3", "A", "2025-06-03", "2025-06-03 10:00:00", 10),  # 2 days later
        ("O4", "A", "2025-06-03", "2025-06-03 18:00:00", 10),  # same day: not an interval
        ("O5", "B", "2025-05-10", "2025-05-10 10:00:00", 100),
        ("O6", "B", "2025-05-10", "2025-05-10 08:00:00", 40),  # B's first order: earlier the same day
        ("O7", "B", "2025-05-11", "2025-05-11 08:00:00", 40),  # 1 day later
        ("O8", "C", "2025-06-20", "2025-06-20 09:00:00", 60),
    ])
    lines = typed(spark, "order_id string, category_l1 string", [
        ("O6", "frozen"), ("O6", "frozen"), ("O6", "vegetables"), ("O5", "dairy_eggs"), ("O8", "frozen")])
    people = profile(spark, day, [
        {"customer_id": "A", "tier": "Gold", "lifecycle_stage": "active"},
        {"customer_id": "B", "tier": "Silver", "lifecycle_stage": "at_risk", "acquisition_channel": "referral"},
        {"customer_id": "C", "tier": None, "region": "outside_sichuan", "lifecycle_stage": "new",
         "acquisition_channel": "referral"},
        {"customer_id": "E", "tier": "Potential", "region": "outside_sichuan", "lifecycle_stage": "prospect"},
    ])
    got = habit_lifecycle.transform(sales, lines, people, d(day), 2, 90, [1, 2, 4, 8])
    acquisition = [("all", "all"), ("acquisition_channel", "referral")]
    expected = [
        *[("new_customers", "2025-05", dim, val, "all", 0, 1, 1.0, 40.0) for dim, val in acquisition],
        *[("new_customers", "2025-06", dim, val, "all", 0, 1, 1.0, 60.0) for dim, val in acquisition],
        *[("first_basket_category", "2025-05", dim, val, "frozen", 1, 1, 1.0, None) for dim, val in acquisition],
        *[("first_basket_category", "2025-05", dim, val, "vegetables", 2, 1, 1.0, None) for dim, val in acquisition],
        *[("first_basket_category", "2025-06", dim, val, "frozen", 1, 1, 1.0, None) for dim, val in acquisition],
        ("interpurchase_interval", None, "all", "all", "1", 0, 1, 1 / 3, None),
        ("interpurchase_interval", None, "all", "all", "2-3", 1, 1, 1 / 3, None),
        ("interpurchase_interval", None, "all", "all", "8+", 3, 1, 1 / 3, None),
        ("interpurchase_interval", None, "tier", "Gold", "2-3", 1, 1, 0.5, None),
        ("interpurchase_interval", None, "tier", "Gold", "8+", 3, 1, 0.5, None),
        ("interpurchase_interval", None, "tier", "Silver", "1", 0, 1, 1.0, None),
        *[("lifecycle_stage", None, "all", "all", stage, i, 1, 0.25, None)
          for i, stage in enumerate(["prospect", "new", "active", "at_risk"])],
        ("lifecycle_stage", None, "tier", "Gold", "active", 2, 1, 1.0, None),
        ("lifecycle_stage", None, "tier", "Silver", "at_risk", 3, 1, 1.0, None),
        ("lifecycle_stage", None, "tier", "unknown", "new", 1, 1, 1.0, None),
        ("lifecycle_stage", None, "tier", "Potential", "prospect", 0, 1, 1.0, None),
        ("lifecycle_stage", None, "region", "west_sichuan", "active", 2, 1, 0.5, None),
        ("lifecycle_stage", None, "region", "west_sichuan", "at_risk", 3, 1, 0.5, None),
        ("lifecycle_stage", None, "region", "outside_sichuan", "new", 1, 1, 0.5, None),
        ("lifecycle_stage", None, "region", "outside_sichuan", "prospect", 0, 1, 0.5, None),
    ]
    assertDataFrameEqual(got, typed(spark, LIFECYCLE, expected))


SERVICE = ("measure string, period string, period_start date, slot string, region string, tier string, "
           "group string, numerator long, denominator long, value double, avg_delay_minutes double")
DELIVERIES = ("delivery_id string, order_id string, city string, slot string, delivery_date date, is_late boolean, "
              "delay_minutes int")


def service_conf(**habits) -> dict:
    conf = copy.deepcopy(config.load())
    conf["habits"] = habits
    return conf


def test_service(spark):
    day = "2025-06-30"
    deliveries = typed(spark, DELIVERIES, [
        ("D1", "O1", "成都市", "18-20", "2025-06-30", True, 45),
        ("D2", "O2", "成都市", "18-20", "2025-06-30", False, -10),
        ("D3", "O3", "重庆市", "08-10", "2025-06-29", True, None),   # failed
        ("D4", "O4", "成都市", "18-20", "2025-06-28", False, -5),    # outside both windows
        ("D5", "O5", "成都市", "10-12", "2025-06-20", True, 30),     # A came back 2 days later
        ("D6", "O6", "成都市", "10-12", "2025-06-21", False, -5),    # B came back 6 days later: too late
        ("D7", "O7", "重庆市", "10-12", "2025-06-24", False, 0),     # C: same day does not count, 5 days does
    ])
    orders = typed(spark, "order_id string, customer_id string", [
        ("O1", "A"), ("O2", "B"), ("O3", "C"), ("O4", "A"), ("O5", "A"), ("O6", "B"), ("O7", "C")])
    sales = typed(spark, "customer_id string, order_date date", [
        ("A", "2025-06-20"), ("A", "2025-06-22"), ("A", "2025-06-30"), ("A", "2025-05-31"),
        ("B", "2025-06-21"), ("B", "2025-06-27"), ("C", "2025-06-24"), ("C", "2025-06-29")])
    complaints = typed(spark, "customer_id string, kind string, created_ts_local timestamp", [
        ("A", "complaint", "2025-06-05 10:00:00"), ("A", "suggestion", "2025-06-06 10:00:00"),
        ("C", "complaint", "2025-06-10 10:00:00"), ("B", "complaint", "2025-05-20 10:00:00")])
    cities = typed(spark, "city string, province string",
                   [("成都市", "四川省"), ("重庆市", "重庆市"), ("成都市", "四川省")])  # a city twice: no double count
    people = profile(spark, day, [
        {"customer_id": "A", "tier": "Gold"}, {"customer_id": "B", "tier": "Silver"},
        {"customer_id": "C", "tier": "Gold", "region": "outside_sichuan"}])
    conf = service_conf(delay_days=2, months=1, window_days=10, repurchase_days=5)
    got = habit_service.transform(deliveries, orders, sales, complaints, cities, people, d(day), conf)

    west, out = "west_sichuan", "outside_sichuan"
    delay = [("2025-06-30", slot, region, 1, 2, 0.5, 17.5) for slot in ("18-20", "all") for region in (west, "all")]
    delay += [("2025-06-29", slot, region, 1, 1, 1.0, None) for slot in ("08-10", "all") for region in (out, "all")]
    complaint = [(west, "Gold", 1, 3), (west, "Silver", 0, 2), (out, "Gold", 1, 2), (west, "all", 1, 5),
                 (out, "all", 1, 2), ("all", "Gold", 2, 5), ("all", "Silver", 0, 2), ("all", "all", 2, 7)]
    late = [(region, tier, 1, 1) for region in (west, "all") for tier in ("Gold", "all")]
    on_time = [(west, "Silver", 0, 1), (out, "Gold", 1, 1), (west, "all", 0, 1), (out, "all", 1, 1),
               ("all", "Silver", 0, 1), ("all", "Gold", 1, 1), ("all", "all", 1, 2)]
    expected = (
        [("delivery_delay", "day", day_, slot, region, "all", "all", n, den, v, avg)
         for day_, slot, region, n, den, v, avg in delay]
        + [("complaint_rate", "month", "2025-06-01", "all", region, tier, "all", n, den, 100.0 * n / den)
           + (None,) for region, tier, n, den in complaint]
        + [("repurchase_after_delivery", "window", "2025-06-16", "all", region, tier, "late", n, den, n / den, None)
           for region, tier, n, den in late]
        + [("repurchase_after_delivery", "window", "2025-06-16", "all", region, tier, "on_time", n, den, n / den, None)
           for region, tier, n, den in on_time]
    )
    assertDataFrameEqual(got, typed(spark, SERVICE, expected))
