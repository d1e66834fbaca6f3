"""Every habit and supply table built the way `habitlake gold` builds it, from an AsOf over one small
hand-made world: rows dated after D (orders, lines, views, deliveries, complaints, a promotion, an
inventory snapshot) change nothing; two builds are checked row by row; and every table's rows pass
its Great Expectations suite, which does catch a duplicated key."""
from __future__ import annotations

import pytest
from pyspark.testing import assertDataFrameEqual

from expectations.runner import DataCheckFailed, run_checks
from jobs.gold.asof import AsOf
from jobs.gold.run import job

from habit_frames import profile, typed
from silver_frames import customer, frame, line, order, product

D = "2025-06-30"
# the habit and supply modules, in run order (habit_price_comparison feeds habit_price_sensitivity)
TABLES = ("habit_purchase_frequency", "habit_time", "habit_channel_payment", "habit_category_brand",
          "habit_price_band", "habit_price_comparison", "habit_price_sensitivity", "habit_lifecycle",
          "winback_list", "habit_service", "supply_daily_demand", "supply_inventory")
INVENTORY = ("snapshot_date date, warehouse_id string, product_id string, on_hand_qty int, received_qty int, "
             "shipped_qty int, expiring_qty int, nearest_expiry_date date, source_file string")


def event(event_id, customer_id, product_id, platform, when, kind="view"):
    return {"event_id": event_id, "event_ts_local": when, "event_date": when[:10], "event_hour": int(when[11:13]),
            "event_type": kind, "customer_id": customer_id, "product_id": product_id, "platform": platform}


def delivery(delivery_id, order_id, city, slot, day, late, delay):
    return {"delivery_id": delivery_id, "order_id": order_id, "warehouse_id": "WH_CD", "city": city, "slot": slot,
            "delivery_date": day, "status": "delivered", "is_late": late, "delay_minutes": delay}


def silver(spark, future: bool) -> dict:
    """The world's silver tables; `future` adds rows dated after D."""
    orders = [
        order("O1", "A", "2025-06-29 19:30", 100),
        order("O2", "A", "2025-06-20 19:10", 200, channel="mini_program", payment_method="alipay", promo_id="PR1"),
        order("O3", "A", "2025-04-10 08:00", 300),
        order("O5", "B", "2025-03-01 10:00", 50, channel="store", payment_method="cash_on_delivery"),
        order("O6", "A", "2025-06-25 12:00", 500, status="cancelled"),
        order("O9", "C", "2025-06-30 09:00", 40),
    ]
    lines = [line("O1", 1, "2025-06-29", "P1", 2, 20), line("O1", 2, "2025-06-29", "P3", 3, 20),
             line("O2", 1, "2025-06-20", "P2", 4, 50), line("O3", 1, "2025-04-10", "P2", 6, 50),
             line("O5", 1, "2025-03-01", "P3", 2, 25), line("O6", 1, "2025-06-25", "P2", 10, 50),
             line("O9", 1, "2025-06-30", "P1", 2, 20)]
    events = [event("E1", "A", "P2", "app", "2025-06-18 10:00:00"),
              event("E2", "A", "P2", "web", "2025-06-19 10:00:00"),
              event("E3", "B", "P3", "app", "2025-06-01 10:00:00")]
    deliveries = [delivery("DL1", "O1", "成都市", "18-20", "2025-06-29", False, -20),
                  delivery("DL2", "O2", "成都市", "18-20", "2025-06-20", True, 30),
                  delivery("DL9", "O9", "宜宾市", "08-10", "2025-06-30", False, -5)]
    complaints = [{"complaint_id": "CS1", "customer_id": "A", "order_id": "O2", "kind": "complaint",
                   "created_ts_local": "2025-06-21 10:00:00"}]
    promotions = [{"promo_id": "PR1", "promo_type": "discount", "discount_depth": 0.25, "category_l1": "frozen",
                   "target_tier": "gold", "start_date": "2025-06-15", "end_date": "2025-06-25"}]
    inventory = [("2025-06-29", "WH_CD", "P1", 10, 0, 2, 0, "2025-07-05", "f"),
                 ("2025-06-30", "WH_CD", "P1", 8, 0, 2, 0, "2025-07-05", "f"),
                 ("2025-06-30", "WH_CD", "P2", 5, 0, 4, 0, "2025-07-30", "f")]
    if future:
        orders += [order("O4", "A", "2025-07-02 10:00", 999, channel="web"), order("O10", "C", "2025-07-01 08:00", 20)]
        lines += [line("O4", 1, "2025-07-02", "P2", 10, 99.9), line("O10", 1, "2025-07-01", "P1", 1, 20)]
        events += [event("E8", "A", "P1", "app", "2025-07-01 10:00:00"),
                   event("E9", "A", "P1", "web", "2025-07-01 11:00:00")]
        deliveries += [delivery("DL4", "O4", "重庆市", "10-12", "2025-07-02", True, 90)]
        complaints += [{"complaint_id": "CS2", "customer_id": "C", "order_id": "O10", "kind": "complaint",
                        "created_ts_local": "2025-07-01 10:00:00"}]
        promotions += [{"promo_id": "PR9", "promo_type": "discount", "discount_depth": 0.4, "category_l1": "frozen",
                        "target_tier": "all", "start_date": "2025-07-01", "end_date": "2025-07-05"}]
        inventory += [("2025-07-01", "WH_CD", "P1", 30, 24, 2, 0, "2025-07-20", "f")]
    customers = [customer("A"), customer("B", province="陕西省", city="西安市"), customer("C", city="宜宾市")]
    products = [product("P1", "frozen", "hotpot_base", "BrandA", 20, 10),
                product("P2", "frozen", "frozen_meat", "BrandA", 50, 30),
                product("P3", "vegetables", "leafy", "BrandC", 20, 10)]
    tables = {"customers": customers, "products": products, "orders": orders, "order_lines": lines,
              "events": events, "deliveries": deliveries, "complaints": complaints, "promotions": promotions}
    frames = {name: frame(spark, name, rows) for name, rows in tables.items()}
    frames["inventory"] = typed(spark, INVENTORY, inventory)
    return frames


def gold_profile(spark):
    return profile(spark, D, [
        {"customer_id": "A", "tier": "Gold", "segment": "family", "first_order_date": "2025-04-10",
         "last_order_date": "2025-06-29", "recency_days": 1, "orders_total": 3, "spend_total": 600.0,
         "category_share": {"frozen_meat": 0.9, "hotpot_base": 0.04, "leafy": 0.06}},
        {"customer_id": "B", "tier": "Churned", "region": "outside_sichuan", "first_order_date": "2025-03-01",
         "last_order_date": "2025-03-01", "recency_days": 121, "orders_total": 1, "spend_total": 600.0,
         "lifecycle_stage": "churned", "is_churned": True, "category_share": {"leafy": 1.0},
         "preferred_channel": "store", "preferred_push_channel": "sms"},
        {"customer_id": "C", "tier": "Potential", "region": "south_sichuan", "signup_date": "2025-06-30",
         "first_order_date": "2025-06-30", "last_order_date": "2025-06-30", "recency_days": 0, "orders_total": 1,
         "spend_total": 40.0, "lifecycle_stage": "new"},
    ])


def build_all(spark, settings, future: bool) -> dict:
    frames = silver(spark, future)
    gold = {"customer_profile": gold_profile(spark)}
    out = {}
    for name in TABLES:
        asof = AsOf.from_frames(spark, settings, D, frames, gold)
        rows = job(name).build(asof).cache()
        rows.count()
        asof.release()  # the kept sales / sale lines of this AsOf (the rows are cached themselves)
        gold[name] = rows
        out[name] = rows
    return out


@pytest.fixture(scope="module")
def built(spark, settings):
    return build_all(spark, settings, future=False), build_all(spark, settings, future=True)


@pytest.mark.parametrize("name", TABLES)
def test_rows_after_d_change_nothing(built, name):
    now, with_future = built
    assertDataFrameEqual(with_future[name], now[name])


def test_channel_payment_build(spark, built):
    _, got = built
    mix = ("month date, kind string, value string, is_complete boolean, orders long, customers long, spend double, "
           "order_share double, spend_share double")
    assertDataFrameEqual(got["habit_channel_payment"], typed(spark, mix, [
        ("2025-03-01", "channel", "store", True, 1, 1, 50.0, 1.0, 1.0),
        ("2025-03-01", "payment", "cash_on_delivery", True, 1, 1, 50.0, 1.0, 1.0),
        ("2025-04-01", "channel", "app", True, 1, 1, 300.0, 1.0, 1.0),
        ("2025-04-01", "payment", "wechat_pay", True, 1, 1, 300.0, 1.0, 1.0),
        ("2025-06-01", "channel", "app", True, 2, 2, 140.0, 2 / 3, 140 / 340),
        ("2025-06-01", "channel", "mini_program", True, 1, 1, 200.0, 1 / 3, 200 / 340),
        ("2025-06-01", "payment", "wechat_pay", True, 2, 2, 140.0, 2 / 3, 140 / 340),
        ("2025-06-01", "payment", "alipay", True, 1, 1, 200.0, 1 / 3, 200 / 340),
    ]))


def test_supply_inventory_build(spark, built):
    _, got = built
    stock = ("warehouse_id string, product_id string, category_l1 string, category_l2 string, storage_type string, "
             "snapshot_date date, on_hand_qty long, expiring_qty long, units_sold long, avg_daily_demand double, "
             "avg_on_hand double, inventory_turnover double, days_of_cover double, nearest_expiry_date date, "
             "days_to_expiry int, shelf_life_days int, remaining_shelf_life_share double, near_shelf_life boolean")
    # 28-day window: P1 sold 2 + 2 units (the cancelled order and the orders after D do not count)
    assertDataFrameEqual(got["supply_inventory"], typed(spark, stock, [
        ("WH_CD", "P1", "frozen", "hotpot_base", "chilled", "2025-06-30", 8, 0, 4, 1 / 7, 9.0, 4 / 9, 56.0,
         "2025-07-05", 5, 10, 0.5, False),
        ("WH_CD", "P2", "frozen", "frozen_meat", "chilled", "2025-06-30", 5, 0, 4, 1 / 7, 5.0, 0.8, 35.0,
         "2025-07-30", 30, 10, 1.0, False),
    ]))


@pytest.fixture(scope="module")
def gx_root(tmp_path_factory):
    return tmp_path_factory.mktemp("habit_gx_checks")


def test_every_suite_passes_on_the_world(built, gx_root):
    _, got = built
    outcomes = {}
    for name in TABLES:
        result = run_checks(got[name], f"gold_{name}", gx_root=gx_root, run_id=f"gold_{D}",
                            params={"rows": got[name].count()}, raise_on_critical=False)
        outcomes[name] = [f.describe() for f in result.critical_failures + result.warnings]
    assert outcomes == {name: [] for name in TABLES}


def test_a_suite_catches_a_duplicated_summary_row(built, gx_root):
    _, got = built
    rows = got["habit_time"]
    summary = rows.filter("iso_weekday IS NULL").limit(1)
    with pytest.raises(DataCheckFailed, match="expect_compound_columns_to_be_unique"):
        run_checks(rows.unionByName(summary), "gold_habit_time", gx_root=gx_root, run_id=f"gold_{D}",
                   params={"rows": 0})
