"""Price sensitivity: exposure, eligibility, evidence and scores on hand-made silver rows; on the
generated world the scores rank customers like the planted sensitivity."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from models.price_sensitivity import evaluate, features, split
from models.price_sensitivity import train as tr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs" / "gold"))
from silver_frames import asof as silver_asof  # noqa: E402
from silver_frames import customer, line, order, product  # noqa: E402

D = dt.date


def promo(promo_id, depth, l1, tier, start, end, promo_type="discount"):
    return {"promo_id": promo_id, "campaign_id": promo_id, "name": promo_id, "promo_type": promo_type,
            "discount_depth": depth, "category_l1": l1, "target_tier": tier, "start_date": start, "end_date": end}


@pytest.fixture(scope="module")
def small(spark, settings):
    """C1 (silver member) sees a Silver-only meat discount on 03-02..03-03 and an all-customer
    vegetables discount on 03-03..03-04; C2 (regular) only the vegetables one. A coupon is ignored."""
    return silver_asof(
        spark, settings, "2025-03-04",
        customers=[customer("C1", member_level="silver", signup_date="2025-03-01"),
                   customer("C2", member_level="regular", signup_date="2025-03-03")],
        products=[product("M1", "meat", "pork", "b", 10.0, 5.0), product("V1", "vegetables", "leafy", "b", 5.0, 2.0)],
        promotions=[promo("P1", 0.2, "meat", "Silver", "2025-03-02", "2025-03-03"),
                    promo("P2", 0.1, "vegetables", "all", "2025-03-03", "2025-03-04"),
                    promo("P3", 0.5, "all", "all", "2025-03-01", "2025-03-04", promo_type="coupon"),
                    promo("P4", 0.3, "meat", "all", "2025-03-05", "2025-03-09")],  # starts after the cutoff
        orders=[order("O1", "C1", "2025-03-02 09:00", 8.0), order("O2", "C2", "2025-03-03 10:00", 10.0),
                order("O3", "C1", "2025-03-04 11:00", 14.5), order("O4", "C1", "2025-03-05 11:00", 10.0)],
        order_lines=[line("O1", 1, "2025-03-02", "M1", 1, 10.0, discount_amount=2.0, line_amount=8.0),
                     line("O2", 1, "2025-03-03", "M1", 1, 10.0),
                     line("O3", 1, "2025-03-04", "V1", 1, 5.0, discount_amount=0.5, line_amount=4.5),
                     line("O3", 2, "2025-03-04", "M1", 1, 10.0),
                     line("O4", 1, "2025-03-05", "M1", 1, 10.0)],
    )


def test_eligibility_is_learned_from_line_discounts(small):
    got = features.eligibility(features.promotions(small), features.sale_lines(small), features.levels(small))
    assert sorted(tuple(r) for r in got.collect()) == [("Silver", "regular", 0.0, False), ("Silver", "silver", 1.0, True)]


def test_customer_days(small, spark):
    got = features.customer_days(small, window_days=180)
    expected = spark.createDataFrame([
        ("C1", D(2025, 3, 1), 0.0, None, 0), ("C1", D(2025, 3, 2), 0.2, "meat", 1),
        ("C1", D(2025, 3, 3), 0.2, "meat", 0), ("C1", D(2025, 3, 4), 0.1, "vegetables", 1),
        ("C2", D(2025, 3, 3), 0.1, "vegetables", 1), ("C2", D(2025, 3, 4), 0.1, "vegetables", 0),
    ], "customer_id string, day date, depth double, promo_l1 string, bought int")
    assertDataFrameEqual(got, expected)
    # the window starts later than the signups: only its days
    assert features.customer_days(small, window_days=1).count() == 2


def test_exposed_lines_and_evidence(small, spark):
    days = features.customer_days(small)
    lines = features.exposed_lines(small, days)
    # C1's usual meat share: 1 meat line off meat-promotion days of 2 such lines, with 5 pseudo-lines
    # at everyone's meat share (1.0): (1 + 5) / (2 + 5)
    expected = spark.createDataFrame([
        ("C1", D(2025, 3, 2), 0.2, 1, 6 / 7), ("C1", D(2025, 3, 4), 0.1, 1, 0.0),
        ("C1", D(2025, 3, 4), 0.1, 0, 0.0), ("C2", D(2025, 3, 3), 0.1, 0, 0.0),
    ], "customer_id string, day date, depth double, in_promo int, base_share double")
    assertDataFrameEqual(lines, expected, rtol=1e-9)
    ev = {r.customer_id: r for r in tr.evidence(days, lines).collect()}
    assert ev["C1"].switch_num == pytest.approx(1 / 7 + 1)
    assert ev["C1"].switch_den == pytest.approx(0.2 / 7 + 0.1 + 0.1)
    assert (ev["C1"].lines_exposed, ev["C1"].days_observed, ev["C1"].days_exposed, ev["C1"].n_observations) == (3, 4, 3, 7)
    # nobody bought on a day without a discount: every base rate is 0, so no order evidence
    assert ev["C1"].order_num == pytest.approx(2.0) and ev["C1"].order_den == 0.0
    assert (ev["C2"].switch_num, ev["C2"].switch_den, ev["C2"].n_observations) == (0.0, pytest.approx(0.1), 3)


def test_shrunk_scores_and_bands(spark):
    ev = spark.createDataFrame([
        ("A", 2.0, 1.0, 10, 4.0, 2.0, 100, 40, 110),  # responds strongly on both
        ("B", 0.0, 1.0, 10, 0.0, 2.0, 100, 40, 110),  # responds on neither
        ("C", 0.0, 0.0, 0, 0.0, 0.0, 5, 0, 5),  # no evidence: everyone's response
    ], "customer_id string, switch_num double, switch_den double, lines_exposed long, order_num double, "
       "order_den double, days_observed long, days_exposed long, n_observations long")
    model = tr.fit(ev, {"switch": 1.0, "order": 2.0})
    assert (model.switch_all, model.order_all) == (1.0, 1.0)
    got = {r.customer_id: r for r in tr.scores(model, ev).collect()}
    # A: switch (2 + 1) / (1 + 1) = 1.5, order (4 + 2) / (2 + 2) = 1.5; B: 0.5 and 0.5; C: 1 and 1
    assert (got["A"].score, got["A"].band) == (pytest.approx(1.5), "high")
    assert (got["B"].score, got["B"].band) == (pytest.approx(0.5), "medium")
    assert (got["C"].score, got["C"].band, got["C"].n_observations) == (pytest.approx(1.0), "medium", 5)
    with pytest.raises(ValueError, match="nothing to learn"):
        tr.fit(ev.filter(F.col("customer_id") == "C"))


def test_spearman_and_time_split():
    assert evaluate.spearman([(1, 10), (2, 20), (3, 15), (4, 40)]) == pytest.approx(0.8)
    assert evaluate.spearman([(1, 3), (2, 2), (3, 1)]) == pytest.approx(-1.0)
    assert split.train_end(D(2025, 5, 30), 28) == D(2025, 5, 2)
    with pytest.raises(ValueError):
        split.train_end(D(2025, 5, 30), 0)


# --- on the generated world ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(spark, world):
    from models.framework import TrainContext
    from models.price_sensitivity import spec

    return spec.train_and_evaluate(TrainContext(spark, world.settings, D.fromisoformat(world.last), seed=42))


def test_scores_rank_customers_like_the_planted_sensitivity(trained):
    m = trained.metrics
    # scores from data up to T = cutoff - 28 days, against truth/customers.csv price_sensitivity
    # measured 0.319 on this world (same seed and steps as /work/devworld); a regression falls below 0.30
    assert m["spearman_truth"] >= 0.30, m
    assert m["customers_compared"] == 559.0  # customers with 30+ observations by T
    assert m["heldout_lines"] == 4220.0  # lines bought on discount days in the last 28 days
    assert trained.primary_metric == "heldout_logloss" and not trained.higher_is_better
