"""Recommendations (models/recommend): implicit-feedback features and the repurchase cycle to the
exact value on hand-made frames, precision@K and MAP@K computed by hand, the time split, no leakage
from after the cutoff, guess-you-like ranking and exclusions against the fitted ALS itself, the same
model from the same seed, the gold rows, and on the generated world: ALS beats popularity on the
held-out weeks, buy-again is judged against the customer's most frequent items, and scoring gives
every customer a guess-you-like list that never repeats their buy-again list.
"""
from __future__ import annotations

import datetime as dt
import math

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from models.recommend import backtest as bt
from models.recommend import buy_again as ba
from models.recommend import config, split, train
from models.recommend import evaluate as ev
from models.recommend import features as feat
from models.recommend import gold
from models.recommend import recommend as rec

WEIGHTS = {"purchase": 4.0, "favorite": 3.0, "add_cart": 2.0, "view": 0.5}
# floors under the values measured on a copy of the world (600 customers x 150 days, seed 7): ALS
# map@10 0.0914 vs popularity 0.0465, precision@10 0.135 vs 0.089; buy-again precision@10 0.264,
# the customers' most frequent items 0.291
MAP_MARGIN = 0.02
PRECISION_MARGIN = 0.03
BUY_AGAIN_PRECISION_FLOOR = 0.2
D = dt.date.fromisoformat


def sale_lines(spark, rows):
    """Completed sale lines from [(order_id, customer_id, 'YYYY-MM-DD', product_id)]."""
    return spark.createDataFrame([(o, c, D(d), p) for o, c, d, p in rows],
                                 "order_id string, customer_id string, order_date date, product_id string")


def events(spark, rows):
    """silver.events columns that matter from [(customer_id, product_id, event_type, 'YYYY-MM-DD')]."""
    return spark.createDataFrame([(c, p, t, D(d)) for c, p, t, d in rows],
                                 "customer_id string, product_id string, event_type string, event_date date")


@pytest.fixture(scope="module")
def signals(spark):
    lines = sale_lines(spark, [
        ("O1", "C1", "2025-03-01", "P1"), ("O1", "C1", "2025-03-01", "P1"),  # one order, two lines: 1
        ("O2", "C1", "2025-03-04", "P1"), ("O2", "C1", "2025-03-04", "P2"),
        ("O3", "C2", "2025-03-05", "P1"), ("O4", None, "2025-03-05", "P1"),  # no customer: ignored
        ("O9", "C1", "2025-03-11", "P2"),  # after the cutoff
    ])
    seen = events(spark, [
        ("C1", "P1", "view", "2025-03-01"), ("C1", "P1", "add_cart", "2025-03-01"),
        ("C1", "P3", "view", "2025-03-02"), ("C1", "P3", "view", "2025-03-03"), ("C1", "P3", "favorite", "2025-03-03"),
        ("C2", "P4", "remove_cart", "2025-03-05"),  # a kind without a weight only: no rating
        ("C2", None, "search", "2025-03-05"), (None, "P1", "view", "2025-03-05"),  # no product / anonymous
        ("C2", "P2", "view", "2025-03-10"),  # on the cutoff: counts
        ("C2", "P1", "favorite", "2025-03-11"), ("C3", "P1", "view", "2025-03-12"),  # after the cutoff
    ])
    return feat.signal_counts(lines, seen, "2025-03-10")


def test_signal_counts_count_orders_and_events_up_to_the_cutoff(signals):
    got = sorted(tuple(r) for r in signals.collect())
    assert got == [("C1", "P1", "add_cart", 1), ("C1", "P1", "purchase", 2), ("C1", "P1", "view", 1),
                   ("C1", "P2", "purchase", 1), ("C1", "P3", "favorite", 1), ("C1", "P3", "view", 2),
                   ("C2", "P1", "purchase", 1), ("C2", "P2", "view", 1), ("C2", "P4", "remove_cart", 1)]


def test_implicit_ratings_weight_the_signals(spark, signals):
    linear = feat.implicit_ratings(signals, WEIGHTS, "linear")
    expected = spark.createDataFrame([
        ("C1", "P1", 1, 0, 2, 1, 10.5),  # 2 x 4 + 1 x 2 + 1 x 0.5
        ("C1", "P2", 0, 0, 1, 0, 4.0),
        ("C1", "P3", 0, 1, 0, 2, 4.0),  # 3 + 2 x 0.5
        ("C2", "P1", 0, 0, 1, 0, 4.0),
        ("C2", "P2", 0, 0, 0, 1, 0.5),
    ], "customer_id string, product_id string, n_add_cart long, n_favorite long, n_purchase long, n_view long, "
       "rating double")
    assertDataFrameEqual(linear, expected)
    logged = {(r.customer_id, r.product_id): r.rating for r in feat.implicit_ratings(signals, WEIGHTS).collect()}
    assert logged[("C1", "P1")] == pytest.approx(math.log(11.5), abs=1e-12)
    assert logged[("C2", "P2")] == pytest.approx(math.log(1.5), abs=1e-12)
    # a kind weighted 0 adds nothing, and a pair left with nothing is dropped
    views_free = feat.implicit_ratings(signals, {**WEIGHTS, "view": 0.0}, "linear")
    assert sorted((r.customer_id, r.product_id, r.rating) for r in views_free.collect()) == [
        ("C1", "P1", 10.0), ("C1", "P2", 4.0), ("C1", "P3", 3.0), ("C2", "P1", 4.0)]


def test_bad_weights_and_scales_fail(signals):
    with pytest.raises(ValueError, match="scale"):
        feat.implicit_ratings(signals, WEIGHTS, "sqrt")
    with pytest.raises(ValueError, match="non-negative"):
        feat.implicit_ratings(signals, {"view": -1.0}, "linear")
    with pytest.raises(ValueError, match="unknown parameter"):
        config.with_overrides(config.Params(), {"rnak": 3})
    with pytest.raises(ValueError, match="regular_min_days"):
        config.Params(regular_min_days=1)


def test_config_reads_the_recommend_section_and_merges_overrides(tmp_path):
    conf = tmp_path / "models.yaml"
    conf.write_text("other: {x: 1}\nrecommend:\n  weights: {purchase: 5, view: 1}\n  als: {rank: 4}\n"
                    "  grid: {alpha: [1, 2]}\n  test_days: 14\n")
    params = config.load(conf, overrides={"weights": {"view": 0.25}, "als": {"alpha": 3.0}})
    assert dict(params.weights) == {"purchase": 5, "view": 0.25}
    assert params.als == config.ALSParams(rank=4, reg_param=0.1, alpha=3.0, max_iter=10)
    assert dict(params.grid) == {"alpha": (1, 2)} and params.test_days == 14 and params.validation_days == 28
    assert params.flat()["weight_view"] == 0.25 and params.flat()["grid_alpha"] == "1,2"
    assert [a.alpha for a in train.grid(params.als, params.grid)] == [1, 2]
    assert train.grid(params.als, {}) == [params.als]


# --- purchase days, regulars, buy-again cycle ------------------------------------------------------

@pytest.fixture(scope="module")
def history(spark):
    rows = [("C1", "P1", d) for d in ("2025-03-01", "2025-03-03", "2025-03-07", "2025-03-08")]  # gaps 2 4 1
    rows += [("C1", "P2", d) for d in ("2025-03-01", "2025-03-09")]  # gap 8
    rows += [("C1", "P3", d) for d in ("2025-02-01", "2025-02-03", "2025-02-09", "2025-02-10", "2025-02-20")]
    rows += [("C1", "P5", d) for d in ("2025-02-08", "2025-03-09")]  # gap 29, not due within a week
    rows += [("C1", "P4", "2025-03-02"), ("C2", "P1", "2025-03-02"), ("C2", "P1", "2025-03-02"),  # once
             ("C1", "P4", "2025-03-12")]  # after the as-of date
    lines = sale_lines(spark, [(f"O{i}", c, d, p) for i, (c, p, d) in enumerate(rows)])
    return feat.purchase_days(lines, "2025-03-10")


def test_purchase_days_and_regulars(history):
    c2 = [tuple(r) for r in history.filter(F.col("customer_id") == "C2").collect()]
    assert c2 == [("C2", "P1", D("2025-03-02"), 2)]  # two orders on one day
    regular = sorted(tuple(r) for r in feat.regulars(history, 2).collect())
    assert regular == [("C1", "P1", 4), ("C1", "P2", 2), ("C1", "P3", 5), ("C1", "P5", 2)]
    assert sorted(r.product_id for r in feat.regulars(history, 3).collect()) == ["P1", "P3"]


def test_cycles_are_median_gaps_and_days_since_the_last_purchase(history):
    got = {r.product_id: tuple(r)[2:] for r in ba.cycles(history, "2025-03-10").collect()}
    assert got == {
        "P1": (4, D("2025-03-01"), D("2025-03-08"), 2.0, 2, 1.0),
        "P2": (2, D("2025-03-01"), D("2025-03-09"), 8.0, 1, 0.125),
        "P3": (5, D("2025-02-01"), D("2025-02-20"), 4.0, 18, 4.5),  # gaps 2 6 1 10: median 4
        "P5": (2, D("2025-02-08"), D("2025-03-09"), 29.0, 1, 1 / 29),
    }
    with pytest.raises(ValueError, match="min_days"):
        ba.cycles(history, "2025-03-10", min_days=1)


def test_buy_again_ranks_by_due_score_and_the_baseline_by_frequency(history):
    cycle_rows = ba.cycles(history, "2025-03-10")
    got = [(r.rank, r.item, r.score) for r in ba.buy_again(cycle_rows, n=10, horizon_days=7).collect()]
    assert [(rank, item) for rank, item, _ in got] == [(1, "P1"), (2, "P2"), (3, "P3"), (4, "P5")]
    assert [s for _, _, s in got] == pytest.approx(
        [1 / 2, 1 / 8, 1 / 4 * math.exp(3 - 4.5), 1 / 29 * 8 / 29], abs=1e-12)  # P3 lapsed, P5 not yet due
    assert [r.item for r in ba.buy_again(cycle_rows, n=2).collect()] == ["P1", "P2"]
    frequent = [(r.rank, r.item, r.score) for r in ba.most_frequent(cycle_rows, n=3).collect()]
    assert frequent == [(1, "P3", 5.0), (2, "P1", 4.0), (3, "P2", 2.0)]  # P2 and P5 tie: latest first


# --- metrics by hand -------------------------------------------------------------------------------

def test_precision_and_map_at_k_by_hand(spark):
    recs = spark.createDataFrame([
        ("C1", 1, "a", 0.9), ("C1", 2, "b", 0.8), ("C1", 3, "c", 0.7), ("C1", 4, "x", 0.6),  # rank 4 > k
        ("C2", 1, "d", 0.9), ("C2", 2, "e", 0.8),
        ("C9", 1, "a", 0.9),  # not in held: does not count
    ], "customer_id string, rank int, item string, score double")
    held = spark.createDataFrame([("C1", ["a", "c", "x"]), ("C2", ["e"]), ("C3", ["f"])],
                                 "customer_id string, hidden array<string>")
    got = ev.ranking(recs, held, k=3)
    assert got["customers"] == 3
    assert got["precision_at_3"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3, abs=1e-12)
    # C1: hits at 1 and 3 -> (1/1 + 2/3) / min(3, 3); C2: hit at 2 -> (1/2) / 1; C3: none
    assert got["map_at_3"] == pytest.approx((5 / 9 + 1 / 2 + 0) / 3, abs=1e-12)
    assert got["recall_at_3"] == pytest.approx((2 / 3 + 1 + 0) / 3, abs=1e-12)
    assert got["hit_rate_at_3"] == pytest.approx(2 / 3, abs=1e-12)
    assert got["coverage"] == pytest.approx(2 / 3, abs=1e-12)


def test_time_windows_and_held_out_purchases(spark, history):
    validation, test = split.windows("2025-03-31", test_days=7, validation_days=14)
    assert (validation.train_end, validation.start, validation.end) == (D("2025-03-10"), D("2025-03-11"),
                                                                         D("2025-03-24"))
    assert (test.train_end, test.start, test.end, test.days) == (D("2025-03-24"), D("2025-03-25"),
                                                                 D("2025-03-31"), 7)
    assert test.first(3).end == D("2025-03-27")
    window = split.Window(D("2025-02-28"), D("2025-03-01"), D("2025-03-09"))
    held = {r.customer_id: r.hidden for r in split.held_out(history, window).collect()}
    assert held == {"C1": ["P1", "P2", "P4", "P5"], "C2": ["P1"]}
    exclude = spark.createDataFrame([("C1", "P1"), ("C2", "P1")], "customer_id string, product_id string")
    held = {r.customer_id: r.hidden for r in split.held_out(history, window, exclude).collect()}
    assert held == {"C1": ["P2", "P4", "P5"]}  # C2 has nothing left to find


# --- guess-you-like against the fitted ALS --------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(spark):
    rows = [(c, p, 1.0 + (i * 7 + j * 3) % 5) for i, c in enumerate(["A", "B", "C", "D"])
            for j, p in enumerate(["p1", "p2", "p3", "p4", "p5", "p6"]) if (i + j) % 3 != 0]
    ratings = spark.createDataFrame(rows, "customer_id string, product_id string, rating double")
    return ratings, train.fit(ratings, config.ALSParams(rank=3, reg_param=0.1, alpha=5.0, max_iter=5), seed=3)


def test_guess_you_like_follows_the_model_and_skips_excluded_items(spark, tiny_model):
    _, model = tiny_model
    users, items, _ = train.stages(model)
    assert users == ["A", "B", "C", "D"] and items == ["p1", "p2", "p3", "p4", "p5", "p6"]
    pairs = spark.createDataFrame([(c, p) for c in ("A", "B") for p in items], "customer_id string, product_id string")
    scored = sorted(((r.customer_id, -r.prediction, r.product_id) for r in model.transform(pairs).collect()))
    exclude = spark.createDataFrame([("A", "p2"), ("A", "p5"), ("B", "p1")], "customer_id string, product_id string")
    customers = spark.createDataFrame([("A",), ("B",), ("Z",)], "customer_id string")  # Z: unknown
    got = rec.guess_you_like(model, customers, exclude, n=3).orderBy("customer_id", "rank").collect()
    skip = {("A", "p2"), ("A", "p5"), ("B", "p1")}
    expected = {c: [p for cc, _, p in scored if cc == c and (c, p) not in skip][:3] for c in ("A", "B")}
    assert {c: [r.item for r in got if r.customer_id == c] for c in ("A", "B", "Z")} == {**expected, "Z": []}
    assert all(r.score == pytest.approx(-s, rel=1e-6) for r in got for cc, s, p in scored
               if cc == r.customer_id and p == r.item)


def test_popularity_and_fill(spark, history):
    popular = rec.popular_items(history)
    assert sorted((r.item, r.freq) for r in popular.collect()) == [("P1", 2), ("P2", 1), ("P3", 1), ("P4", 1),
                                                                   ("P5", 1)]
    customers = spark.createDataFrame([("C1",), ("C2",), ("C7",)], "customer_id string")
    exclude = spark.createDataFrame([("C1", "P1"), ("C1", "P3")], "customer_id string, product_id string")
    pop = rec.recommend_popular(customers, popular, exclude, n=2)
    assert sorted((r.customer_id, r.rank, r.item) for r in pop.collect()) == [
        ("C1", 1, "P2"), ("C1", 2, "P4"), ("C2", 1, "P1"), ("C2", 2, "P2"), ("C7", 1, "P1"), ("C7", 2, "P2")]
    als = spark.createDataFrame([("C1", 1, "P9", 0.7)], "customer_id string, rank int, item string, score double")
    filled = rec.fill_with_popular(als, pop, n=2)
    assert sorted((r.customer_id, r.rank, r.item) for r in filled.collect()) == [
        ("C1", 1, "P9"), ("C1", 2, "P2"), ("C2", 1, "P1"), ("C2", 2, "P2"), ("C7", 1, "P1"), ("C7", 2, "P2")]


def test_gold_rows(spark, history):
    guess = spark.createDataFrame([("C1", 1, "P9", 0.7)], "customer_id string, rank int, item string, score double")
    again = ba.buy_again(ba.cycles(history, "2025-03-10"), n=1)
    products = spark.createDataFrame([("P1", "milk", "dairy", "milk"), ("P9", "tofu", "frozen", "tofu")],
                                     "product_id string, product_name string, category_l1 string, category_l2 string")
    rows = gold.recommendations(guess, again, products, "2025-03-10")
    assert tuple(rows.columns) == gold.COLUMNS
    assert sorted(tuple(r) for r in rows.collect()) == [
        (D("2025-03-10"), "C1", "buy_again", 1, "P1", 0.5, "milk", "dairy", "milk", 2.0, 2),
        (D("2025-03-10"), "C1", "guess_you_like", 1, "P9", 0.7, "tofu", "frozen", "tofu", None, None)]


def test_fold_features_ignore_everything_after_the_train_end(spark, history):
    """The backtest's training features at T - 1 are the same with or without the later rows."""
    lines = sale_lines(spark, [(f"O{i}", r.customer_id, str(r.order_date), r.product_id)
                               for i, r in enumerate(history.collect())]
                       + [("L1", "C1", "2025-03-11", "P2"), ("L2", "C3", "2025-03-12", "P9"),
                          ("L3", "C1", "2025-03-12", "P4")])
    seen = events(spark, [("C1", "P4", "view", "2025-03-09"), ("C1", "P4", "favorite", "2025-03-11"),
                          ("C3", "P1", "add_cart", "2025-03-12")])
    window = split.Window(D("2025-03-10"), D("2025-03-11"), D("2025-03-12"))
    params = config.Params(history_days=None)
    full = bt.fold(bt.Inputs(lines, seen), window, params)
    cut = bt.fold(bt.Inputs(lines.filter(F.col("order_date") <= F.lit(window.train_end)),
                            seen.filter(F.col("event_date") <= F.lit(window.train_end))), window, params)
    assertDataFrameEqual(full.ratings, cut.ratings)
    assertDataFrameEqual(full.regulars, cut.regulars)
    assert sorted(r.customer_id for r in full.customers.collect()) == ["C1", "C2"]  # C3 only came later
    # what counts in the window: C1's P4 (bought once before); not P2 (a regular), not C3 (unknown at T)
    assert {r.customer_id: r.hidden for r in full.held.collect()} == {"C1": ["P4"]}
    full.unpersist()
    cut.unpersist()


def test_same_seed_same_model(spark, tiny_model):
    ratings, model = tiny_model
    factors = lambda m: sorted((r.id, tuple(r.features)) for r in train.stages(m)[2].itemFactors.collect())  # noqa: E731
    again = train.fit(ratings, config.ALSParams(rank=3, reg_param=0.1, alpha=5.0, max_iter=5), seed=3)
    other = train.fit(ratings, config.ALSParams(rank=3, reg_param=0.1, alpha=5.0, max_iter=5), seed=4)
    assert factors(again) == factors(model)
    assert factors(other) != factors(model)


# --- the generated world: ALS against popularity, buy-again against frequency, gold rows ----------

@pytest.fixture(scope="module")
def world_train(spark, world):
    """spec.train on the world as of its last day, with the ALS parameters of conf/models.yaml (tuned
    once on the validation window; `grid: {}` keeps the test to one fit)."""
    from models.framework import TrainContext
    from models.recommend import spec

    ctx = TrainContext(spark, world.settings, D(world.last), seed=42, params={"grid": {}})
    return spec.train(ctx)


def test_als_beats_popularity_on_the_held_out_weeks(world_train):
    m = world_train.metrics
    assert world_train.primary_metric == "als_map_at_10"
    assert m["test_customers"] >= 300
    assert m["als_map_at_10"] >= m["popularity_map_at_10"] + MAP_MARGIN, m
    assert m["als_precision_at_10"] >= m["popularity_precision_at_10"] + PRECISION_MARGIN, m
    # the champion comparison re-evaluates a model on the same held-out purchases
    assert world_train.champion_metric(world_train.model) == pytest.approx(m["als_map_at_10"], abs=1e-12)
    assert len(world_train.eval_fingerprint) == 16
    assert list(world_train.input_example.columns) == ["customer_id", "product_id"]


def test_buy_again_is_judged_against_the_customers_most_frequent_items(world_train):
    m = world_train.metrics
    assert m["buy_again_customers"] >= 100
    # what the lists find on the test week (floors below the values seen; see the README figures)
    assert m["buy_again_precision_at_10"] >= BUY_AGAIN_PRECISION_FLOOR, m
    assert m["frequency_precision_at_10"] >= BUY_AGAIN_PRECISION_FLOOR, m


def test_score_writes_both_lists_without_overlap(spark, world, world_train):
    from jobs.gold.asof import AsOf
    from models.framework import ScoreContext
    from models.recommend import spec

    rows = spec.score(ScoreContext(spark, world.settings, AsOf(spark, world.settings, world.last)),
                      world_train.model)["gold.recommendations"].cache()
    assert tuple(rows.columns) == gold.COLUMNS
    per_kind = {r.kind: (r.customers, r.rows, r.max_rank) for r in rows.groupBy("kind").agg(
        F.countDistinct("customer_id").alias("customers"), F.count(F.lit(1)).alias("rows"),
        F.max("rank").alias("max_rank")).collect()}
    customers = AsOf(spark, world.settings, world.last).customers().select("customer_id").distinct().count()
    assert per_kind["guess_you_like"] == (customers, customers * 10, 10)  # everyone, new customers too
    # buy-again: every customer with regulars at the date, min(10, regulars) items each
    cut = AsOf(spark, world.settings, world.last)
    regulars = (feat.regulars(feat.purchase_days(cut.sale_lines(), world.last, feat.since_for(world.last, 365)))
                .groupBy("customer_id").agg(F.least(F.count(F.lit(1)), F.lit(10)).alias("n")))
    listed = rows.filter(F.col("kind") == "buy_again").groupBy("customer_id").agg(F.count(F.lit(1)).alias("n"))
    assertDataFrameEqual(listed, regulars)
    assert per_kind["buy_again"][2] == 10
    both = rows.groupBy("customer_id", "product_id").agg(F.countDistinct("kind").alias("kinds"))
    assert both.filter(F.col("kinds") > 1).count() == 0  # a regular is never a "guess"
    assert rows.filter(F.col("product_name").isNull()).count() == 0
    rows.unpersist()
