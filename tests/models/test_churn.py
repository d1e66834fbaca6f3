"""Churn model (models/churn): features and labels to the exact value on a hand-made world (a sale on
the cutoff, a sale exactly N days after it, one a day later), nothing after the cutoff in any feature,
the out-of-time split rule, the metrics on hand-made scores, drivers and risk bands; then on the
generated world: ROC AUC of the later cutoff, determinism, and labels against the planted churn."""
from __future__ import annotations

import csv
import datetime as dt
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from models.churn import drivers, evaluate, features, label, spec, split, train

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs" / "gold"))
from silver_frames import asof, customer, order  # noqa: E402

CUTOFF = "2025-03-31"
LATER = "2025-05-31"
N = 30


def _rows(cutoff: str, later: bool) -> dict:
    """Silver rows of the hand-made world; `later` adds everything dated after the cutoff."""
    c = dt.date.fromisoformat(cutoff)
    customers = [
        customer("A", signup_date="2024-12-01"),
        customer("B", signup_date="2025-01-01", customer_type="restaurant"),
        customer("D", signup_date="2024-06-01"),
        customer("X", signup_date="2024-01-01"),
    ]
    orders = [
        order("A1", "A", "2025-01-15 10:00", 100),
        order("A2", "A", "2025-03-05 10:00", 200),
        order("A3", "A", "2025-03-31 23:30", 50),  # on the cutoff: a feature, not the label
        order("B1", "B", "2025-02-10 09:00", 300),
        order("B2", "B", "2025-02-20 09:00", 100),
        order("D1", "D", "2025-01-01 08:00", 80),  # 89 days before the cutoff: still eligible
        order("X1", "X", "2024-12-31 08:00", 60),  # 90 days before: not eligible
        order("X2", "X", "2025-03-01 08:00", 70, status="cancelled"),  # not a sale
        order("X3", "X", "2025-03-02 08:00", -60, is_return=True, status="returned", ref_order_id="X1"),
    ]
    deliveries = [
        {"delivery_id": "DA2", "order_id": "A2", "delivery_date": "2025-03-05", "is_late": True},
        {"delivery_id": "DA3", "order_id": "A3", "delivery_date": "2025-03-31", "is_late": False},
    ]
    complaints = [
        {"complaint_id": "K1", "customer_id": "A", "kind": "complaint", "created_ts_local": "2025-03-10 12:00:00"},
        {"complaint_id": "K2", "customer_id": "A", "kind": "suggestion", "created_ts_local": "2025-03-11 12:00:00"},
    ]
    reviews = [{"review_id": "R1", "customer_id": "B", "order_id": "B2", "rating": 1,
                "created_ts_local": "2025-02-21 12:00:00"},
               {"review_id": "R2", "customer_id": "B", "order_id": "B1", "rating": 4,
                "created_ts_local": "2025-02-11 12:00:00"}]
    events = [{"event_id": f"E{i}", "customer_id": "A", "event_date": d, "event_type": "view", "platform": "app"}
              for i, d in enumerate(["2025-03-30", "2025-03-20", "2025-03-10", "2024-01-01"])]
    if later:
        customers[1] = customer("B", signup_date="2025-01-01", customer_type="restaurant",
                                valid_to="2025-04-15 00:00:00", is_current=False)
        customers.append(customer("B", signup_date="2025-01-01", customer_type="consumer",
                                  valid_from="2025-04-15 00:00:00"))  # changed after the cutoff
        customers.append(customer("E", signup_date="2025-04-05", valid_from="2025-04-05 00:00:00"))
        orders += [
            order("A4", "A", "2025-04-30 10:00", 90),  # exactly N = 30 days after: a purchase, label 0
            order("B3", "B", "2025-05-01 10:00", 90),  # 31 days after: outside the window, label 1
            order("E1", "E", "2025-04-10 10:00", 40),
        ]
        deliveries += [{"delivery_id": "DA4", "order_id": "A4", "delivery_date": "2025-04-30", "is_late": True}]
        complaints += [{"complaint_id": "K3", "customer_id": "B", "kind": "complaint",
                        "created_ts_local": "2025-04-01 09:00:00"}]
        reviews += [{"review_id": "R3", "customer_id": "A", "order_id": "A4", "rating": 1,
                     "created_ts_local": "2025-04-30 20:00:00"}]
        events += [{"event_id": "E9", "customer_id": "B", "event_date": "2025-04-01", "event_type": "view",
                    "platform": "app"}]
    assert all(o["order_date"] <= c for o in orders) or later
    return {"customers": customers, "orders": orders, "deliveries": deliveries, "complaints": complaints,
            "reviews": reviews, "events": events}


@pytest.fixture(scope="module")
def small(spark, settings):
    """(facts as of the cutoff, facts as of two months later) of the hand-made world."""
    before = features.facts_from(asof(spark, settings, CUTOFF, **_rows(CUTOFF, later=False)))
    after = features.facts_from(asof(spark, settings, LATER, **_rows(CUTOFF, later=True)))
    return before, after


EXPECTED_A = {
    "recency_days": 0.0, "orders_30": 2.0, "orders_90": 3.0, "orders_prev_30": 0.0, "orders_trend": 2.0,
    "spend_30": 250.0, "spend_90": 350.0, "spend_trend": math.log(251.0), "orders_history": 3.0,
    "first_order_days": 75.0, "observed_days": 121.0, "mean_interval_days": 37.5, "overdue_ratio": 0.0,
    "expected_missed": 0.0,
    "deliveries_90": 2.0, "late_90": 1.0, "late_share_90": 0.5, "late_decayed": 0.5 ** (26 / 21),
    "complaints_90": 1.0, "complaints_decayed": 0.5, "low_ratings_90": 0.0,
    "events_14": 2.0, "events_prev_14": 1.0, "days_since_event": 1.0, "tenure_days": 120.0, "is_b2b": 0.0,
}
EXPECTED_B = {
    "recency_days": 39.0, "orders_30": 0.0, "orders_90": 2.0, "orders_prev_30": 2.0, "orders_trend": -2.0,
    "spend_30": 0.0, "spend_90": 400.0, "spend_trend": -math.log(401.0), "orders_history": 2.0,
    "first_order_days": 49.0, "observed_days": 90.0, "mean_interval_days": 10.0, "overdue_ratio": 3.9,
    "expected_missed": 39.0 * 2 / 90,
    "deliveries_90": 0.0, "late_90": 0.0, "late_share_90": 0.0, "late_decayed": 0.0,
    "complaints_90": 0.0, "complaints_decayed": 0.0, "low_ratings_90": 1.0,
    "events_14": 0.0, "events_prev_14": 0.0, "days_since_event": 365.0, "tenure_days": 89.0, "is_b2b": 1.0,
}
EXPECTED_D = {
    "recency_days": 89.0, "orders_30": 0.0, "orders_90": 1.0, "orders_prev_30": 0.0, "orders_trend": 0.0,
    "spend_30": 0.0, "spend_90": 80.0, "spend_trend": 0.0, "orders_history": 1.0,
    "first_order_days": 89.0, "observed_days": 304.0, "mean_interval_days": 304.0, "overdue_ratio": 89.0 / 304,
    "expected_missed": 89.0 / 304,
    "deliveries_90": 0.0, "late_90": 0.0, "late_share_90": 0.0, "late_decayed": 0.0,
    "complaints_90": 0.0, "complaints_decayed": 0.0, "low_ratings_90": 0.0,
    "events_14": 0.0, "events_prev_14": 0.0, "days_since_event": 365.0, "tenure_days": 303.0, "is_b2b": 0.0,
}


def _expected_frame(spark, cutoff, by_customer: dict):
    schema = "cutoff date, customer_id string, " + ", ".join(f"{f} double" for f in features.FEATURES)
    data = [(dt.date.fromisoformat(cutoff), cid, *[values[f] for f in features.FEATURES])
            for cid, values in by_customer.items()]
    return spark.createDataFrame(data, schema)


# --- features and labels -----------------------------------------------------------------------

def test_features_of_each_eligible_customer_to_the_exact_value(spark, small):
    before, _ = small
    actual = features.customer_features(before, CUTOFF)
    assert list(actual.columns) == ["cutoff", "customer_id", *features.FEATURES]
    expected = _expected_frame(spark, CUTOFF, {"A": EXPECTED_A, "B": EXPECTED_B, "D": EXPECTED_D})
    assertDataFrameEqual(actual, expected, rtol=1e-12)
    # with the data starting 2025-01-01, D (one sale, on that day) was observed 90 days, not since signup
    d = features.customer_features(before, CUTOFF, observed_from="2025-01-01").filter("customer_id = 'D'").first()
    assert (d["observed_days"], d["mean_interval_days"], d["expected_missed"]) == (90.0, 90.0, 89.0 / 90)


def test_nothing_after_the_cutoff_reaches_a_feature_only_the_label(spark, small):
    before, after = small
    # the later facts hold later orders, deliveries, complaints, reviews, events, a new customer and a
    # customer-type change of B: the features as of the cutoff are the very same rows
    assertDataFrameEqual(features.customer_features(after, CUTOFF), features.customer_features(before, CUTOFF),
                         rtol=0.0, atol=0.0)
    eligible = features.customer_features(after, CUTOFF)
    with_future = {r["customer_id"]: r["label"] for r in label.labels(after.sales, eligible, CUTOFF, N).collect()}
    without = {r["customer_id"]: r["label"] for r in label.labels(before.sales, eligible, CUTOFF, N).collect()}
    assert with_future == {"A": 0.0, "B": 1.0, "D": 1.0}
    assert without == {"A": 1.0, "B": 1.0, "D": 1.0}  # the future changes A's label, nothing else


def test_label_counts_a_sale_exactly_n_days_after_but_not_one_on_the_cutoff(spark, small):
    _, after = small
    eligible = features.customer_features(after, CUTOFF)
    actual = label.labels(after.sales, eligible, CUTOFF, N)
    expected = spark.createDataFrame(
        [(dt.date(2025, 3, 31), "A", 0.0, 30), (dt.date(2025, 3, 31), "B", 1.0, None),
         (dt.date(2025, 3, 31), "D", 1.0, None)],
        "cutoff date, customer_id string, label double, next_order_days int")
    assertDataFrameEqual(actual, expected)
    # one day shorter, A's next sale (day 30) falls outside the window
    shorter = {r["customer_id"]: r["label"] for r in label.labels(after.sales, eligible, CUTOFF, N - 1).collect()}
    assert shorter == {"A": 1.0, "B": 1.0, "D": 1.0}
    # a day later cutoff: A's sale on 03-31 is now behind it; B's 05-01 sale is 30 days after 04-01
    next_day = {r["customer_id"]: (r["label"], r["next_order_days"])
                for r in label.labels(after.sales, eligible, "2025-04-01", N).collect()}
    assert next_day == {"A": (0.0, 29), "B": (0.0, 30), "D": (1.0, None)}


def test_eligibility_window_and_failure_modes(spark, small):
    before, after = small
    assert sorted(r[0] for r in features.eligible(after.sales, CUTOFF).collect()) == ["A", "B", "D"]
    assert sorted(r[0] for r in features.eligible(after.sales, CUTOFF, active_days=40).collect()) == ["A", "B"]
    assert sorted(r[0] for r in features.eligible(after.sales, "2025-04-10").collect()) == ["A", "B", "E"]
    with pytest.raises(ValueError, match="active_days"):
        features.customer_features(before, CUTOFF, active_days=100, history_days=90)
    with pytest.raises(ValueError, match="not observed"):
        label.check_observed(CUTOFF, 90, "2025-06-28")
    label.check_observed(CUTOFF, 90, "2025-06-29")  # window (03-31, 06-29] fully observed


# --- split -------------------------------------------------------------------------------------

def test_default_cutoffs_on_a_150_day_world_and_the_split_rule():
    train_cutoffs, test = split.default_cutoffs("2025-05-30", 90)
    assert test == dt.date(2025, 3, 1)  # the latest cutoff whose 90-day window is observed
    assert train_cutoffs == [dt.date(2025, 1, 18), dt.date(2025, 2, 1), dt.date(2025, 2, 15)]
    facts = split.check(train_cutoffs, test, 90, "2025-05-30")
    assert facts == {"train_cutoffs": ["2025-01-18", "2025-02-01", "2025-02-15"], "test_cutoff": "2025-03-01",
                     "horizon_days": 90, "label_overlap_days": 76, "strict": False}
    with pytest.raises(ValueError, match="strict split"):
        split.check(train_cutoffs, test, 90, "2025-05-30", strict=True)
    # strict with N = 30: every train label window ends by the test cutoff
    strict_train, strict_test = split.default_cutoffs("2025-05-30", 30, strict=True)
    assert strict_test == dt.date(2025, 4, 30)
    assert strict_train == [dt.date(2025, 3, 3), dt.date(2025, 3, 17), dt.date(2025, 3, 31)]
    assert split.check(strict_train, strict_test, 30, "2025-05-30", strict=True)["label_overlap_days"] == 0
    with pytest.raises(ValueError, match="not before the test cutoff"):
        split.check([dt.date(2025, 3, 1)], dt.date(2025, 3, 1), 30, "2025-05-30")
    with pytest.raises(ValueError, match="not observed"):
        split.check([dt.date(2025, 2, 1)], dt.date(2025, 3, 2), 90, "2025-05-30")
    with pytest.raises(ValueError, match="repeat"):
        split.check([dt.date(2025, 2, 1)] * 2, dt.date(2025, 3, 1), 30, "2025-05-30")


# --- metrics -----------------------------------------------------------------------------------

Y = [1, 0, 1, 0, 0, 1]
S = [0.9, 0.8, 0.8, 0.3, 0.1, 0.2]


def test_metrics_on_hand_made_scores():
    assert evaluate.roc_auc(Y, S) == pytest.approx(6.5 / 9, abs=1e-15)  # the 0.8 tie counts half
    assert evaluate.pr_auc(Y, S) == pytest.approx(34 / 45, abs=1e-15)
    assert evaluate.brier(Y, S) == pytest.approx(1.43 / 6, abs=1e-15)
    table = evaluate.calibration_table(Y, S, bins=3)
    assert table[["rows", "observed_rate"]].to_dict("list") == {"rows": [2, 2, 2], "observed_rate": [0.5, 0.0, 1.0]}
    assert table["mean_score"].tolist() == pytest.approx([0.15, 0.55, 0.85], abs=1e-15)
    assert evaluate.calibration_error(table) == pytest.approx(0.35, abs=1e-15)
    assert evaluate.threshold_for_precision(Y, S, 0.7) == {
        "threshold": 0.9, "precision": 1.0, "recall": pytest.approx(1 / 3), "flagged": 1.0, "target_met": 1.0}
    assert evaluate.threshold_for_precision(Y, S, 0.6) == {
        "threshold": 0.2, "precision": 0.6, "recall": 1.0, "flagged": 5.0, "target_met": 1.0}
    assert evaluate.threshold_for_precision([0, 1], [0.9, 0.1], 0.7)["target_met"] == 0.0
    curve = evaluate.roc_curve(Y, S)
    assert curve["fpr"].tolist() == pytest.approx([0, 0, 1 / 3, 2 / 3, 2 / 3, 1])
    assert curve["tpr"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    with pytest.raises(ValueError, match="both classes"):
        evaluate.roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="0 or 1"):
        evaluate.metrics([2, 0], [0.2, 0.3])


# --- model, drivers, bands ---------------------------------------------------------------------

def _synthetic_rows(spark, n=120, seed=3):
    """Rows with every feature: churn driven by recency and complaints (a clear signal)."""
    rng = np.random.default_rng(seed)
    data = []
    for i in range(n):
        values = {f: float(rng.integers(0, 5)) for f in features.FEATURES}
        values["recency_days"] = float(rng.integers(0, 60))
        values["complaints_90"] = float(rng.integers(0, 3))
        churn = float(values["recency_days"] + 15 * values["complaints_90"] + rng.normal(0, 8) > 45)
        data.append((dt.date(2025, 3, 1), f"C{i:03d}", *[values[f] for f in features.FEATURES], churn))
    schema = ("cutoff date, customer_id string, " + ", ".join(f"{f} double" for f in features.FEATURES)
              + ", label double")
    return spark.createDataFrame(data, schema)


def test_lr_drivers_are_coefficient_times_standardised_value_and_bands_cut_scores(spark):
    rows = _synthetic_rows(spark)
    model, _ = train.fit(rows, "lr", seed=1)
    assert train.kind_of(model) == "lr"
    coef = model.stages[-1].coefficients.toArray()
    scaler = model.stages[1]
    mean, std = scaler.mean.toArray(), scaler.std.toArray()
    scored = drivers.scores(model, rows.filter(F.col("customer_id").isin("C000", "C001", "C002")))
    contribs = drivers.contributions(model, scored).collect()
    assert len(contribs) == 3 * len(features.FEATURES)
    for r in contribs:
        i = features.FEATURES.index(r["feature"])
        z = (r["value"] - mean[i]) / std[i]
        assert r["contribution"] == pytest.approx(coef[i] * z, abs=1e-9)
    importances = train.feature_importances(model)
    assert sum(importances.values()) == pytest.approx(1.0)
    assert set(list(importances)[:2]) == {"recency_days", "complaints_90"}

    gold = drivers.churn_risk(model, rows, "2025-03-01", band_cuts=(0.2, 0.5), top_k=2)
    assert tuple(gold.columns) == drivers.GOLD_COLUMNS
    out = {r["customer_id"]: r for r in gold.collect()}
    assert len(out) == 120
    for r in out.values():
        expected_band = "high" if r["churn_score"] >= 0.5 else "medium" if r["churn_score"] >= 0.2 else "low"
        assert r["risk_band"] == expected_band
        contributions = [d["contribution"] for d in r["drivers"]]
        assert contributions == sorted(contributions, reverse=True) and all(c > 0 for c in contributions)
        assert len(r["drivers"]) <= 2
        assert r["main_drivers"] == ", ".join(d["feature"] for d in r["drivers"])
    riskiest = max(out.values(), key=lambda r: r["churn_score"])
    assert riskiest["risk_band"] == "high" and riskiest["drivers"][0]["feature"] in {"recency_days", "complaints_90"}


def test_top_drivers_and_bands_on_hand_made_contributions(spark):
    contribs = spark.createDataFrame(
        [("A", "recency_days", 40.0, 1.5), ("A", "late_90", 2.0, 0.7), ("A", "spend_30", 0.0, 0.7),
         ("A", "is_b2b", 0.0, -0.2), ("B", "recency_days", 1.0, -1.0)],
        "customer_id string, feature string, value double, contribution double")
    top = {r["customer_id"]: [(d["feature"], d["contribution"]) for d in r["drivers"]]
           for r in drivers.top_drivers(contribs, top_k=2).collect()}
    assert top == {"A": [("recency_days", 1.5), ("spend_30", 0.7)]}  # ties: the name, descending; B: none
    bands = spark.createDataFrame([(s,) for s in (0.0, 0.1999, 0.2, 0.4999, 0.5, 1.0)], "s double")
    got = [r[0] for r in bands.select(drivers.risk_band(F.col("s"), (0.2, 0.5))).collect()]
    assert got == ["low", "low", "medium", "medium", "high", "high"]
    with pytest.raises(ValueError, match="band_cuts"):
        drivers.risk_band(F.col("s"), (0.5, 0.2))
    with pytest.raises(ValueError, match="unknown churn parameter"):
        spec.settings_of({"horizon": 30})


# --- on the generated world --------------------------------------------------------------------

WORLD_END = dt.date(2025, 5, 30)
TEST_CUTOFF = dt.date(2025, 3, 1)
AUC_FLOOR = 0.75  # measured 0.79-0.83 on this world (see the report); the aim of 0.85 is not reached


@pytest.fixture(scope="module")
def trained(spark, world):
    from models.framework import TrainContext

    return spec.train_and_evaluate(TrainContext(spark, world.settings, WORLD_END, seed=42))


def _truth(world) -> dict:
    with open(world.truth / "customers.csv", encoding="utf-8") as f:
        return {r["customer_id"]: r for r in csv.DictReader(f)}


def test_world_out_of_time_auc_both_models_and_threshold(trained):
    m, p = trained.metrics, trained.params
    print("churn metrics:", {k: round(v, 4) for k, v in sorted(m.items())})
    assert (p["test_cutoff"], p["train_cutoffs"], p["horizon_days"]) == (
        "2025-03-01", ["2025-01-18", "2025-02-01", "2025-02-15"], 90)
    assert p["label_overlap_days"] == 76 and p["observed_from"] == "2025-01-01"
    assert trained.primary_metric == "roc_auc" and trained.higher_is_better
    assert m["roc_auc"] == max(m["gbt_roc_auc"], m["lr_roc_auc"]) >= AUC_FLOOR
    assert m["roc_auc"] == m[f"{p['model_kind']}_roc_auc"]
    assert min(m["gbt_roc_auc"], m["lr_roc_auc"]) >= 0.7
    assert m["pr_auc"] > 3 * m["base_rate"]  # far better than flagging at random
    assert 20 <= m["positives"] <= 40 and 450 <= m["rows"] <= 560  # eligible customers of 600 at the cutoff
    if m["precision_target_met"]:
        assert m["precision_at_threshold"] >= 0.7 and 0 < m["recall_at_precision"] <= 1
    # the runner's re-evaluation of a model on this evaluation data gives the same number
    assert trained.champion_metric(trained.model) == m["roc_auc"]
    assert set(trained.figures) == {"roc_curve.png", "calibration.png", "feature_importance_gbt.png",
                                    "feature_importance_lr.png"}
    assert list(trained.input_example.columns) == list(features.FEATURES) and len(trained.input_example) == 5
    assert len(trained.eval_fingerprint) == 16


def test_world_training_is_deterministic(spark, world, trained):
    from jobs.gold.asof import AsOf

    p = spec.settings_of({})
    facts = features.facts_from(AsOf(spark, world.settings, WORLD_END))
    p["observed_from"] = features.first_sale_day(facts)
    train_cutoffs, test_cutoff = split.default_cutoffs(WORLD_END, 90)
    train_rows, test_rows = spec.build_rows(facts, train_cutoffs, test_cutoff, p)
    again = spec.fit_and_compare(train_rows, test_rows, 42, p)
    for kind in train.KINDS:
        for name, value in again[kind]["metrics"].items():
            assert trained.metrics[f"{kind}_{name}"] == value, (kind, name)
    train_rows.unpersist()
    test_rows.unpersist()


def test_world_labels_agree_with_the_planted_churn(spark, world):
    """Every eligible customer the generator had churned by the day after the test cutoff is labelled
    churned (a churned customer never buys again), and they are most of the churners."""
    from jobs.gold.asof import AsOf

    facts = features.facts_from(AsOf(spark, world.settings, WORLD_END))
    eligible = features.eligible(facts.sales, TEST_CUTOFF)
    labels = {r["customer_id"]: r["label"] for r in label.labels(facts.sales, eligible, TEST_CUTOFF, 90).collect()}
    truth = _truth(world)
    gone = {c for c in labels if truth[c]["churned"] == "true"
            and dt.date.fromisoformat(truth[c]["churn_date"]) <= TEST_CUTOFF + dt.timedelta(days=1)}
    positives = {c for c, y in labels.items() if y == 1.0}
    print(f"test cutoff: {len(labels)} eligible, {len(positives)} churn labels, {len(gone)} churned by the truth")
    assert gone and gone <= positives
    churned_in_window = {c for c in positives if truth[c]["churned"] == "true"}
    assert len(churned_in_window) >= 0.6 * len(positives)


def test_world_scores_gold_churn_risk(spark, world, trained):
    from jobs.gold.asof import AsOf
    from models.framework import ScoreContext

    asof_day = AsOf(spark, world.settings, WORLD_END)
    out = spec.score(ScoreContext(spark, world.settings, asof_day), trained.model)
    assert set(out) == {"gold.churn_risk"} and spec.SPEC.gold_tables == ("gold.churn_risk",)
    rows = out["gold.churn_risk"].collect()
    eligible = {r[0] for r in features.eligible(features.facts_from(asof_day).sales, WORLD_END).collect()}
    assert {r["customer_id"] for r in rows} == eligible and len(rows) == len(eligible)
    assert all(r["as_of_date"] == WORLD_END and 0.0 <= r["churn_score"] <= 1.0 for r in rows)
    bands = {r["risk_band"] for r in rows}
    assert bands <= set(drivers.BANDS) and "high" in bands and "low" in bands
    high = [r for r in rows if r["risk_band"] == "high"]
    assert all(r["drivers"] and r["main_drivers"].split(", ")[0] == r["drivers"][0]["feature"] for r in high)
    # customers the generator churned score higher than the rest (truth never reaches the model)
    truth = _truth(world)
    churned = [r["churn_score"] for r in rows if truth[r["customer_id"]]["churned"] == "true"]
    others = [r["churn_score"] for r in rows if truth[r["customer_id"]]["churned"] != "true"]
    auc = evaluate.roc_auc([1] * len(churned) + [0] * len(others), churned + others)
    print(f"gold.churn_risk {WORLD_END}: {len(rows)} customers, bands "
          f"{ {b: sum(r['risk_band'] == b for r in rows) for b in drivers.BANDS} }, AUC vs planted churn {auc:.3f}")
    assert auc >= 0.8
