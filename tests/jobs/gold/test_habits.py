"""Purchase habits on hand-made frames, every output row written out: purchase-count distributions
(last complete week and month, tier x region rollups), the hour x weekday heatmap with its weekday /
weekend summary, the monthly channel and payment mix, the win-back list; and the shared helpers."""
from __future__ import annotations

import datetime as dt

import pytest
from pyspark.testing import assertDataFrameEqual

from jobs.gold import habit_channel_payment, habit_purchase_frequency, habit_time, habits, winback_list

from habit_frames import d, profile, typed

SALES = "order_id string, customer_id string, order_date date, order_ts_local timestamp, order_hour int"


# --- shared helpers (no Spark) -----------------------------------------------------------------

@pytest.mark.parametrize("day, week, month", [
    ("2025-06-18", ("2025-06-09", "2025-06-15"), ("2025-05-01", "2025-05-31")),  # a Wednesday
    ("2025-06-15", ("2025-06-09", "2025-06-15"), ("2025-05-01", "2025-05-31")),  # a Sunday ends its week
    ("2025-06-30", ("2025-06-23", "2025-06-29"), ("2025-06-01", "2025-06-30")),  # a month's last day ends it
    ("2025-03-01", ("2025-02-17", "2025-02-23"), ("2025-02-01", "2025-02-28")),
])
def test_last_complete_periods(day, week, month):
    got = habit_purchase_frequency.last_complete_periods(d(day))
    assert got == {"week": (d(week[0]), d(week[1])), "month": (d(month[0]), d(month[1]))}


def test_window_helpers():
    assert habits.window_start(d("2025-06-30"), 90) == d("2025-04-02")
    assert habits.first_month(d("2025-06-18"), 12) == d("2024-07-01")
    assert habits.first_month(d("2025-01-31"), 1) == d("2025-01-01")
    assert habit_time.days_by_type(d("2025-06-18"), 7) == {"weekday": 5, "weekend": 2}
    assert habit_time.days_by_type(d("2025-06-15"), 2) == {"weekday": 0, "weekend": 2}


def test_bucket_labels():
    assert [b[0] for b in habits.depth_buckets([0.0, 0.1, 0.2, 0.3, 0.4, 1.0])] == [
        "00-10%", "10-20%", "20-30%", "30-40%", "40-100%"]
    assert [b[1] for b in habits.interval_buckets([1, 2, 4, 8, 15])] == ["1", "2-3", "4-7", "8-14", "15+"]
    with pytest.raises(ValueError):
        habits.depth_buckets([0.2, 0.1])
    with pytest.raises(ValueError):
        habits.interval_buckets([3, 3])


def test_bucket_columns(spark):
    from pyspark.sql import functions as F

    df = spark.createDataFrame([(0.0, 0), (0.1, 1), (0.25, 3), (0.4, 7), (1.0, 8), (1.2, 100)],
                               "depth double, days int")
    got = df.select(habits.depth_bucket(F.col("depth"), [0.0, 0.1, 0.2, 0.3, 0.4, 1.0]).alias("b"),
                    habits.interval_bucket(F.col("days"), [1, 2, 4, 8]).alias("i")).collect()
    assert [r.b for r in got] == ["00-10%", "10-20%", "20-30%", "40-100%", "40-100%", None]
    assert [None if r.i is None else (r.i["index"], r.i["label"]) for r in got] == [
        None, (0, "1"), (1, "2-3"), (2, "4-7"), (3, "8+"), (3, "8+")]


# --- habit_purchase_frequency -------------------------------------------------------------------

FREQ = ("period string, period_start date, period_end date, tier string, region string, purchases int, "
        "customers long, share double")


def test_purchase_frequency(spark):
    day = "2025-06-18"
    people = profile(spark, day, [
        {"customer_id": "A", "tier": "Gold", "region": "west_sichuan"},
        {"customer_id": "B", "tier": "Gold", "region": "outside_sichuan"},
        # joined during the week (after the month): in the week's distribution only
        {"customer_id": "C", "tier": "Silver", "signup_date": "2025-06-12", "first_order_date": "2025-06-12"},
        {"customer_id": "E", "tier": None, "signup_date": "2025-06-17"},  # joined after both periods
    ])
    sales = typed(spark, "order_id string, customer_id string, order_date date", [
        ("O1", "A", "2025-06-09"), ("O2", "A", "2025-06-15"), ("O3", "A", "2025-05-03"),
        ("O4", "A", "2025-06-16"),  # after the week
        ("O5", "B", "2025-05-10"), ("O6", "B", "2025-05-20"),
        ("O7", "B", "2025-06-08"),  # the Sunday before the week
        ("O8", "C", "2025-06-12"),
    ])
    got = habit_purchase_frequency.transform(sales, people, habit_purchase_frequency.last_complete_periods(d(day)))
    w = ("week", "2025-06-09", "2025-06-15")
    m = ("month", "2025-05-01", "2025-05-31")
    third = 1 / 3
    assertDataFrameEqual(got, typed(spark, FREQ, [
        (*w, "Gold", "west_sichuan", 2, 1, 1.0),
        (*w, "Gold", "outside_sichuan", 0, 1, 1.0),
        (*w, "Silver", "west_sichuan", 1, 1, 1.0),
        (*w, "Gold", "all", 2, 1, 0.5), (*w, "Gold", "all", 0, 1, 0.5),
        (*w, "Silver", "all", 1, 1, 1.0),
        (*w, "all", "west_sichuan", 2, 1, 0.5), (*w, "all", "west_sichuan", 1, 1, 0.5),
        (*w, "all", "outside_sichuan", 0, 1, 1.0),
        (*w, "all", "all", 0, 1, third), (*w, "all", "all", 1, 1, third), (*w, "all", "all", 2, 1, third),
        (*m, "Gold", "west_sichuan", 1, 1, 1.0),
        (*m, "Gold", "outside_sichuan", 2, 1, 1.0),
        (*m, "Gold", "all", 1, 1, 0.5), (*m, "Gold", "all", 2, 1, 0.5),
        (*m, "all", "west_sichuan", 1, 1, 1.0),
        (*m, "all", "outside_sichuan", 2, 1, 1.0),
        (*m, "all", "all", 1, 1, 0.5), (*m, "all", "all", 2, 1, 0.5),
    ]))


# --- habit_time ---------------------------------------------------------------------------------

TIME = ("dimension string, value string, day_type string, iso_weekday int, hour int, orders long, customers long, "
        "share double, orders_per_day double")


def test_time_heatmap_and_weekend_split(spark):
    day = "2025-06-18"  # a Wednesday: the 7-day window 06-12 (Thu) .. 06-18 has 5 weekdays, 2 weekend days
    people = profile(spark, day, [
        {"customer_id": "A", "segment": "s1", "tier": "Gold", "region": "west_sichuan"},
        {"customer_id": "B", "segment": None, "tier": "Silver", "region": "west_sichuan"},
    ])
    sales = typed(spark, SALES, [
        ("O1", "A", "2025-06-14", "2025-06-14 09:30:00", 9),   # Saturday
        ("O2", "A", "2025-06-14", "2025-06-14 09:50:00", 9),
        ("O3", "B", "2025-06-16", "2025-06-16 20:15:00", 20),  # Monday
        ("O4", "A", "2025-06-11", "2025-06-11 10:00:00", 10),  # before the window
    ])
    got = habit_time.transform(sales, people, d(day), 7)
    two_thirds, third = 2 / 3, 1 / 3
    both = [("weekend", 6, 9, 2, 1, two_thirds, None), ("weekday", 1, 20, 1, 1, third, None),
            ("weekend", None, None, 2, 1, two_thirds, 1.0), ("weekday", None, None, 1, 1, third, 0.2)]
    only_a = [("weekend", 6, 9, 2, 1, 1.0, None), ("weekend", None, None, 2, 1, 1.0, 1.0)]
    only_b = [("weekday", 1, 20, 1, 1, 1.0, None), ("weekday", None, None, 1, 1, 1.0, 0.2)]
    expected = ([("all", "all", *r) for r in both] + [("region", "west_sichuan", *r) for r in both]
                + [("segment", "s1", *r) for r in only_a] + [("tier", "Gold", *r) for r in only_a]
                + [("segment", "unknown", *r) for r in only_b] + [("tier", "Silver", *r) for r in only_b])
    assertDataFrameEqual(got, typed(spark, TIME, expected))


# --- habit_channel_payment ----------------------------------------------------------------------

MIX = ("month date, kind string, value string, is_complete boolean, orders long, customers long, spend double, "
       "order_share double, spend_share double")


def test_channel_payment_mix(spark):
    sales = typed(spark, "order_id string, customer_id string, order_date date, channel string, payment_method string, "
                         "total_amount decimal(14,2)", [
        ("O1", "A", "2025-05-03", "app", "wechat_pay", 100),
        ("O2", "B", "2025-05-20", "store", "cash_on_delivery", 50),
        ("O3", "A", "2025-06-02", "app", "alipay", 30),
        ("O4", "A", "2025-06-10", "app", None, 70),
        ("O5", "B", "2025-04-30", "web", "card", 10),  # before the two months
    ])
    got = habit_channel_payment.transform(sales, d("2025-06-18"), 2)
    assertDataFrameEqual(got, typed(spark, MIX, [
        ("2025-05-01", "channel", "app", True, 1, 1, 100.0, 0.5, 2 / 3),
        ("2025-05-01", "channel", "store", True, 1, 1, 50.0, 0.5, 1 / 3),
        ("2025-05-01", "payment", "wechat_pay", True, 1, 1, 100.0, 0.5, 2 / 3),
        ("2025-05-01", "payment", "cash_on_delivery", True, 1, 1, 50.0, 0.5, 1 / 3),
        ("2025-06-01", "channel", "app", False, 2, 1, 100.0, 1.0, 1.0),
        ("2025-06-01", "payment", "alipay", False, 1, 1, 30.0, 0.5, 0.3),
        ("2025-06-01", "payment", "unknown", False, 1, 1, 70.0, 0.5, 0.7),
    ]))


# --- winback_list -------------------------------------------------------------------------------

WINBACK = ("customer_id string, tier string, region string, member_level string, customer_type string, "
           "lifecycle_stage string, last_order_date date, recency_days int, orders_total long, spend_total double, "
           "favourite_categories array<string>, preferred_channel string, preferred_push_channel string, "
           "best_push_hour int, winback_rank int")


def test_winback_list(spark):
    day = "2025-06-30"
    lapsed = {"tier": "Churned", "lifecycle_stage": "churned", "is_churned": True, "last_order_date": "2025-03-01",
              "recency_days": 121, "orders_total": 4}
    people = profile(spark, day, [
        {"customer_id": "A", "tier": "Gold", "lifecycle_stage": "at_risk", "last_order_date": "2025-05-01",
         "recency_days": 60, "orders_total": 9, "spend_total": 800.0, "best_push_hour": 8,
         "category_share": {"leafy": 0.5, "frozen_meat": 0.3, "hotpot_base": 0.2}},
        {**lapsed, "customer_id": "B", "spend_total": 500.0, "category_share": {"b": 0.4, "a": 0.4, "c": 0.2}},
        {**lapsed, "customer_id": "F", "spend_total": 600.0, "category_share": None, "preferred_channel": "store",
         "preferred_push_channel": "sms"},
        {**lapsed, "customer_id": "E", "spend_total": 499.99},                              # spent too little
        {"customer_id": "C", "lifecycle_stage": "active", "spend_total": 5000.0},           # not lapsed
    ])
    got = winback_list.transform(people, 500, 2)
    assertDataFrameEqual(got, typed(spark, WINBACK, [
        ("A", "Gold", "west_sichuan", "regular", "consumer", "at_risk", "2025-05-01", 60, 9, 800.0,
         ["leafy", "frozen_meat"], "app", "app_push", 8, 1),
        ("F", "Churned", "west_sichuan", "regular", "consumer", "churned", "2025-03-01", 121, 4, 600.0,
         [], "store", "sms", 19, 2),
        ("B", "Churned", "west_sichuan", "regular", "consumer", "churned", "2025-03-01", 121, 4, 500.0,
         ["a", "b"], "app", "app_push", 19, 3),
    ]))


def test_dims_without_a_profile_column(spark):
    people = spark.createDataFrame([("A", "Gold")], "customer_id string, tier string")
    got = habits.dims(people, "tier", "segment").collect()
    assert [tuple(r) for r in got] == [("A", "Gold", "unknown")]
    assert habits.first_month(dt.date(2025, 1, 15), 13) == dt.date(2024, 1, 1)
