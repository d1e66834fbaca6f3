"""Tier rules (first match wins, params, validation before any data) and the tier history and
migration matrix built from profile snapshots."""
import datetime as dt

import pytest
from pyspark.sql import types as T

from jobs.gold import tiers
from jobs.gold.customer_tier_history import spells
from jobs.gold.expr import ExprError
from jobs.gold.tier_migration import migration

PROFILE = ("customer_id string, is_churned boolean, monthly_spend double, repurchase_rate double, "
           "lifecycle_stage string, orders_30d long, spend_30d double, spend_90d double, recency_days int")


def _tiered(spark, rows, rules="default"):
    df = spark.createDataFrame(rows, PROFILE)
    return {r.customer_id: r.tier for r in tiers.apply(df, tiers.load(rules)).collect()}


def test_default_rules_at_their_boundaries(spark):
    rows = [
        ("churned_rich", True, 9000.0, 0.9, "churned", 0, 0.0, 0.0, 120),
        ("platinum", False, 5000.01, 0.61, "active", 3, 5000.0, 15000.0, 2),
        ("spend_at_5000", False, 5000.0, 0.61, "active", 3, 5000.0, 15000.0, 2),  # not > 5000: Gold
        ("repurchase_at_60", False, 6000.0, 0.6, "active", 3, 5000.0, 15000.0, 2),  # not > 0.6: Gold
        ("gold_floor", False, 2000.0, 0.4, "active", 1, 100.0, 6000.0, 2),
        ("below_gold", False, 1999.99, 0.9, "active", 1, 100.0, 6000.0, 2),
        ("new", False, 10.0, 0.1, "new", 1, 10.0, 10.0, 2),
        ("rising", False, 300.0, 0.2, "active", 2, 450.0, 900.0, 2),  # 450 >= 1.5 x 900 / 3
        ("flat", False, 300.0, 0.2, "active", 2, 449.0, 900.0, 2),
        ("never_bought", False, 0.0, None, "prospect", 0, 0.0, 0.0, None),
    ]
    assert _tiered(spark, rows) == {
        "churned_rich": "Churned", "platinum": "Platinum", "spend_at_5000": "Gold", "repurchase_at_60": "Gold",
        "gold_floor": "Gold", "below_gold": "Silver", "new": "Potential", "rising": "Potential", "flat": "Silver",
        "never_bought": "Potential"}


def test_the_seed_alternative_rules(spark):
    rows = [("a", False, 3000.01, 0.1, "active", 0, 0.0, 0.0, 6), ("b", False, 3000.01, 0.1, "active", 0, 0.0, 0.0, 7),
            ("c", False, 1000.0, 0.1, "active", 0, 0.0, 0.0, 1), ("d", False, 0.0, None, "prospect", 0, 0.0, 0.0, None)]
    assert _tiered(spark, rows, "recency_spend") == {"a": "Platinum", "b": "Gold", "c": "Silver", "d": "Silver"}


def test_a_bad_rule_is_rejected_before_any_data_is_read(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: Gold\n    when: montly_spend > 2000\notherwise: Silver\n", encoding="utf-8")
    schema = T.StructType([T.StructField("monthly_spend", T.DoubleType())])
    with pytest.raises(ExprError) as error:
        tiers.load(bad).validate(schema)
    assert f"{bad} rule 'Gold'" in str(error.value)
    assert "montly_spend" in str(error.value) and "monthly_spend" in str(error.value)  # did you mean
    mismatch = tmp_path / "mismatch.yaml"
    mismatch.write_text("rules:\n  - {name: Gold, when: \"monthly_spend > 'lots'\"}\notherwise: Silver\n",
                        encoding="utf-8")
    with pytest.raises(ExprError):
        tiers.load(mismatch).validate(schema)
    for text, problem in (("rules: []\notherwise: Silver\n", "non-empty list"),
                          ("rules:\n  - {name: A, when: 'TRUE'}\n", "`otherwise`"),
                          ("params: {x: lots}\nrules:\n  - {name: A, when: 'TRUE'}\notherwise: S\n", "must be a number")):
        f = tmp_path / "shape.yaml"
        f.write_text(text, encoding="utf-8")
        with pytest.raises(tiers.TierRulesError, match=problem):
            tiers.load(f)


def _snaps(spark, rows):
    return spark.createDataFrame(
        [(dt.date.fromisoformat(d), c, t, t) for d, c, t in rows],
        "as_of_date date, customer_id string, tier string, tier_rule string")


SNAPSHOTS = [("2025-01-31", "a", "Gold"), ("2025-02-15", "a", "Gold"), ("2025-02-28", "a", "Silver"),
             ("2025-03-31", "a", "Gold"), ("2025-01-31", "b", "Silver"), ("2025-02-28", "b", "Silver"),
             ("2025-02-28", "c", "Potential"), ("2025-03-31", "c", "Silver")]


def test_tier_spells_are_type_2_history(spark):
    rows = sorted((r.customer_id, r.tier, str(r.valid_from), str(r.valid_to), r.is_current)
                  for r in spells(_snaps(spark, SNAPSHOTS)).collect())
    assert rows == [
        ("a", "Gold", "2025-01-31", "2025-02-28", False), ("a", "Gold", "2025-03-31", "None", True),
        ("a", "Silver", "2025-02-28", "2025-03-31", False), ("b", "Silver", "2025-01-31", "None", True),
        ("c", "Potential", "2025-02-28", "2025-03-31", False), ("c", "Silver", "2025-03-31", "None", True)]


def test_monthly_migration_matrix(spark):
    rows = sorted(tuple(r) for r in migration(_snaps(spark, SNAPSHOTS)).collect())
    assert rows == [
        ("2025-02", "(new)", "Potential", 1), ("2025-02", "Gold", "Silver", 1), ("2025-02", "Silver", "Silver", 1),
        ("2025-03", "Potential", "Silver", 1), ("2025-03", "Silver", "(gone)", 1), ("2025-03", "Silver", "Gold", 1)]
