"""Basket rules (models/basket): baskets and the wholesale guard, the time split, FP-growth rules with
multi-item consequents to the exact value on hand-made baskets, cart completion (one cart, in batch,
and as the served model object), the hide-and-recommend evaluation to the exact value, and, on the
suite's generated world (silver built by the CLI), the model as the runner trains and scores it
(`SPEC`), with the planted bundles on top."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import pickle
import sys
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import functions as F

from models.basket import evaluate as ev
from models.basket import features, gold, sources, split, train
from models.basket import recommend as rec
from models.basket.model import OUTPUT_COLUMNS, CartCompleter
from models.basket.spec import SPEC
from models.framework import ScoreContext, TrainContext

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs" / "gold"))
from silver_frames import asof, line, order, product  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "online_retail_sample.csv.gz"
APPROX = 1e-12


def basket_frame(spark, rows):
    """Baskets (order_id, order_date, items) from [(order_id, 'YYYY-MM-DD', [items])]."""
    data = [(o, dt.date.fromisoformat(d), sorted(set(items)), len(set(items))) for o, d, items in rows]
    return spark.createDataFrame(data, "order_id string, order_date date, items array<string>, n_items int")


def sale_lines(spark, rows):
    """Sale lines from [(order_id, customer_id, 'YYYY-MM-DD', product_id)]."""
    data = [(o, c, dt.date.fromisoformat(d), p, 1) for o, c, d, p in rows]
    return spark.createDataFrame(
        data, "order_id string, customer_id string, order_date date, product_id string, quantity int")


def rule_map(df):
    """{(antecedent, consequent): (support, confidence, lift)} of a rules frame."""
    return {(tuple(r["antecedent"]), tuple(r["consequent"])): (r["support"], r["confidence"], r["lift"])
            for r in df.collect()}


def assert_rules(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected)
    for key, values in expected.items():
        assert actual[key] == pytest.approx(values, abs=APPROX), key


# --- features --------------------------------------------------------------------------------

def test_baskets_hold_each_orders_distinct_items_up_to_the_cutoff(spark):
    lines = sale_lines(spark, [
        ("O1", "C1", "2025-03-01", "b"), ("O1", "C1", "2025-03-01", "a"), ("O1", "C1", "2025-03-01", "b"),
        ("O2", "C2", "2025-03-02", "c"), ("O2", "C2", "2025-03-02", None),
        ("O3", "C1", "2025-03-03", None),  # no item at all: no basket
        ("O4", "C3", "2025-03-04", "a"),  # after the cutoff
    ])
    got = features.baskets(lines, "2025-03-03").orderBy("order_id").collect()
    assert [(r.order_id, r.customer_id, str(r.order_date), r["items"], r.n_items) for r in got] == [
        ("O1", "C1", "2025-03-01", ["a", "b"], 2), ("O2", "C2", "2025-03-02", ["c"], 1)]
    assert features.baskets(lines).count() == 3
    with pytest.raises(ValueError, match="item_col"):
        features.baskets(lines, None, item_col="brand")


def test_baskets_as_of_read_only_completed_sales_known_at_the_date(spark, settings):
    products = [product("P1", "frozen", "tofu", "B", 5, 3), product("P2", "frozen", "hotpot_base", "B", 20, 9)]
    orders = [order("O1", "A", "2025-03-01 10:00", 25), order("O2", "A", "2025-03-02 10:00", 20),
              order("O3", "A", "2025-03-03 10:00", 5, status="cancelled"),
              order("O4", "A", "2025-03-04 10:00", -5, is_return=True, status="returned", ref_order_id="O1"),
              order("O5", "A", "2025-03-06 10:00", 25)]  # after D
    lines = [line("O1", 1, "2025-03-01", "P1", 1, 5), line("O1", 2, "2025-03-01", "P2", 1, 20),
             line("O2", 1, "2025-03-02", "P2", 1, 20), line("O3", 1, "2025-03-03", "P1", 1, 5),
             line("O4", 1, "2025-03-04", "P1", -1, 5, is_return=True),
             line("O5", 1, "2025-03-06", "P1", 1, 5), line("O5", 2, "2025-03-06", "P2", 1, 20)]
    cut = asof(spark, settings, "2025-03-05", products=products, orders=orders, order_lines=lines)
    got, stats = features.baskets_as_of(cut, item_col="category_l2")
    assert {r.order_id: r["items"] for r in got.collect()} == {"O1": ["hotpot_base", "tofu"], "O2": ["hotpot_base"]}
    assert stats["orders"] == 2


def test_guard_holds_back_oversized_baskets_and_counts_them(spark):
    rows = [("O1", "2025-03-01", ["a", "b"]), ("O2", "2025-03-01", ["a", "b", "c", "d"]),
            ("O3", "2025-03-01", ["a", "b", "c"]), ("O4", "2025-03-01", list("abcdefg"))]
    kept, stats = features.guard(basket_frame(spark, rows), max_items=3)
    assert sorted(r.order_id for r in kept.collect()) == ["O1", "O3"]
    assert stats == {"orders": 4, "orders_kept": 2, "orders_oversized": 2, "oversized_share": 0.5,
                     "items_in_oversized": 11, "largest_basket": 7, "max_items": 3}
    everything, unguarded = features.guard(basket_frame(spark, rows), max_items=None)
    assert everything.count() == 4 and unguarded["orders_oversized"] == 0 and unguarded["max_items"] is None
    with pytest.raises(ValueError, match="at least 2"):
        features.guard(basket_frame(spark, rows), max_items=1)


def test_time_split_trains_before_t_and_tests_from_t(spark):
    rows = [("O1", "2025-03-01", ["a"]), ("O2", "2025-03-09", ["a"]), ("O3", "2025-03-10", ["a"]),
            ("O4", "2025-03-12", ["a"]), ("O5", "2025-03-20", ["a"])]
    trn, tst = split.time_split(basket_frame(spark, rows), "2025-03-10", end="2025-03-12")
    assert sorted(r.order_id for r in trn.collect()) == ["O1", "O2"]
    assert sorted(r.order_id for r in tst.collect()) == ["O3", "O4"]
    with pytest.raises(ValueError, match="before the split date"):
        split.time_split(basket_frame(spark, rows), "2025-03-10", end="2025-03-01")


# --- rules -----------------------------------------------------------------------------------

# 5 baskets. Counts: a 4, b 3, c 3, d 2, ab 3, ac 2, bc 2, abc 2, ad 1, cd 1.
HAND = [("O1", "2025-03-01", ["a", "b", "c"]), ("O2", "2025-03-01", ["a", "b", "c"]),
        ("O3", "2025-03-01", ["a", "b"]), ("O4", "2025-03-01", ["a", "d"]), ("O5", "2025-03-01", ["c", "d"])]
# minSupport 0.4 (>= 2 baskets), minConfidence 0.6; by hand: support, confidence = s(I) / s(A),
# lift = confidence / s(C). a -> c (0.5) and a -> {b, c} (0.5) fall below the confidence.
HAND_RULES = {
    (("a",), ("b",)): (0.6, 0.75, 0.75 / 0.6),
    (("b",), ("a",)): (0.6, 1.0, 1.0 / 0.8),
    (("c",), ("a",)): (0.4, 2 / 3, (2 / 3) / 0.8),
    (("b",), ("c",)): (0.4, 2 / 3, (2 / 3) / 0.6),
    (("c",), ("b",)): (0.4, 2 / 3, (2 / 3) / 0.6),
    (("a", "b"), ("c",)): (0.4, 2 / 3, (2 / 3) / 0.6),
    (("a", "c"), ("b",)): (0.4, 1.0, 1.0 / 0.6),
    (("b", "c"), ("a",)): (0.4, 1.0, 1.0 / 0.8),
    (("b",), ("a", "c")): (0.4, 2 / 3, (2 / 3) / 0.4),  # multi-item consequents: not in MLlib's rules
    (("c",), ("a", "b")): (0.4, 2 / 3, (2 / 3) / 0.6),
}


@pytest.fixture(scope="module")
def hand_model(spark):
    model = train.fit(basket_frame(spark, HAND), min_support=0.4, min_confidence=0.6)
    yield model
    model.unpersist()


def test_frequent_itemsets_of_hand_made_baskets(hand_model):
    got = {tuple(r["items"]): (r.freq, r.support) for r in hand_model.itemsets.collect()}
    assert got == {("a",): (4, 0.8), ("b",): (3, 0.6), ("c",): (3, 0.6), ("d",): (2, 0.4),
                   ("a", "b"): (3, 0.6), ("a", "c"): (2, 0.4), ("b", "c"): (2, 0.4), ("a", "b", "c"): (2, 0.4)}


def test_rules_of_hand_made_baskets_with_multi_item_consequents(hand_model):
    assert_rules(rule_map(hand_model.rules), HAND_RULES)
    row = hand_model.rules.filter(F.col("antecedent") == F.array(F.lit("b"))).filter(
        F.size("consequent") == 2).first()
    assert (row.antecedent_support, row.consequent_support) == pytest.approx((0.6, 0.4))
    assert row.leverage == pytest.approx(0.4 - 0.6 * 0.4) and row.conviction == pytest.approx(0.6 / (1 / 3))
    assert tuple(hand_model.rules.columns) == train.RULE_COLUMNS
    assert hand_model.metrics == {"baskets": 5, "effective_min_support": 0.4, "frequent_items": 4,
                                  "frequent_itemsets": 8, "max_itemset_size": 3, "rules": 10,
                                  "rules_single_consequent": 8, "rules_multi_consequent": 2}
    assert hand_model.params == {"min_support": 0.4, "min_count": 1, "min_confidence": 0.6, "num_partitions": None}


def test_min_count_floors_a_support_smaller_than_one_basket(hand_model, spark):
    # 0.1 of 5 baskets is half a basket: with the default floor of one basket, every itemset of
    # every basket is frequent (all 10 of them); a floor of 2 baskets gives the hand model's 8
    loose = train.fit(basket_frame(spark, HAND), min_support=0.1, min_confidence=0.6)
    floored = train.fit(basket_frame(spark, HAND), min_support=0.1, min_confidence=0.6, min_count=2)
    try:
        assert (loose.metrics["effective_min_support"], loose.metrics["frequent_itemsets"]) == (0.2, 10)
        assert floored.metrics["effective_min_support"] == pytest.approx(0.4)
        as_set = lambda m: {tuple(r["items"]) for r in m.itemsets.collect()}  # noqa: E731
        assert as_set(floored) == as_set(hand_model)
        assert_rules(rule_map(floored.rules), HAND_RULES)
    finally:
        loose.unpersist()
        floored.unpersist()
    with pytest.raises(ValueError, match="min_count"):
        train.fit(basket_frame(spark, HAND), min_support=0.1, min_count=0)


def test_single_consequent_rules_are_exactly_mllibs(hand_model):
    ours = rule_map(hand_model.rules.filter(F.size("consequent") == 1))
    assert_rules(rule_map(train.mllib_rules(hand_model.model)), ours)
    assert len(ours) == 8


def test_a_rule_of_confidence_one_has_infinite_conviction_and_bad_thresholds_fail(hand_model, spark):
    row = hand_model.rules.filter((F.col("antecedent") == F.array(F.lit("b")))
                                  & (F.col("consequent") == F.array(F.lit("a")))).first()
    assert row.conviction == float("inf")
    with pytest.raises(ValueError, match="min_support"):
        train.fit(basket_frame(spark, HAND), min_support=0.0)
    with pytest.raises(ValueError, match="min_confidence"):
        train.derive_rules(hand_model.itemsets, 1.5)
    with pytest.raises(ValueError, match="no baskets"):
        train.fit(basket_frame(spark, HAND).filter(F.lit(False)), min_support=0.5)


def test_gold_basket_rules_rows(hand_model):
    rows = gold.basket_rules(hand_model.rules, "2025-03-31", "product_id", "2025-03-30")
    assert tuple(rows.columns) == gold.COLUMNS
    assert dict(rows.dtypes) == {
        "as_of_date": "date", "rule_id": "string", "antecedent": "array<string>", "consequent": "array<string>",
        "antecedent_size": "int", "consequent_size": "int", "antecedent_support": "double",
        "consequent_support": "double", "support": "double", "confidence": "double", "lift": "double",
        "leverage": "double", "conviction": "double", "item_level": "string", "mined_as_of": "date"}
    got = rows.collect()
    assert {(r.as_of_date, r.item_level, r.mined_as_of) for r in got} == {
        (dt.date(2025, 3, 31), "product_id", dt.date(2025, 3, 30))}
    assert_rules(rule_map(rows), HAND_RULES)
    by_rule = {(tuple(r.antecedent), tuple(r.consequent)): r for r in got}
    # the rule id: 16 hex digits of SHA-256 over the JSON of the sorted sides, one per rule
    # sha256('{"a":["b"],"c":["a","c"]}')[:16]
    assert by_rule[("b",), ("a", "c")].rule_id == "f888ef2bf3d1be29"
    assert len({r.rule_id for r in got}) == 10 and all(len(r.rule_id) == 16 for r in got)
    assert (by_rule[("b",), ("a", "c")].antecedent_size, by_rule[("b",), ("a", "c")].consequent_size) == (1, 2)
    # an infinite conviction (confidence 1) is written as null; the others as computed
    assert by_rule[("b",), ("a",)].conviction is None
    assert by_rule[("a",), ("b",)].conviction == pytest.approx((1 - 0.6) / (1 - 0.75))


# --- cart completion -------------------------------------------------------------------------

# Hand-made rules: p and q tie on every measure; r has p's confidence with a higher lift.
RULES = [
    (["x"], ["p"], 0.1, 0.5, 2.0), (["x"], ["q"], 0.1, 0.5, 2.0), (["x"], ["r"], 0.1, 0.5, 3.0),
    (["x", "y"], ["s"], 0.05, 0.9, 1.5), (["y"], ["x"], 0.2, 0.8, 1.2), (["z"], ["p"], 0.07, 0.7, 1.1),
    (["x"], ["p", "q"], 0.1, 0.95, 9.0),  # a multi-item consequent: does not rank items
]


@pytest.fixture(scope="module")
def hand_rules(spark):
    return spark.createDataFrame(RULES, "antecedent array<string>, consequent array<string>, support double, "
                                        "confidence double, lift double")


CARTS = {"k1": ["x"], "k2": ["x", "y"], "k3": ["x", "z"], "k4": ["p", "q", "r", "s", "x", "y", "z"], "k5": ["w"]}
EXPECTED = {  # cart -> score -> [(item, score)]
    "k1": {"confidence": [("r", 0.5), ("p", 0.5), ("q", 0.5)], "lift_weighted": [("r", 1.5), ("p", 1.0), ("q", 1.0)]},
    "k2": {"confidence": [("s", 0.9), ("r", 0.5), ("p", 0.5), ("q", 0.5)],
           "lift_weighted": [("r", 1.5), ("s", 0.9 * 1.5), ("p", 1.0), ("q", 1.0)]},
    "k3": {"confidence": [("p", 0.7), ("r", 0.5), ("q", 0.5)], "lift_weighted": [("r", 1.5), ("p", 1.0), ("q", 1.0)]},
    "k4": {"confidence": [], "lift_weighted": []},
    "k5": {"confidence": [], "lift_weighted": []},
}


@pytest.mark.parametrize("score", rec.SCORES)
def test_recommend_one_cart_by_rules(hand_rules, score):
    pdf = hand_rules.toPandas()
    for cart, expected in EXPECTED.items():
        got = rec.recommend(CARTS[cart], pdf, n=10, score=score)
        assert [r["item"] for r in got] == [item for item, _ in expected[score]], (cart, score)
        assert [r["score"] for r in got] == pytest.approx([value for _, value in expected[score]])
        assert [r["rank"] for r in got] == list(range(1, len(got) + 1))
    top = rec.recommend(["x", "z"], pdf, n=2)
    assert [(r["item"], r["antecedent"], r["confidence"], r["lift"]) for r in top] == [
        ("p", ["z"], 0.7, 1.1), ("r", ["x"], 0.5, 3.0)]
    with pytest.raises(ValueError, match="score"):
        rec.recommend(["x"], pdf, score="support")


@pytest.mark.parametrize("score", rec.SCORES)
def test_recommend_batch_ranks_like_one_cart(spark, hand_rules, score):
    carts = spark.createDataFrame(list(CARTS.items()), "cart_id string, items array<string>")
    got = rec.recommend_batch(carts, hand_rules, n=3, score=score)
    assert tuple(got.columns) == ("cart_id", *rec.REC_COLUMNS)
    by_cart = {}
    for r in got.orderBy("cart_id", "rank").collect():
        by_cart.setdefault(r.cart_id, []).append((r["rank"], r.item, r.score, r.confidence, r.lift, r.antecedent))
    pdf = hand_rules.toPandas()
    for cart, items in CARTS.items():
        one = [(x["rank"], x["item"], x["score"], x["confidence"], x["lift"], x["antecedent"])
               for x in rec.recommend(items, pdf, n=3, score=score)]
        assert by_cart.get(cart, []) == one, cart


def test_popularity_baseline_skips_cart_items(spark):
    train_baskets = basket_frame(spark, [("T1", "2025-03-01", ["a", "b"]), ("T2", "2025-03-01", ["a", "c"]),
                                         ("T3", "2025-03-01", ["a", "b"]), ("T4", "2025-03-01", ["d"])])
    popular = rec.popular_items(train_baskets)
    assert {r.item: (r.freq, r.support) for r in popular.collect()} == {
        "a": (3, 0.75), "b": (2, 0.5), "c": (1, 0.25), "d": (1, 0.25)}
    carts = spark.createDataFrame([("k1", ["a"]), ("k2", ["c", "z"])], "cart_id string, items array<string>")
    got = rec.recommend_popular(carts, popular, n=2).orderBy("cart_id", "rank").collect()
    assert [(r.cart_id, r["rank"], r.item, r.score) for r in got] == [
        ("k1", 1, "b", 0.5), ("k1", 2, "c", 0.25), ("k2", 1, "a", 0.75), ("k2", 2, "b", 0.5)]


POPULAR = [("t", 9), ("x", 8), ("p", 7), ("y", 5), ("u", 3)]  # item, baskets out of 10


def completer(hand_rules, **kwargs) -> CartCompleter:
    popular = hand_rules.sparkSession.createDataFrame(
        [(i, f, f / 10) for i, f in POPULAR], "item string, freq long, support double")
    rules = (hand_rules.withColumn("antecedent_support", F.lit(0.5)).withColumn("consequent_support", F.lit(0.5))
             .withColumn("leverage", F.lit(0.0)).withColumn("conviction", F.lit(1.0)))
    return CartCompleter.from_frames(rules, popular, **kwargs)


def test_cart_completer_serves_what_spark_evaluates(spark, hand_rules):
    model = completer(hand_rules, n=5)
    # k1: the rules' r, p, q, then the most popular items neither in the cart nor recommended
    assert [(r["item"], r["source"]) for r in model.recommend(["x"])] == [
        ("r", "rules"), ("p", "rules"), ("q", "rules"), ("t", "popular"), ("y", "popular")]
    assert model.recommend(["x"])[3] == {"rank": 4, "item": "t", "score": 0.9, "confidence": None, "lift": None,
                                         "antecedent": [], "source": "popular"}
    carts = spark.createDataFrame(list(CARTS.items()), "cart_id string, items array<string>")
    by_rules = rec.recommend_batch(carts, model.rules_frame(spark), n=5)
    by_popularity = rec.recommend_popular(carts, model.popular_frame(spark), n=5)
    spark_recs = {}
    for r in rec.fill_with_popular(by_rules, by_popularity, n=5).orderBy("cart_id", "rank").collect():
        spark_recs.setdefault(r.cart_id, []).append((r["rank"], r.item, r.score, r.antecedent))
    served = model.predict(pd.DataFrame({"items": list(CARTS.values())}))
    assert tuple(served.columns) == OUTPUT_COLUMNS
    for position, cart in enumerate(CARTS):
        rows = served[served["cart"] == position]
        assert [(r.rank, r.item, pytest.approx(r.score), list(r.antecedent)) for r in rows.itertuples()] == \
            spark_recs[cart], cart
    # a cart holding every item gets nothing; pickling (how MLflow stores it) keeps the behaviour
    assert model.recommend(["p", "q", "r", "s", "t", "u", "w", "x", "y", "z"]) == []
    again = pickle.loads(pickle.dumps(model))
    assert again.predict(pd.DataFrame({"items": [["x", "z"]]})).equals(model.predict(pd.DataFrame({"items": [["x", "z"]]})))
    rules_only = completer(hand_rules, n=5, fill_popular=False)
    assert [r["item"] for r in rules_only.recommend(["x"])] == ["r", "p", "q"]
    with pytest.raises(ValueError, match="items"):
        model.predict(pd.DataFrame({"cart": [["x"]]}))


# --- evaluation ------------------------------------------------------------------------------

def test_hide_items_is_seeded_and_partitions_the_basket(spark):
    rows = [(f"O{i}", "2025-03-01", [f"i{j}" for j in range(i % 7 + 1)]) for i in range(40)]
    test = basket_frame(spark, rows)
    one = {r.order_id: (r.visible, r.hidden) for r in ev.hide_items(test, "one", seed=1).collect()}
    again = {r.order_id: (r.visible, r.hidden) for r in ev.hide_items(test, "one", seed=1).collect()}
    other = {r.order_id: (r.visible, r.hidden) for r in ev.hide_items(test, "one", seed=2).collect()}
    half = {r.order_id: (r.visible, r.hidden) for r in ev.hide_items(test, 0.5, seed=1).collect()}
    baskets = {o: items for o, _, items in rows if len(items) >= 2}
    assert one == again and one != other and set(one) == set(half) == set(baskets)
    for order_id, items in baskets.items():
        for visible, hidden in (one[order_id], half[order_id]):
            assert sorted(visible + hidden) == items and visible == sorted(visible) and hidden == sorted(hidden)
        assert len(one[order_id][1]) == 1
        assert len(half[order_id][1]) == max(1, min(len(items) - 1, len(items) // 2))
    with pytest.raises(ValueError, match="hide"):
        ev.hide_items(test, 2)


def test_ranking_metrics_by_hand(spark):
    held = spark.createDataFrame([("O1", ["a"], ["x"]), ("O2", ["a"], ["x", "y"]), ("O3", ["a"], ["z"]),
                                  ("O4", ["a"], ["x", "y", "z"])], "order_id string, visible array<string>, "
                                                                   "hidden array<string>")
    recs = spark.createDataFrame(
        [("O1", 1, "p"), ("O1", 2, "x"), ("O1", 3, "q"), ("O2", 1, "x"), ("O2", 2, "p"), ("O2", 3, "y"),
         ("O4", 1, "p"), ("O4", 2, "q"), ("O4", 3, "z")], "order_id string, rank int, item string")
    # k=10: AP O1 = 1/2, O2 = (1 + 2/3) / 2, O3 = 0 (no recommendations), O4 = (1/3) / 3
    assert ev.ranking_metrics(recs, held, k=10) == pytest.approx(
        {"orders": 4, "hit_rate_at_10": 0.75, "map_at_10": (0.5 + 5 / 6 + 1 / 9) / 4,
         "recall_at_10": (1 + 1 + 0 + 1 / 3) / 4, "coverage": 0.75})
    # k=2: O2's y at rank 3 and O4's z no longer count; AP O2 = 1 / min(2, 2)
    assert ev.ranking_metrics(recs, held, k=2) == pytest.approx(
        {"orders": 4, "hit_rate_at_2": 0.5, "map_at_2": (0.5 + 0.5) / 4, "recall_at_2": (1 + 0.5) / 4,
         "coverage": 0.75})


# Train: {a, b} x2, {c, d} x2, {e} x3 -> rules a <-> b, c <-> d (confidence 1); popularity e, a, b, c, d.
EVAL_TRAIN = [("T1", "2025-03-01", ["a", "b"]), ("T2", "2025-03-02", ["a", "b"]), ("T3", "2025-03-03", ["c", "d"]),
              ("T4", "2025-03-04", ["c", "d"]), ("T5", "2025-03-05", ["e"]), ("T6", "2025-03-06", ["e"]),
              ("T7", "2025-03-07", ["e"])]
EVAL_TEST = [("S1", "2025-03-10", ["a", "b"]), ("S2", "2025-03-10", ["c", "d"]), ("S3", "2025-03-11", ["b", "c"]),
             ("S4", "2025-03-11", ["f", "g"]), ("S5", "2025-03-12", ["a"])]


@pytest.fixture(scope="module")
def eval_split(spark):
    baskets = basket_frame(spark, EVAL_TRAIN + EVAL_TEST)
    trn, tst = split.time_split(baskets, "2025-03-10")
    model = train.fit(trn, min_support=0.25, min_confidence=0.5)
    yield model, trn, tst
    model.unpersist()


def test_evaluate_on_chosen_hidden_items_by_hand(spark, eval_split):
    model, trn, tst = eval_split
    held = spark.createDataFrame([("S1", ["b"], ["a"]), ("S2", ["d"], ["c"]), ("S3", ["c"], ["b"]),
                                  ("S4", ["g"], ["f"])], "order_id string, visible array<string>, hidden array<string>")
    got = ev.evaluate(model.rules, trn, tst, k=10, held=held)
    # rules: S1 a at 1, S2 c at 1, S3 recommends d only, S4 nothing.
    # popularity (e, a, b, c, d minus the cart): S1 [e, a, c, d] a at 2; S2 [e, a, b, c] c at 4;
    # S3 [e, a, b, d] b at 3; S4 misses. rules filled: S1 [a, ...] 1; S2 [c, ...] 1; S3 [d, e, a, b] b at 4.
    assert got == pytest.approx({
        "test_orders": 5, "hidden_items": 4, "orders_evaluated": 4,
        "rules_hit_rate_at_10": 0.5, "rules_map_at_10": 0.5, "rules_recall_at_10": 0.5, "rules_coverage": 0.75,
        "popularity_hit_rate_at_10": 0.75, "popularity_map_at_10": (1 / 2 + 1 / 4 + 1 / 3) / 4,
        "popularity_recall_at_10": 0.75, "popularity_coverage": 1.0,
        "rules_filled_hit_rate_at_10": 0.75, "rules_filled_map_at_10": (1 + 1 + 1 / 4) / 4,
        "rules_filled_recall_at_10": 0.75, "rules_filled_coverage": 1.0,
    })


def test_evaluate_hiding_one_item_by_seed(eval_split):
    model, trn, tst = eval_split
    # Whichever item of S1, S2 and S3 is hidden, rules and popularity score the same (see above):
    # S1 and S2 hit at rank 1 by rules; by popularity at ranks 2 and 4, S3 at rank 3 either way.
    got = ev.evaluate(model.rules, trn, tst, k=10, hide="one", seed=3)
    assert got["orders_evaluated"] == 4 and got["hidden_items"] == 4
    assert (got["rules_hit_rate_at_10"], got["rules_map_at_10"]) == pytest.approx((0.5, 0.5))
    assert (got["popularity_hit_rate_at_10"], got["popularity_map_at_10"]) == pytest.approx(
        (0.75, (1 / 2 + 1 / 4 + 1 / 3) / 4))
    with pytest.raises(ValueError, match="popularity"):
        ev.evaluate(model.rules, None, tst)


# --- sources ---------------------------------------------------------------------------------

def test_online_retail_sample_sale_lines(spark):
    with gzip.open(FIXTURE, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    kept = [r for r in rows if not r["InvoiceNo"].startswith("C") and r["CustomerID"]
            and int(r["Quantity"]) > 0 and float(r["UnitPrice"]) > 0]
    lines = sources.online_retail_sale_lines(spark, str(FIXTURE))
    assert lines.count() == len(kept)
    assert {r.order_id for r in lines.select("order_id").distinct().collect()} == {r["InvoiceNo"] for r in kept}
    first = lines.filter(F.col("order_id") == kept[0]["InvoiceNo"]).orderBy("product_id").first()
    assert first.customer_id == kept[0]["CustomerID"].removesuffix(".0") and "." not in first.customer_id
    assert str(first.order_date) == kept[0]["InvoiceDate"][:10]


# --- the model on the generated world (the suite's `world`: silver built by the CLI) ------------

SPLIT = "2025-05-03"  # the default 28 held-out days up to the world's last day, 2025-05-30


def _truth(world) -> tuple[list[dict], dict[str, str]]:
    with open(world.truth / "bundles.csv", encoding="utf-8") as f:
        bundles = list(csv.DictReader(f))
    with open(world.truth / "products.csv", encoding="utf-8") as f:
        category = {r["product_id"]: r["category_l2"] for r in csv.DictReader(f)}
    return bundles, category


@pytest.fixture(scope="module")
def trained(spark, world):
    """SPEC.train as the runner calls it: baskets from the world's silver as of its last day."""
    return SPEC.train(TrainContext(spark, world.settings, dt.date.fromisoformat(world.last), seed=42))


def test_spec_trains_and_evaluates_on_held_out_orders(trained, world):
    m = trained.metrics
    assert (trained.primary_metric, trained.higher_is_better, trained.flavor) == ("map_at_10", True, "pyfunc")
    assert (trained.params["cutoff"], trained.params["split_date"], trained.params["seed"]) == (
        world.last, SPLIT, 42)
    assert trained.model.mined_as_of == "2025-05-02" and trained.model.item_col == "product_id"
    # no grocer basket is near the wholesale guard; every held-out order with 2+ items is evaluated
    assert m["orders_oversized"] == 0 and m["hidden_items"] == m["orders_evaluated"]
    assert m["baskets"] + m["test_orders"] == m["orders"]
    assert m["rules"] == m["rules_single_consequent"] + m["rules_multi_consequent"]
    # the served recommender (rules, topped up with popular items) beats the popularity baseline
    assert m["map_at_10"] > 1.2 * m["popularity_map_at_10"]
    assert m["hit_rate_at_10"] > 1.2 * m["popularity_hit_rate_at_10"]
    assert m["map_at_10"] >= m["rules_map_at_10"] and m["coverage"] == 1.0
    assert set(trained.figures) == {"top_rules_by_lift.png", "rules_support_confidence.png",
                                    "cart_completion_vs_popularity.png"}
    assert len(trained.tables["top_rules.json"]) == min(50, int(m["rules"]))
    assert len(trained.eval_fingerprint) == 16


def test_champion_metric_re_evaluates_on_the_same_hidden_items(trained):
    m = trained.metrics
    assert trained.champion_metric(trained.model) == m["map_at_10"]
    # a model without rules serves the popular items: exactly the baseline's score
    no_rules = dataclasses.replace(trained.model, rules=trained.model.rules.iloc[0:0])
    assert trained.champion_metric(no_rules) == pytest.approx(m["popularity_map_at_10"], abs=APPROX)


def test_served_model_completes_the_example_carts(trained):
    example = trained.input_example
    assert list(example.columns) == ["items"] and len(example) == 3
    served = trained.model.predict(example)
    assert served.groupby("cart")["rank"].apply(list).to_dict() == {c: list(range(1, 11)) for c in range(3)}
    for position, items in enumerate(example["items"]):
        assert not set(served[served["cart"] == position]["item"]) & set(items)


def test_planted_bundles_top_cart_completion(trained, world):
    bundles, _ = _truth(world)
    for bundle in bundles:
        consequents = set(bundle["consequent_products"].split(";"))
        chained = consequents.union(*[set(b["consequent_products"].split(";")) for b in bundles
                                      if set(b["antecedent_products"].split(";")) & consequents])
        got = [r["item"] for r in trained.model.recommend([bundle["antecedent_top_product"]], n=5)]
        # the bundle's most bought consequent is among the first five, and the first is a planted
        # consequent of this bundle or of the one it chains into (tofu -> hot-pot base -> beef)
        assert bundle["consequent_top_product"] in got, (bundle["bundle_id"], got)
        assert got[0] in chained, (bundle["bundle_id"], got)


def test_score_publishes_the_rules_as_gold(spark, trained, world):
    from jobs.gold.asof import AsOf

    out = SPEC.score(ScoreContext(spark, world.settings, AsOf(spark, world.settings, world.last)), trained.model)
    assert set(out) == set(SPEC.gold_tables) == {"gold.basket_rules"}
    rows = out["gold.basket_rules"]
    assert tuple(rows.columns) == gold.COLUMNS
    got = rows.agg(F.count(F.lit(1)).alias("n"), F.countDistinct("rule_id").alias("ids"),
                   F.collect_set("as_of_date").alias("days"), F.collect_set("mined_as_of").alias("mined")).first()
    assert (got.n, got.ids) == (trained.metrics["rules"], trained.metrics["rules"])
    assert (got.days, got.mined) == ([dt.date(2025, 5, 30)], [dt.date(2025, 5, 2)])


def test_planted_bundles_are_the_top_category_rules_by_lift(spark, world):
    from jobs.gold.asof import AsOf

    bundles, category = _truth(world)
    baskets, _ = features.baskets_as_of(AsOf(spark, world.settings, world.last), item_col="category_l2")
    model = train.fit(baskets, min_support=0.02, min_confidence=0.1)
    side = lambda b, s: {category[p] for p in b[f"{s}_products"].split(";")}  # noqa: E731
    planted = set()
    for b in bundles:
        (a,), (c,) = side(b, "antecedent"), side(b, "consequent")
        planted.add(frozenset((a, c)))
    assert planted == {frozenset(p) for p in (("tofu", "hotpot_base"), ("hotpot_base", "frozen_meat"),
                                              ("milk", "bread"), ("dumplings", "vinegar"))}
    by_lift = model.rules.orderBy(F.desc("lift"), "antecedent", "consequent")
    pairs = by_lift.filter((F.size("antecedent") == 1) & (F.size("consequent") == 1)).limit(8).collect()
    # the 8 strongest one-to-one rules are the 4 planted bundles, both ways round
    assert {(r.antecedent[0], r.consequent[0]) for r in pairs} == {
        pair for p in planted for pair in (tuple(p), tuple(reversed(tuple(p))))}
    # and every one of the 20 strongest rules of any size holds a planted pair
    for r in by_lift.limit(20).collect():
        assert any(p <= set(r.antecedent) | set(r.consequent) for p in planted), r
    model.unpersist()
