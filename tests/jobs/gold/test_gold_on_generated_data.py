"""Gold on a generated retailer, checked against the generator's planted truth (tests/conftest.py
`world`: 600 customers x 150 days through every layer by the CLI)."""
import csv

import pytest
from pyspark.sql import functions as F

from habitlake import catalog
from jobs.gold import tiers


@pytest.fixture(scope="module")
def truth(world):
    with open(world.truth / "customers.csv", encoding="utf-8") as f:
        return {r["customer_id"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def profile(world, spark):
    df = catalog.read(spark, world.settings, "gold.customer_profile")
    return {r.customer_id: r for r in df.filter(F.col("as_of_date") == world.last).collect()}


def _mean(values):
    values = list(values)
    assert values, "no customers in this group: the generated world is too small for the test"
    return sum(values) / len(values)


def test_every_real_customer_has_a_profile_and_test_accounts_none(profile, truth, world):
    signed_up = {c for c, t in truth.items() if t["signup_date"] <= world.last and t["is_test"] == "false"}
    tests = {c for c, t in truth.items() if t["is_test"] == "true"}
    assert set(profile) == signed_up
    assert tests & set(profile) == set()


def test_planted_price_sensitive_customers_score_higher(profile, truth):
    buyers = [c for c, p in profile.items() if p.price_sensitivity is not None]
    ranked = sorted(buyers, key=lambda c: float(truth[c]["price_sensitivity"]))
    quarter = len(ranked) // 4
    low, high = ranked[:quarter], ranked[-quarter:]
    low_mean, high_mean = (_mean(profile[c].price_sensitivity for c in group) for group in (low, high))
    assert high_mean > low_mean + 0.15, (low_mean, high_mean)


def test_churn_labels_follow_the_generator_churn_process(profile, truth, world):
    import datetime as dt

    last = dt.date.fromisoformat(world.last)
    # A customer the generator churned on day c buys nothing from c on: if c is at least 89 days
    # before D, the last purchase is 90+ days before D, so gold must call them churned.
    long_gone = {c for c, t in truth.items() if c in profile and t["churned"] == "true"
                 and (last - dt.date.fromisoformat(t["churn_date"])).days >= 89 and profile[c].orders_total > 0}
    assert long_gone, "the generator churned nobody early enough: lengthen the world"
    assert {c for c in long_gone if not profile[c].is_churned} == set()
    # and whoever gold calls churned really bought nothing in the last 90 days
    for c, p in profile.items():
        if p.is_churned:
            assert p.recency_days >= 90 and p.orders_90d == 0


def test_tiers_follow_the_default_rules_exactly(profile):
    params = tiers.load("default").params
    for c, p in profile.items():
        if p.is_churned:
            expected = "Churned"
        elif p.monthly_spend > params["platinum_monthly_spend"] and p.repurchase_rate > params["platinum_repurchase"]:
            expected = "Platinum"
        elif (p.monthly_spend >= params["gold_monthly_spend"] and p.repurchase_rate is not None
              and p.repurchase_rate >= params["gold_repurchase"]):
            expected = "Gold"
        elif p.lifecycle_stage in ("new", "prospect") or (
                p.orders_30d >= 2 and p.spend_30d >= params["rising_ratio"] * p.spend_90d / 3):
            expected = "Potential"
        else:
            expected = "Silver"
        assert (c, p.tier) == (c, expected)
    assert {p.tier for p in profile.values()} >= {"Churned", "Gold", "Potential", "Silver"}


def test_restaurants_are_the_big_monthly_spenders(profile, truth):
    restaurants = [p.monthly_spend for c, p in profile.items() if truth[c]["persona"] == "restaurant_buyer"
                   and not p.is_churned]
    households = [p.monthly_spend for c, p in profile.items() if truth[c]["persona"] != "restaurant_buyer"
                  and not p.is_churned]
    assert _mean(restaurants) > 5 * _mean(households)


def test_planted_hotpot_fans_carry_the_hotpot_tag(profile, truth):
    fans = [c for c, p in profile.items() if truth[c]["persona"] == "hotpot_fan" and p.orders_total >= 3]
    others = [c for c, p in profile.items() if truth[c]["persona"] != "hotpot_fan" and p.orders_total >= 3]
    recall = _mean(1.0 if "hotpot_fan" in profile[c].tags else 0.0 for c in fans)
    false_rate = _mean(1.0 if "hotpot_fan" in profile[c].tags else 0.0 for c in others)
    assert recall >= 0.8 and false_rate <= 0.1, (recall, false_rate)


def test_tier_history_and_migration_cover_both_as_of_dates(world, spark, profile):
    history = catalog.read(spark, world.settings, "gold.customer_tier_history").collect()
    current = {r.customer_id: r.tier for r in history if r.is_current}
    assert current == {c: p.tier for c, p in profile.items()}
    migration = catalog.read(spark, world.settings, "gold.tier_migration").collect()
    assert {r.month for r in migration} == {world.last[:7]}
    assert sum(r.customers for r in migration if r.from_tier != "(new)") == sum(
        1 for r in history if str(r.valid_from) <= world.mid and (r.valid_to is None or str(r.valid_to) > world.mid))
