"""gold.customer_profile on a hand-made world: every measure to the exact value, nothing after D."""
import math

import pytest
from pyspark.sql import functions as F

from jobs.gold import customer_profile as cp
from jobs.gold import tiers

from silver_frames import asof, customer, line, order, product

D = "2025-06-30"


@pytest.fixture(scope="module")
def world(spark, settings):
    customers = [
        customer("A", city="成都市", valid_to="2025-07-01 00:00:00", is_current=False),
        customer("A", city="重庆市", province="重庆市", valid_from="2025-07-01 00:00:00"),  # moved after D
        customer("B", province="陕西省", city="西安市", acquisition_channel="referral"),
        customer("C", city="宜宾市", customer_type="restaurant"),
        customer("E", valid_from="2025-07-02 00:00:00", signup_date="2025-07-02"),  # joined after D
    ]
    products = [product("P1", "frozen", "hotpot_base", "BrandA", 20, 10),
                product("P2", "frozen", "frozen_meat", "BrandA", 50, 30),
                product("P3", "vegetables", "leafy", "BrandC", 20, 10),
                product("P4", "frozen", "frozen_meat", "BrandB", 50, 30)]
    orders = [
        order("O1", "A", "2025-06-29 19:30", 100),  # Sunday
        order("O2", "A", "2025-06-20 19:10", 200, channel="mini_program", payment_method="alipay",
              promo_id="PR1", discount_amount=20),
        order("O3", "A", "2025-04-10 08:00", 300),
        order("O4", "A", "2025-07-02 10:00", 999),  # after D
        order("O6", "A", "2025-06-25 12:00", 500, status="cancelled"),
        order("O7", "A", "2025-06-26 12:00", -100, is_return=True, status="returned", ref_order_id="O1"),
        order("O5", "B", "2025-03-01 10:00", 50, channel="store", payment_method="cash_on_delivery"),
    ]
    lines = [
        line("O1", 1, "2025-06-29", "P1", 2, 20), line("O1", 2, "2025-06-29", "P3", 3, 20),
        line("O2", 1, "2025-06-20", "P2", 4, 50),
        line("O3", 1, "2025-04-10", "P4", 6, 50),
        line("O4", 1, "2025-07-02", "P1", 50, 20),
        line("O6", 1, "2025-06-25", "P1", 25, 20),
        line("O7", 1, "2025-06-26", "P3", -5, 20, is_return=True),
        line("O5", 1, "2025-03-01", "P3", 2, 25),
    ]
    events = [
        {"event_id": "E1", "event_date": "2025-06-28", "event_type": "view", "customer_id": "A", "platform": "app"},
        {"event_id": "E2", "event_date": "2025-06-29", "event_type": "view", "customer_id": "A", "platform": "app"},
        {"event_id": "E3", "event_date": "2025-05-21", "event_type": "view", "customer_id": "A",
         "platform": "mini_program"},
        {"event_id": "E4", "event_date": "2025-07-01", "event_type": "search", "customer_id": "A",
         "platform": "mini_program"},
        {"event_id": "E5", "event_date": "2025-07-01", "event_type": "view", "customer_id": "A",
         "platform": "mini_program"},
    ]
    deliveries = [
        {"delivery_id": "D1", "order_id": "O1", "delivery_date": "2025-06-29", "is_late": True},
        {"delivery_id": "D2", "order_id": "O2", "delivery_date": "2025-06-20", "is_late": False},
        {"delivery_id": "D4", "order_id": "O4", "delivery_date": "2025-07-02", "is_late": True},
    ]
    sends = [
        {"campaign_id": "CMP1", "customer_id": "A", "arm": "A", "sent_ts_local": "2025-06-18 10:00:00"},
        {"campaign_id": "CMP1", "customer_id": "B", "arm": "A", "sent_ts_local": "2025-06-18 10:00:00"},
        {"campaign_id": "CMP2", "customer_id": "B", "arm": "A", "sent_ts_local": "2025-07-01 10:00:00"},
    ]
    promotions = [{"promo_id": "PR1", "campaign_id": "CMP1", "promo_type": "coupon",
                   "start_date": "2025-06-19", "end_date": "2025-06-21"}]
    reviews = [{"review_id": "R1", "customer_id": "A", "rating": 4, "created_ts_local": "2025-06-30 22:00:00"},
               {"review_id": "R2", "customer_id": "A", "rating": 1, "created_ts_local": "2025-07-01 08:00:00"}]
    a = asof(spark, settings, D, customers=customers, products=products, orders=orders, order_lines=lines,
             events=events, deliveries=deliveries, campaign_sends=sends, promotions=promotions, reviews=reviews)
    rows = {r.customer_id: r for r in cp.features(a).collect()}
    return a, rows


def test_one_row_per_customer_known_at_d_with_the_version_valid_then(world):
    _, rows = world
    assert sorted(rows) == ["A", "B", "C"]
    assert (rows["A"].city, rows["A"].region, rows["A"].in_sichuan) == ("成都市", "west_sichuan", True)
    assert (rows["B"].region, rows["B"].in_sichuan) == ("outside_sichuan", False)
    assert rows["C"].region == "south_sichuan"
    assert (rows["A"].age, rows["A"].tenure_days) == (35, 546)


def test_purchases_exclude_returns_cancellations_and_anything_after_d(world):
    _, rows = world
    a = rows["A"]
    assert (str(a.first_order_date), str(a.last_order_date), a.recency_days) == ("2025-04-10", "2025-06-29", 1)
    assert (a.orders_total, a.orders_30d, a.orders_90d, a.purchase_days_90d) == (3, 2, 3, 3)
    assert (a.spend_total, a.spend_30d, a.spend_90d, a.avg_order_value) == (600.0, 300.0, 600.0, 200.0)
    assert a.monthly_spend == pytest.approx(600 / (82 / 30))  # 82 days since the first order
    assert a.repurchase_rate == pytest.approx(3 / 12)  # bought in 3 of the last 12 weeks
    assert a.avg_interpurchase_days == 40.0


def test_mixes_hours_and_preferences(world):
    _, rows = world
    a = rows["A"]
    assert a.channel_mix == pytest.approx({"app": 2 / 3, "mini_program": 1 / 3})
    assert (a.preferred_channel, a.preferred_payment) == ("app", "wechat_pay")
    assert a.payment_mix == pytest.approx({"wechat_pay": 2 / 3, "alipay": 1 / 3})
    assert a.hour_share[19] == pytest.approx(2 / 3) and a.hour_share[8] == pytest.approx(1 / 3)
    assert sum(a.hour_share) == pytest.approx(1.0)
    assert (a.preferred_hour, a.preferred_hour_band, a.best_push_hour) == (19, "evening", 18)
    assert a.weekend_share == pytest.approx(1 / 3)
    assert a.category_share == pytest.approx({"hotpot_base": 40 / 600, "leafy": 60 / 600, "frozen_meat": 500 / 600})
    assert a.category_l1_share == pytest.approx({"frozen": 540 / 600, "vegetables": 60 / 600})
    assert a.top_category == "frozen_meat"
    assert a.top_products == ["P4", "P2", "P3", "P1"]
    assert a.brand_loyalty == pytest.approx(400 / 600)  # frozen_meat: BrandB 300 of 500
    assert (a.margin_total, a.margin_90d) == (250.0, 250.0)
    assert a.ltv_estimate == pytest.approx(250 / (82 / 30) * 12 * math.exp(-1 / 90))


def test_price_campaign_engagement_and_service(world):
    _, rows = world
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert a.promo_order_share == pytest.approx(1 / 3)
    assert a.discount_rate == pytest.approx(20 / 620)
    assert (a.price_sensitivity, b.price_sensitivity, c.price_sensitivity) == (1.0, 0.0, None)
    assert (a.campaign_sends, a.campaign_conversions, a.promo_response_rate) == (1, 1, 1.0)
    assert (b.campaign_sends, b.campaign_conversions, b.promo_response_rate) == (1, 0, 0.0)  # CMP2 is after D
    assert (a.views_30d, a.searches_30d, a.preferred_push_channel) == (2, 0, "app_push")
    assert b.preferred_push_channel == "sms"
    assert (a.deliveries_total, a.late_deliveries, a.late_delivery_rate) == (2, 1, 0.5)
    assert (a.reviews_total, a.avg_rating) == (1, 4.0)


def test_lifecycle_and_rfm(world):
    _, rows = world
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert [(r.lifecycle_stage, r.is_churned, r.days_to_churn) for r in (a, b, c)] == [
        ("active", False, 89), ("churned", True, None), ("prospect", False, None)]
    assert (a.rfm_score, a.rfm_total, b.rfm_score, b.rfm_total) == ("555", 15, "111", 3)
    assert c.rfm_score is None


def test_default_tier_rules_on_the_profile(world, spark):
    a, _ = world
    tiered = {r.customer_id: (r.tier, r.tier_rule)
              for r in tiers.apply(cp.features(a), tiers.load("default")).collect()}
    assert tiered == {"A": ("Potential", "Potential"), "B": ("Churned", "Churned"), "C": ("Potential", "Potential")}
    other = {r.customer_id: r.tier for r in tiers.apply(cp.features(a), tiers.load("recency_spend")).collect()}
    assert other == {"A": "Silver", "B": "Silver", "C": "Silver"}
