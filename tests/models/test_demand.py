"""The demand forecast (models/demand): features on hand-made silver, no leakage past the cutoff,
the seasonal-naive baseline, WAPE / bias, the recursive forecast, the tier split and the
replenishment arithmetic by hand; on the generated world, the backtest against the baseline, the
planted holiday spikes, and the gold rows `score` returns."""
from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from jobs.gold.asof import AsOf
from models.demand import evaluate, forecast as fc, features as feat, spec as demand_spec
from models.framework import ScoreContext, TrainContext

D = dt.date
CUT = D(2025, 3, 3)  # a Monday
EPOCH_TS = dt.datetime(2024, 1, 1)


# --- hand-made silver ------------------------------------------------------------------------------

def _customers(spark, moved_after_cutoff: bool):
    rows = [("c1", "成都市", "四川省", EPOCH_TS, None, True), ("c2", "北京市", "北京市", EPOCH_TS, None, True)]
    if moved_after_cutoff:  # c1 moves to Beijing on 03-04: the cutoff must still see Chengdu
        moved = dt.datetime(2025, 3, 4)
        rows = [("c1", "成都市", "四川省", EPOCH_TS, moved, False), ("c1", "北京市", "北京市", moved, None, True),
                rows[1]]
    return spark.createDataFrame(
        [(c, city, prov, vf, vt, cur, None) for c, city, prov, vf, vt, cur in rows],
        "customer_id string, city string, province string, valid_from timestamp, valid_to timestamp, "
        "is_current boolean, attrs_hash string")


def _products(spark, later_version: bool):
    rows = [("p1", "dumplings", "frozen", "dumplings", 180, EPOCH_TS, None, True),
            ("p2", "milk", "dairy", "milk", 7, EPOCH_TS, None, True)]
    if later_version:  # p1 re-categorised after the cutoff
        moved = dt.datetime(2025, 3, 4)
        rows = [("p1", "dumplings", "frozen", "dumplings", 180, EPOCH_TS, moved, False),
                ("p1", "dumplings", "snacks", "chips", 180, moved, None, True), rows[1]]
    return spark.createDataFrame(
        [(p, n, c1, c2, "b", 10.0, 5.0, s, vf, vt, cur, None) for p, n, c1, c2, s, vf, vt, cur in rows],
        "product_id string, product_name string, category_l1 string, category_l2 string, brand string, "
        "list_price double, unit_cost double, shelf_life_days int, valid_from timestamp, valid_to timestamp, "
        "is_current boolean, attrs_hash string")


# order id, customer, date, status, is_return, product, quantity, warehouse
SALES = [
    ("o1", "c1", D(2025, 2, 1), "delivered", False, "p1", 2, "W1"),
    ("o2", "c1", D(2025, 2, 24), "delivered", False, "p1", 3, "W1"),
    ("o3", "c1", D(2025, 3, 2), "paid", False, "p1", 5, "W1"),
    ("o4", "c1", D(2025, 3, 2), "refunded", False, "p1", 40, "W1"),  # refunded: not demand
    ("o5", "c1", D(2025, 3, 3), "delivered", False, "p1", 1, "W1"),
    ("o6", "c2", D(2025, 3, 1), "delivered", False, "p1", 4, "W2"),
    ("o7", "c1", D(2025, 3, 2), "delivered", True, "p1", 6, "W1"),  # a return: not demand
]
AFTER = [("o8", "c1", D(2025, 3, 5), "delivered", False, "p1", 10, "W1"),
         ("o9", "c2", D(2025, 3, 4), "paid", False, "p2", 7, "W2")]


def _orders(spark, sales):
    orders = spark.createDataFrame(
        [(o, c, d, dt.datetime.combine(d, dt.time(12)), s, r, "app", None, w) for o, c, d, s, r, _, _, w in sales],
        "order_id string, customer_id string, order_date date, order_ts_local timestamp, status string, "
        "is_return boolean, channel string, promo_id string, warehouse_id string")
    lines = spark.createDataFrame([(o, d, p, q, r) for o, _, d, _, r, p, q, _ in sales],
                                  "order_id string, order_date date, product_id string, quantity int, is_return boolean")
    return orders, lines


def _calendar(spark):
    days = [D(2025, 2, 1) + dt.timedelta(days=i) for i in range(59)]  # 02-01 .. 03-31
    off = {D(2025, 3, 6), D(2025, 3, 7)}  # a made-up two-day holiday, Thursday and Friday
    worked = {D(2025, 3, 9)}  # an adjusted working Sunday
    return spark.createDataFrame(
        [(d, "lantern" if d in off else ("lantern" if d in worked else None), d in off,
          d in worked or (d.weekday() < 5 and d not in off)) for d in days],
        "date date, holiday_code string, is_day_off boolean, is_workday boolean")


def _promotions(spark, with_later: bool):
    rows = [("pr1", 0.2, "frozen", "all", D(2025, 3, 2), D(2025, 3, 4)),
            ("pr2", 0.1, "all", "all", D(2025, 3, 3), D(2025, 3, 3))]
    if with_later:  # starts after the cutoff: unknown at it
        rows.append(("pr3", 0.5, "frozen", "all", D(2025, 3, 4), D(2025, 3, 8)))
    return spark.createDataFrame(rows, "promo_id string, discount_depth double, category_l1 string, "
                                       "target_tier string, start_date date, end_date date")


def _weather(spark, days_after: bool):
    last = 40 if days_after else 31  # 02-01 + 31 days = 03-04 (past the cutoff either way: AsOf cuts it)
    rows = [(D(2025, 2, 1) + dt.timedelta(days=i), city, 10.0 + i, float(i % 3))
            for i in range(last) for city in ("成都市", "北京市")]
    return spark.createDataFrame(rows, "date date, city string, temp_high_c double, precipitation_mm double")


def _silver(spark, future: bool) -> dict:
    orders, lines = _orders(spark, SALES + (AFTER if future else []))
    return {"customers": _customers(spark, future), "products": _products(spark, future), "orders": orders,
            "order_lines": lines, "calendar": _calendar(spark), "promotions": _promotions(spark, future),
            "weather": _weather(spark, future)}


@pytest.fixture(scope="module")
def hand_features(spark, settings):
    asof = AsOf.from_frames(spark, settings, CUT.isoformat(), _silver(spark, future=True))
    return feat.build(asof, feat.FeatureSpec(horizon=14, train_days=None))


def _row(fs: feat.FeatureSet, region: str, day: dt.date) -> dict:
    rows = fs.rows(fs.lag_start, fs.horizon_end)
    found = rows[(rows["product_id"] == "p1") & (rows["region"] == region) & (rows["date"] == day)]
    assert len(found) == 1, f"p1 x {region} x {day}: {len(found)} rows"
    return found.iloc[0].to_dict()


def test_spine_fills_zeros_from_each_series_first_sale_to_the_horizon(hand_features):
    fs = hand_features
    assert (fs.first_day, fs.train_start, fs.lag_start) == (D(2025, 2, 1), D(2025, 3, 1), D(2025, 2, 1))
    frame = fs.frame
    west = frame[frame["region"] == "west_sichuan"]
    outside = frame[frame["region"] == "outside_sichuan"]
    assert sorted(frame.groupby(["product_id", "region"]).size().items()) == [
        (("p1", "outside_sichuan"), 17), (("p1", "west_sichuan"), 45)]  # p2 never sold by the cutoff
    assert west["date"].min() == D(2025, 2, 1) and outside["date"].min() == D(2025, 3, 1)
    assert frame["date"].max() == D(2025, 3, 17)
    known = west[west["date"] <= CUT].set_index("date")["quantity"]
    assert known.sum() == 11.0  # 2 + 3 + 5 + 1: the refunded order and the return are not demand
    assert known[D(2025, 2, 2)] == 0.0 and known[D(2025, 3, 2)] == 5.0 and known[D(2025, 3, 3)] == 1.0
    assert west[west["date"] > CUT]["quantity"].isna().all()  # the 03-05 sale is after the cutoff


def test_lag_features_by_hand(hand_features):
    row = _row(hand_features, "west_sichuan", CUT)
    assert row["quantity"] == 1.0
    assert (row["lag_1"], row["lag_7"], row["lag_14"]) == (5.0, 3.0, 0.0)
    assert row["mean_7"] == pytest.approx(8 / 7, abs=1e-12)  # 02-24 .. 03-02
    assert row["mean_14"] == pytest.approx(8 / 14, abs=1e-12)
    assert row["mean_28"] == pytest.approx(8 / 28, abs=1e-12)  # 02-01 is 30 days back: outside
    assert row["weekday_mean_4"] == pytest.approx(3 / 4, abs=1e-12)  # 02-24, 02-17, 02-10, 02-03
    outside = _row(hand_features, "outside_sichuan", D(2025, 3, 2))
    assert (outside["quantity"], outside["lag_1"], outside["lag_7"], outside["mean_7"]) == (0.0, 4.0, 0.0, 4 / 7)
    # product level over every region at the origin (03-02 for the 03-03 row): 2 + 3 + 5 + 4 over 28 days
    # ending 03-02 -> (3 + 5 + 4) / 28 (02-01 is outside the window)
    assert row["product_mean_28"] == pytest.approx(12 / 28, abs=1e-12)


def test_calendar_promotion_and_weather_features_by_hand(hand_features):
    cut = _row(hand_features, "west_sichuan", CUT)
    assert (cut["iso_weekday"], cut["is_weekend"], cut["is_holiday"], cut["is_off_day"]) == (1.0, 0.0, 0.0, 0.0)
    assert (cut["days_to_holiday"], cut["days_after_holiday"], cut["next_holiday"]) == (3.0, 60.0, "lantern")
    assert (cut["promo_depth"], cut["promo_all_depth"]) == (0.2, 0.1)
    # weather of the origin (03-02 = day 29 of the series: 10 + 29) and the 7 days ending at it
    assert cut["temp_high_last"] == pytest.approx(39.0) and cut["temp_high_7d"] == pytest.approx(36.0)
    holiday = _row(hand_features, "west_sichuan", D(2025, 3, 6))
    assert (holiday["is_holiday"], holiday["is_off_day"], holiday["days_to_holiday"]) == (1.0, 1.0, 0.0)
    # after the cutoff: the weather stays the cutoff's, the promotion that starts on 03-04 is unknown
    assert holiday["temp_high_last"] == pytest.approx(40.0)  # 03-03, the cutoff day
    assert holiday["promo_depth"] == 0.0
    after = _row(hand_features, "west_sichuan", D(2025, 3, 8))
    assert (after["days_after_holiday"], after["next_holiday"], after["is_off_day"]) == (1.0, "none", 1.0)
    worked = _row(hand_features, "west_sichuan", D(2025, 3, 9))
    assert (worked["is_weekend"], worked["is_adjusted_workday"], worked["is_off_day"]) == (1.0, 1.0, 0.0)


def test_data_after_the_cutoff_changes_no_feature(spark, settings, hand_features):
    """Orders, a promotion, a customer move, a product re-categorisation and weather after the
    cutoff: the whole feature frame (rows up to the cutoff and the horizon rows) is identical to
    the one built from silver without any of it."""
    cut_only = feat.build(AsOf.from_frames(spark, settings, CUT.isoformat(), _silver(spark, future=False)),
                          feat.FeatureSpec(horizon=14, train_days=None))
    assert_frame_equal(hand_features.frame, cut_only.frame)
    assert_frame_equal(hand_features.rows(hand_features.lag_start, hand_features.horizon_end),
                       cut_only.rows(cut_only.lag_start, cut_only.horizon_end))


# --- the recursive forecast, the baseline, WAPE and bias --------------------------------------------

class _LastPlusOne:
    """A 'model' predicting yesterday's units + 1: shows each step sees the previous forecasts."""

    kind = "test"

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return rows["lag_1"].to_numpy() + 1.0


def test_recursive_forecast_feeds_each_day_its_previous_forecasts(hand_features):
    fs = hand_features
    out = fc.predict_recursive(_LastPlusOne(), fs.frame, fs.keys, CUT, 3)
    west = out[out["region"] == "west_sichuan"].sort_values("date")
    assert west["forecast_qty"].tolist() == [2.0, 3.0, 4.0]  # cutoff day sold 1
    assert west["horizon_days"].tolist() == [1, 2, 3]
    outside = out[out["region"] == "outside_sichuan"].sort_values("date")
    assert outside["forecast_qty"].tolist() == [1.0, 2.0, 3.0]  # sold 0 on the cutoff day


def test_seasonal_naive_is_the_same_weekday_of_the_last_known_week():
    history = pd.DataFrame({"product_id": "p", "region": "r",
                            "date": [CUT - dt.timedelta(days=i) for i in range(14)],
                            "quantity": [float(100 + i) for i in range(14)]})  # 03-03 -> 100, 03-02 -> 101, ...
    history = history[history["date"] != D(2025, 2, 25)]  # a missing day counts as zero
    out = fc.seasonal_naive(history, ["product_id", "region"], CUT, 9).set_index("horizon_days")
    # day k takes C + k - 7 * ceil(k / 7): k=1 (Tue 03-04) <- Tue 02-25 (missing: 0); k=2 <- 02-26 (105)
    assert out.loc[1, "baseline_qty"] == 0.0 and out.loc[2, "baseline_qty"] == 105.0
    assert out.loc[7, "baseline_qty"] == 100.0  # Mon 03-10 <- Mon 03-03
    assert out.loc[8, "baseline_qty"] == 0.0 and out.loc[9, "baseline_qty"] == 105.0  # two weeks back
    assert out.loc[9, "date"] == D(2025, 3, 12)


def test_wape_and_bias_by_hand():
    rows = pd.DataFrame({"product_id": ["a", "a", "b"], "date": [CUT, CUT, CUT],
                         "actual_qty": [10.0, 0.0, 5.0], "forecast_qty": [8.0, 2.0, 5.0],
                         "baseline_qty": [12.0, 0.0, 0.0]})
    m = evaluate.compare(rows)
    assert m["wape"] == pytest.approx(4 / 15) and m["bias"] == 0.0  # |10-8| + |0-2| + 0 over 15
    assert m["baseline_wape"] == pytest.approx(7 / 15) and m["baseline_bias"] == pytest.approx(-3 / 15)
    assert m["beats_baseline"] is True
    product = evaluate.compare(rows, ["product_id"])  # a: 10 vs 10 (errors cancel), b: 5 vs 5
    assert product["wape"] == 0.0 and product["baseline_wape"] == pytest.approx((2 + 5) / 15)
    assert evaluate.score(rows.assign(actual_qty=0.0))["wape"] is None


def test_tier_split_adds_up_to_the_total_and_borrows_the_region_mix():
    history = pd.DataFrame({
        "date": [CUT, CUT, CUT - dt.timedelta(days=3), CUT - dt.timedelta(days=80)],
        "product_id": ["p1", "p1", "p1", "p2"], "region": ["r", "r", "r", "r"],
        "tier": ["Gold", "Silver", "Gold", "Gold"], "quantity": [2.0, 1.0, 1.0, 9.0]})
    shares = fc.tier_shares(history, CUT, 56)  # p2's sale is 80 days old: p2 borrows r's mix
    total = pd.DataFrame({"product_id": ["p1", "p2"], "region": ["r", "r"], "category_l1": "x",
                          "category_l2": "y", "date": [CUT + dt.timedelta(days=1)] * 2, "horizon_days": 1,
                          "forecast_qty": [8.0, 4.0], "baseline_qty": [3.0, 0.0]})
    out = fc.split_by_tier(total, shares).set_index(["product_id", "tier"])["forecast_qty"]
    assert out.to_dict() == {("p1", "all"): 8.0, ("p2", "all"): 4.0, ("p1", "Gold"): 6.0, ("p1", "Silver"): 2.0,
                             ("p2", "Gold"): 3.0, ("p2", "Silver"): 1.0}


# --- replenishment ---------------------------------------------------------------------------------

def test_replenishment_arithmetic_by_hand(spark):
    forecast = spark.createDataFrame(
        [(k, p, "r", 10.0) for k in (1, 2, 3) for p in ("p1", "p2")],
        "horizon_days int, product_id string, region string, forecast_qty double")
    inventory = spark.createDataFrame(
        [(D(2025, 3, 2), "W1", "p1", 99, 0), (D(2025, 3, 3), "W1", "p1", 25, 5), (D(2025, 3, 3), "W1", "p2", 0, 0)],
        "snapshot_date date, warehouse_id string, product_id string, on_hand_qty int, expiring_qty int")
    products = spark.createDataFrame([("p1", "frozen", "dumplings", "frozen", 2), ("p2", "dairy", "milk", "chilled", 1)],
                                     "product_id string, category_l1 string, category_l2 string, "
                                     "storage_type string, shelf_life_days int")
    shares = spark.createDataFrame([("r", "W1", 1.0)], "region string, warehouse_id string, share double")
    sd = spark.createDataFrame([("W1", "p1", 2.0)], "warehouse_id string, product_id string, demand_sd double")
    params = fc.ReplenishmentParams(lead_time_days=1, review_days=2, service_level=0.5)  # z = 0: no safety stock
    rows = {r["product_id"]: r.asDict() for r in fc.replenishment(forecast, inventory, products, shares, sd, CUT,
                                                                  params).collect()}
    p1, p2 = rows["p1"], rows["p2"]
    # p1: usable 25 - 5 = 20; lead f(1) = 10; cover f(1..3) = 30; need 30 - 20 = 10; an order arriving
    # after day 1 sells f(2..3) = 20 before it expires, minus the 20 - 10 = 10 units still left: cap 10
    assert (p1["usable_on_hand_qty"], p1["forecast_lead_qty"], p1["forecast_cover_qty"]) == (20.0, 10.0, 30.0)
    assert (p1["target_qty"], p1["shelf_life_cap_qty"], p1["suggested_qty"]) == (30.0, 10.0, 10)
    assert (p1["capped_by_shelf_life"], p1["days_of_cover"], p1["snapshot_date"]) == (False, 2.0, CUT)
    # p2: nothing on hand, need 30, but a 1-day shelf life sells only f(2) = 10: capped
    assert (p2["usable_on_hand_qty"], p2["shelf_life_cap_qty"], p2["suggested_qty"], p2["capped_by_shelf_life"]) == (
        0.0, 10.0, 10, True)
    safe = {r["product_id"]: r for r in fc.replenishment(
        forecast, inventory, products, shares, sd, CUT,
        fc.ReplenishmentParams(lead_time_days=1, review_days=2, service_level=0.95)).collect()}["p1"]
    z = NormalDist().inv_cdf(0.95)
    assert safe["safety_stock_qty"] == pytest.approx(z * 2.0 * math.sqrt(3), abs=1e-9)
    assert safe["target_qty"] == pytest.approx(30 + z * 2.0 * math.sqrt(3), abs=1e-9)
    assert (safe["suggested_qty"], safe["capped_by_shelf_life"]) == (10, True)  # need 15.7, cap 10


# --- on the generated world ------------------------------------------------------------------------

WORLD_PARAMS = {"n_folds": 2, "step_days": 21}  # cutoffs 04-25 (labour day inside) and 05-16 (dragon boat run-up)


@pytest.fixture(scope="module")
def world_train(spark, world):
    return demand_spec.train_and_evaluate(TrainContext(spark, world.settings, D(2025, 5, 30), params=WORLD_PARAMS))


def test_backtest_beats_the_seasonal_naive_baseline(world_train):
    m = world_train.metrics
    assert world_train.primary_metric == "wape" and world_train.higher_is_better is False
    assert m["fold0_wape"] < m["fold0_baseline_wape"] and m["fold1_wape"] < m["fold1_baseline_wape"]
    assert m["wape"] < m["baseline_wape"] - 0.15  # measured: see the README figures
    assert abs(m["bias"]) < 0.10
    assert m["holiday_wape"] < m["holiday_baseline_wape"]
    assert set(world_train.figures) == {"backtest.png", "feature_importances.png"}
    assert list(world_train.input_example.columns) == world_train.model.columns
    assert len(world_train.model.predict(world_train.input_example)) == 5


def test_planted_holiday_spikes_are_forecast_above_normal_days(world_train, world):
    """Truth: the generator plants per-category spikes around holidays (holidays_spikes.csv). In the
    two test windows lie Labour Day (hotpot_base, beverages, tropical, 04-29 .. 05-05) and the
    Dragon Boat run-up (eggs, 05-26 .. 05-31). Over those category x fold pairs, the forecast units
    per day on spike days must exceed those on the window's other days, as the actuals do. Measured
    on the dev world: 59.8 vs 54.7 a day (actual 84.7 vs 56.3); per category the forecast rises for
    beverages, tropical and eggs but not for hotpot_base (18.9 vs 19.1): without a year of history
    the model sees a holiday only through its calendar features, so the spikes are under-forecast."""
    spikes = pd.read_csv(world.truth / "holidays_spikes.csv")
    lift = evaluate.spike_lift(world_train.tables["backtest_daily.csv"], spikes)
    assert sorted(zip(lift["category_l2"], lift["fold"])) == [
        ("beverages", 0), ("eggs", 1), ("hotpot_base", 0), ("tropical", 0)]
    assert lift["actual_spike"].sum() > lift["actual_other"].sum()
    assert lift["forecast_spike"].sum() > lift["forecast_other"].sum(), lift.to_string()
    assert (lift["forecast_spike"] > lift["forecast_other"]).sum() >= 3, lift.to_string()


def test_score_writes_the_next_14_days_per_tier_and_replenishment(world_train, spark, world):
    asof = AsOf(spark, world.settings, D(2025, 5, 30))
    out = demand_spec.score(ScoreContext(spark, world.settings, asof), world_train.model)
    demand = out["gold.demand_forecast"].toPandas()
    assert sorted(demand["date"].unique()) == [D(2025, 5, 31) + dt.timedelta(days=i) for i in range(14)]
    assert demand["horizon_days"].min() == 1 and demand["horizon_days"].max() == 14
    keys = ["date", "product_id", "region", "tier"]
    assert not demand.duplicated(keys).any()
    totals = demand[demand["tier"] == "all"].set_index(["date", "product_id", "region"])["forecast_qty"]
    by_tier = demand[demand["tier"] != "all"].groupby(["date", "product_id", "region"])["forecast_qty"].sum()
    assert np.allclose(by_tier.reindex(totals.index).fillna(0.0), totals, atol=1e-9)
    assert set(demand["tier"]) >= {"all", "Gold", "Silver"}
    rep = out["gold.replenishment"].toPandas()
    assert not rep.duplicated(["warehouse_id", "product_id"]).any()
    assert (rep["suggested_qty"] >= 0).all() and rep["suggested_qty"].sum() > 0
