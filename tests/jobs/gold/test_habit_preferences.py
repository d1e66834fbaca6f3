"""Product preference and price habits on hand-made frames, every output row written out: category
share of wallet, top brand, brand switching and top product; quantity-weighted price bands; price
comparison from views; promotion conversion by discount depth and tier against a baseline."""
from __future__ import annotations

from pyspark.testing import assertDataFrameEqual

from jobs.gold import habit_category_brand, habit_price_band, habit_price_comparison, habit_price_sensitivity

from habit_frames import d, profile, typed

LINES = ("customer_id string, order_id string, order_ts_local timestamp, order_date date, product_id string, "
         "product_name string, category_l1 string, category_l2 string, brand string, quantity int, "
         "line_amount decimal(14,2)")


def sale(customer, order, when, product, l1, l2, brand, qty, amount):
    return (customer, order, when, when[:10], product, product, l1, l2, brand, qty, amount)


def preference_lines(spark):
    meat, leafy = ("frozen", "frozen_meat"), ("vegetables", "leafy")
    return typed(spark, LINES, [
        # A's frozen meat, order by order: BrandA, BrandB (60 > 50), BrandB, BrandA -> 2 switches in 3 pairs
        sale("A", "O1", "2025-06-01 10:00:00", "P2", *meat, "BrandA", 2, 100),
        sale("A", "O1", "2025-06-01 10:00:00", "P3", *leafy, None, 3, 30),            # no brand -> unknown
        sale("A", "O2", "2025-06-05 10:00:00", "P4", *meat, "BrandB", 1, 60),
        sale("A", "O2", "2025-06-05 10:00:00", "P2", *meat, "BrandA", 1, 50),
        sale("A", "O3", "2025-06-10 10:00:00", "P4", *meat, "BrandB", 1, 60),
        sale("A", "O4", "2025-06-12 10:00:00", "P2", *meat, "BrandA", 1, 40),
        # B: one order, a brand tie and a product tie, both broken by name
        sale("B", "O5", "2025-06-20 10:00:00", "P5", "frozen", "hotpot_base", "BrandC", 1, 20),
        sale("B", "O5", "2025-06-20 10:00:00", "P1", "frozen", "hotpot_base", "BrandA", 1, 20),
        sale("B", "O5", "2025-06-20 10:00:00", "P9", None, None, None, 1, 10),       # unknown product
        sale("B", "O6", "2024-06-30 10:00:00", "P1", "frozen", "hotpot_base", "BrandA", 5, 100),  # before the window
    ])


CATEGORY = ("customer_id string, category_l1 string, category_l2 string, orders long, quantity long, spend double, "
            "share_of_wallet double, brands long, top_brand string, top_brand_share double, brand_switches long, "
            "brand_switch_rate double, top_product_id string, top_product_name string, top_product_share double")


def test_category_brand(spark):
    got = habit_category_brand.transform(preference_lines(spark), d("2025-06-30"), 365)
    assertDataFrameEqual(got, typed(spark, CATEGORY, [
        ("A", "frozen", "frozen_meat", 4, 6, 310.0, 310 / 340, 2, "BrandA", 190 / 310, 2, 2 / 3, "P2", "P2", 4 / 6),
        ("A", "vegetables", "leafy", 1, 3, 30.0, 30 / 340, 1, "unknown", 1.0, 0, None, "P3", "P3", 1.0),
        ("B", "frozen", "hotpot_base", 1, 2, 40.0, 1.0, 2, "BrandA", 0.5, 0, None, "P1", "P1", 0.5),
    ]))


def test_category_shares_are_exact(spark):
    """Decimal sums: one brand's share of its category is exactly 1, whatever order Spark adds in
    (summed as doubles, such shares came out as 1.0000000000000002 on generated data)."""
    amounts = [0.1, 0.2, 0.7, 0.3, 0.6, 0.1, 0.1, 0.1, 0.33, 0.37]
    lines = typed(spark, LINES, [sale("A", f"O{i}", f"2025-06-{i + 1:02d} 10:00:00", "P2", "frozen", "frozen_meat",
                                      "BrandA", 1, amount) for i, amount in enumerate(amounts)])
    (row,) = habit_category_brand.transform(lines.repartition(3), d("2025-06-30"), 365).collect()
    assert (row.top_brand_share, row.share_of_wallet, row.top_product_share, row.spend) == (1.0, 1.0, 1.0, 2.9)


BAND = ("customer_id string, category_l1 string, category_l2 string, lines long, quantity long, price_min double, "
        "price_p10 double, price_p50 double, price_p90 double, price_max double, avg_price double")


def test_price_band(spark):
    # A's frozen-meat units: 40, 50, 50, 50, 60, 60 (the 2-unit line at 50 counts twice)
    got = habit_price_band.transform(preference_lines(spark), d("2025-06-30"), 365)
    assertDataFrameEqual(got, typed(spark, BAND, [
        ("A", "frozen", "frozen_meat", 5, 6, 40.0, 45.0, 50.0, 60.0, 60.0, 310 / 6),
        ("A", "vegetables", "leafy", 1, 3, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0),
        ("B", "frozen", "hotpot_base", 2, 2, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0),
    ]))


EVENTS = ("event_type string, customer_id string, product_id string, platform string, event_ts_local timestamp, "
          "event_date date")
COMPARISON = ("customer_id string, products_viewed long, multi_platform_products long, watched_purchases long, "
              "priced_purchases long, cheaper_purchases long, is_price_comparer boolean")


def view(customer, product, platform, when, kind="view"):
    return (kind, customer, product, platform, when, when[:10])


def test_price_comparison(spark):
    events = typed(spark, EVENTS, [
        # A looked at P2 twice before the window, then bought it below that day's price (55)
        view("A", "P2", "app", "2025-05-25 10:00:00"), view("A", "P2", "web", "2025-05-30 10:00:00"),
        view("A", "P3", "app", "2025-06-10 10:00:00"), view("A", "P3", "mini_program", "2025-06-11 10:00:00"),
        # P4 viewed twice, bought twice; nobody bought P4 on the first view's day: no reference price
        view("A", "P4", "app", "2025-06-03 09:00:00"), view("A", "P4", "app", "2025-06-04 09:00:00"),
        view("B", "P1", "app", "2025-06-20 09:00:00"),                    # one view only
        view("B", "P1", "web", "2025-06-20 09:30:00", kind="add_cart"),  # not a view
        view(None, "P1", "web", "2025-06-20 09:30:00"),                   # anonymous
        view("E", "P1", "app", "2025-06-29 09:00:00"), view("E", "P1", "web", "2025-06-29 10:00:00"),
        view("E", "P1", "web", "2025-07-01 10:00:00"),  # after D: the transform gets frames cut at D, see build tests
    ])
    lines = typed(spark, "customer_id string, order_id string, product_id string, order_date date, "
                         "order_ts_local timestamp, quantity int, line_amount decimal(14,2)", [
        ("B", "O0", "P2", "2025-05-25", "2025-05-25 12:00:00", 1, 55),
        ("A", "O1", "P2", "2025-06-01", "2025-06-01 10:00:00", 2, 100),
        ("A", "O2", "P4", "2025-06-05", "2025-06-05 10:00:00", 1, 60),
        ("A", "O3", "P4", "2025-06-10", "2025-06-10 10:00:00", 1, 60),
        ("B", "O5", "P1", "2025-06-20", "2025-06-20 10:00:00", 1, 20),
    ])
    got = habit_price_comparison.transform(events.filter("event_date <= '2025-06-30'"), lines, d("2025-06-30"), 30, 14)
    assertDataFrameEqual(got, typed(spark, COMPARISON, [
        ("A", 2, 1, 3, 1, 1, True),
        ("B", 1, 0, 0, 0, 0, False),
        ("E", 1, 1, 0, 0, 0, True),
    ]))


PROMOS = ("promo_id string, promo_type string, discount_depth decimal(4,3), category_l1 string, target_tier string, "
          "start_date date, end_date date")
SENSITIVITY = ("measure string, tier string, bucket string, promotions long, numerator long, denominator long, "
               "value double")


def test_price_sensitivity(spark):
    day = "2025-06-30"
    promotions = typed(spark, PROMOS, [
        ("PR1", "discount", 0.25, "frozen", "gold", "2025-06-10", "2025-06-14"),        # baseline 06-05..06-09
        # runs past D: 3 days observed, baseline 06-25..06-27
        ("PR2", "bundle", 0.1, "Vegetables", "all", "2025-06-28", "2025-07-05"),
        ("PR3", "coupon", 0.33, "all", "all", "2025-06-01", "2025-06-05"),             # coupons: A/B tables
        ("PR4", "discount", 0.25, "frozen", "all", "2025-02-20", "2025-03-01"),        # ended before the window
    ])
    people = profile(spark, day, [
        {"customer_id": "A", "tier": "Gold"},
        {"customer_id": "B", "tier": "Silver"},
        {"customer_id": "C", "tier": "Gold", "signup_date": "2025-06-07"},  # joined after PR1's baseline began
        {"customer_id": "E", "tier": None},
    ])
    lines = typed(spark, "customer_id string, order_date date, category_l1 string", [
        ("A", "2025-06-11", "frozen"), ("A", "2025-06-06", "frozen"), ("A", "2025-06-29", "vegetables"),
        ("B", "2025-06-26", "vegetables"), ("C", "2025-06-12", "frozen"), ("E", "2025-06-29", "fruit"),
    ])
    comparison = typed(spark, "customer_id string, multi_platform_products long, cheaper_purchases long, "
                              "is_price_comparer boolean", [
        ("A", 1, 1, True), ("B", 0, 0, False), ("E", 1, 0, True)])
    got = habit_price_sensitivity.transform(promotions, lines, people, comparison, d(day), 90,
                                            [0.0, 0.1, 0.2, 0.3, 0.4, 1.0])

    def promo(tier, bucket, n, pairs, converted, baseline):
        return [("promo_conversion", tier, bucket, n, converted, pairs, converted / pairs),
                ("baseline_conversion", tier, bucket, n, baseline, pairs, baseline / pairs),
                ("conversion_lift", tier, bucket, n, None, pairs, (converted - baseline) / pairs)]

    def compared(tier, customers, comparers, multi, cheaper):
        return [("price_comparer_share", tier, "all", None, comparers, customers, comparers / customers),
                ("multi_platform_share", tier, "all", None, multi, customers, multi / customers),
                ("cheaper_after_views_share", tier, "all", None, cheaper, customers, cheaper / customers)]

    assertDataFrameEqual(got, typed(spark, SENSITIVITY, [
        *promo("Gold", "20-30%", 1, 1, 1, 1), *promo("all", "20-30%", 1, 1, 1, 1),
        *promo("Gold", "10-20%", 1, 2, 1, 0), *promo("Silver", "10-20%", 1, 1, 0, 1),
        *promo("unknown", "10-20%", 1, 1, 0, 0), *promo("all", "10-20%", 1, 4, 1, 1),
        *compared("Gold", 1, 1, 1, 1), *compared("Silver", 1, 0, 0, 0), *compared("unknown", 1, 1, 1, 0),
        *compared("all", 3, 2, 2, 1),
    ]))
