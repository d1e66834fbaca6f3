"""Supply tables on hand-made frames: daily demand per product x region x tier (recompute window,
keys that disappear rewritten as zeros, a real MERGE into Delta over two runs with a late order and
a tier change), and inventory health (latest snapshot, demand and turnover over the window, days of
cover, shelf-life share and the near-expiry flag)."""
from __future__ import annotations

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from habitlake import catalog
from jobs.gold import supply_daily_demand, supply_inventory
from jobs.gold.asof import AsOf
from jobs.gold.run import build_and_write

from habit_frames import d, profile, typed
from silver_frames import customer, frame, line, order, product

DEMAND = ("date date, product_id string, region string, tier string, category_l1 string, category_l2 string, "
          "quantity long, revenue double, orders long, customers long, computed_as_of date")
LINES = ("order_id string, customer_id string, order_date date, product_id string, category_l1 string, "
         "category_l2 string, quantity int, line_amount decimal(14,2)")
HOTPOT, MEAT = ("frozen", "hotpot_base"), ("frozen", "frozen_meat")


def demand_inputs(spark):
    lines = typed(spark, LINES, [
        ("O1", "A", "2025-06-30", "P1", *HOTPOT, 2, 40), ("O1", "A", "2025-06-30", "P2", *MEAT, 1, 50),
        ("O2", "B", "2025-06-30", "P1", *HOTPOT, 1, 20),
        ("O3", "A", "2025-06-29", "P1", *HOTPOT, 1, 20),
        ("O4", "C", "2025-06-27", "P1", *HOTPOT, 5, 100),  # before the 3 recomputed days
    ])
    people = profile(spark, "2025-06-30", [
        {"customer_id": "A", "tier": "Gold"}, {"customer_id": "B", "tier": "Gold"},
        {"customer_id": "C", "tier": "Silver", "region": "outside_sichuan"}])
    return lines, people


def test_daily_demand_recomputes_the_last_days(spark):
    lines, people = demand_inputs(spark)
    previous = typed(spark, DEMAND, [
        ("2025-06-29", "P1", "west_sichuan", "Silver", *HOTPOT, 1, 20.0, 1, 1, "2025-06-29"),  # A was Silver then
        ("2025-06-29", "P1", "west_sichuan", "Gold", *HOTPOT, 9, 99.0, 9, 9, "2025-06-29"),
        ("2025-06-27", "P1", "outside_sichuan", "Silver", *HOTPOT, 4, 80.0, 1, 1, "2025-06-28"),  # not recomputed
    ])
    got = supply_daily_demand.transform(lines, people, previous, d("2025-06-30"), 3)
    day = "2025-06-30"
    assertDataFrameEqual(got, typed(spark, DEMAND, [
        ("2025-06-30", "P1", "west_sichuan", "Gold", *HOTPOT, 3, 60.0, 2, 2, day),
        ("2025-06-30", "P2", "west_sichuan", "Gold", *MEAT, 1, 50.0, 1, 1, day),
        ("2025-06-29", "P1", "west_sichuan", "Gold", *HOTPOT, 1, 20.0, 1, 1, day),
        ("2025-06-29", "P1", "west_sichuan", "Silver", *HOTPOT, 0, 0.0, 0, 0, day),  # gone: rewritten as zero
    ]))


def test_daily_demand_first_run_fills_every_day(spark):
    lines, people = demand_inputs(spark)
    got = supply_daily_demand.transform(lines, people, None, d("2025-06-30"), None)
    day = "2025-06-30"
    assertDataFrameEqual(got, typed(spark, DEMAND, [
        ("2025-06-30", "P1", "west_sichuan", "Gold", *HOTPOT, 3, 60.0, 2, 2, day),
        ("2025-06-30", "P2", "west_sichuan", "Gold", *MEAT, 1, 50.0, 1, 1, day),
        ("2025-06-29", "P1", "west_sichuan", "Gold", *HOTPOT, 1, 20.0, 1, 1, day),
        ("2025-06-27", "P1", "outside_sichuan", "Silver", *HOTPOT, 5, 100.0, 1, 1, day),
    ]))


def test_daily_demand_merges_late_orders_into_delta(spark, settings, tmp_path_factory):
    """Two runs through the real write path (on a lakehouse root of its own): the second absorbs an
    order that reached silver late and the customer's new tier; the day outside the recompute window
    keeps the first run's row."""
    settings = settings.with_overrides(root=str(tmp_path_factory.mktemp("supply_demand_root")))
    products = [product("P1", *HOTPOT, "BrandA", 20, 10), product("P3", "vegetables", "leafy", "BrandC", 20, 10)]
    customers = [customer("A")]
    first_orders = [order("O0", "A", "2025-06-20 10:00", 20), order("O1", "A", "2025-06-29 19:00", 40),
                    order("O3", "A", "2025-06-28 09:00", 20)]
    first_lines = [line("O0", 1, "2025-06-20", "P3", 1, 20), line("O1", 1, "2025-06-29", "P1", 2, 20),
                   line("O3", 1, "2025-06-28", "P1", 1, 20)]
    late_orders = [order("O7", "A", "2025-06-29 21:00", 20), order("O8", "A", "2025-06-30 08:00", 20)]
    late_lines = [line("O7", 1, "2025-06-29", "P1", 1, 20), line("O8", 1, "2025-06-30", "P1", 1, 20)]

    table = catalog.table("gold.supply_daily_demand")

    def run(day, orders, lines, tier):
        silver = {"orders": frame(spark, "orders", orders), "order_lines": frame(spark, "order_lines", lines),
                  "products": frame(spark, "products", products), "customers": frame(spark, "customers", customers)}
        gold = {"customer_profile": profile(spark, day, [{"customer_id": "A", "tier": tier}])}
        if catalog.exists(spark, settings, table):
            gold["supply_daily_demand"] = catalog.read(spark, settings, table.full_name)
        return build_and_write(supply_daily_demand.JOB, AsOf.from_frames(spark, settings, day, silver, gold), None)

    assert run("2025-06-29", first_orders, first_lines, "Silver") == 3  # first run: every day up to D
    assert run("2025-06-30", first_orders + late_orders, first_lines + late_lines, "Gold") == 5
    got = catalog.read(spark, settings, table.full_name)
    leafy = ("vegetables", "leafy")
    assertDataFrameEqual(got, typed(spark, DEMAND, [
        ("2025-06-20", "P3", "west_sichuan", "Silver", *leafy, 1, 20.0, 1, 1, "2025-06-29"),
        ("2025-06-28", "P1", "west_sichuan", "Silver", *HOTPOT, 0, 0.0, 0, 0, "2025-06-30"),
        ("2025-06-28", "P1", "west_sichuan", "Gold", *HOTPOT, 1, 20.0, 1, 1, "2025-06-30"),
        ("2025-06-29", "P1", "west_sichuan", "Silver", *HOTPOT, 0, 0.0, 0, 0, "2025-06-30"),
        ("2025-06-29", "P1", "west_sichuan", "Gold", *HOTPOT, 3, 60.0, 2, 1, "2025-06-30"),
        ("2025-06-30", "P1", "west_sichuan", "Gold", *HOTPOT, 1, 20.0, 1, 1, "2025-06-30"),
    ]))
    # the zero rows keep every total right: units per day over the whole table
    per_day = {r["date"].isoformat(): r["q"] for r in got.groupBy("date").agg(F.sum("quantity").alias("q")).collect()}
    assert per_day == {"2025-06-20": 1, "2025-06-28": 1, "2025-06-29": 3, "2025-06-30": 1}


INVENTORY = ("snapshot_date date, warehouse_id string, product_id string, on_hand_qty int, expiring_qty int, "
             "nearest_expiry_date date")
STOCK = ("warehouse_id string, product_id string, category_l1 string, category_l2 string, storage_type string, "
         "snapshot_date date, on_hand_qty long, expiring_qty long, units_sold long, avg_daily_demand double, "
         "avg_on_hand double, inventory_turnover double, days_of_cover double, nearest_expiry_date date, "
         "days_to_expiry int, shelf_life_days int, remaining_shelf_life_share double, near_shelf_life boolean")


def test_inventory_health(spark):
    inventory = typed(spark, INVENTORY, [
        ("2025-06-20", "WH1", "P1", 100, 0, "2025-06-25"),   # before the window
        ("2025-06-29", "WH1", "P1", 10, 0, "2025-07-02"),
        ("2025-06-30", "WH1", "P1", 6, 2, "2025-07-02"),     # 2 of 10 shelf-life days left: near expiry
        ("2025-06-30", "WH1", "P2", 0, 0, None),             # out of stock, no demand
        ("2025-06-29", "WH2", "P1", 4, 0, "2025-06-28"),     # WH2's latest snapshot, expired stock
    ])
    sold = typed(spark, "warehouse_id string, product_id string, order_date date, quantity int", [
        ("WH1", "P1", "2025-06-30", 3), ("WH1", "P1", "2025-06-29", 1), ("WH1", "P1", "2025-06-28", 10),
        ("WH2", "P1", "2025-06-29", 2)])
    products = typed(spark, "product_id string, category_l1 string, category_l2 string, storage_type string, "
                            "shelf_life_days int", [("P1", *HOTPOT, "frozen", 10), ("P2", *MEAT, "frozen", 180)])
    got = supply_inventory.transform(inventory, sold, products, d("2025-06-30"), 2, 0.25)
    assertDataFrameEqual(got, typed(spark, STOCK, [
        ("WH1", "P1", *HOTPOT, "frozen", "2025-06-30", 6, 2, 4, 2.0, 8.0, 0.5, 3.0, "2025-07-02", 2, 10, 0.2, True),
        ("WH1", "P2", *MEAT, "frozen", "2025-06-30", 0, 0, 0, 0.0, 0.0, None, None, None, None, 180, None, False),
        ("WH2", "P1", *HOTPOT, "frozen", "2025-06-29", 4, 0, 2, 1.0, 4.0, 0.5, 4.0, "2025-06-28", -2, 10, 0.0, True),
    ]))
