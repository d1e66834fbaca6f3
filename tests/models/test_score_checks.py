"""Data checks of the model output tables, run by `models/runner.py` when it scores (real Spark, GX, MLflow).

Six stand-in models carry the known models' names (the runner checks only the known models' tables),
each with a real registered champion in this test's own MLflow store (a pyfunc rule trained and
promoted by `runner.train_one` as churn, copied as version 1 of the other five), whose `score`
returns hand-made rows with the columns and types the real models write (models/<name>/gold.py,
churn/drivers.py, demand/forecast.py, price_sensitivity/train.py):

| model             | table                          | rows | suite expectations |
|-------------------|--------------------------------|------|--------------------|
| segmentation      | gold.customer_segments         | 3    | 9                  |
|                   | gold.segment_profiles          | 2    | 10                 |
| churn             | gold.churn_risk                | 3    | 10                 |
| recommend         | gold.recommendations           | 4    | 11                 |
| basket            | gold.basket_rules              | 2    | 12                 |
| demand            | gold.demand_forecast           | 3    | 12                 |
|                   | gold.replenishment             | 2    | 11                 |
| price_sensitivity | gold.price_sensitivity_scores  | 3    | 9                  |

silver.customers holds 4 customers (the `customers` run-time parameter of the per-customer suites).
Scoring DAY records 84 expectations under run id score_DAY, all passed. Broken churn specs (same
registered model, so the same champion) score OTHER_DAY after a good run of it: a duplicate
customer_id and a churn_score of 1.5 each stop the write with a message naming the table,
expectation and column, and the gold slice and gold.model_scores stay as the good run left them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from habitlake import catalog
from models import mlflow_utils, runner
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult

CUTOFF = dt.date(2025, 3, 31)
DAY = "2025-04-01"
OTHER_DAY = "2025-04-02"
CUSTOMERS = ("c1", "c2", "c3", "c4")
DRIVER = "struct<feature:string,value:double,contribution:double>"


@dataclasses.dataclass(frozen=True)
class Rule:
    """A stand-in model: the scores below are hand-made; it only has to be a registered champion."""

    name: str

    def predict(self, frame):
        return frame["x"] * 0.0


def _train(ctx: TrainContext) -> TrainResult:
    import pandas as pd

    return TrainResult(model=Rule("stand-in"), params={}, metrics={"m": 1.0}, primary_metric="m",
                       flavor="pyfunc", input_example=pd.DataFrame({"x": [1.0]}), eval_fingerprint="fixed")


# --- hand-made model outputs (without as_of_date, model_name, model_version: the runner adds them) ---

def _segmentation(ctx: ScoreContext, model):
    spark = ctx.spark
    segments = spark.createDataFrame(
        [("c1", 0, "deal hunters", "deal hunters", 0.4), ("c2", 1, "night owls", "night owls", 1.2),
         ("c3", 0, "deal hunters", "deal hunters", 0.0)],
        "customer_id string, segment_id int, segment string, segment_name string, distance double")
    profiles = spark.createDataFrame(
        [(0, "deal hunters", "buy on promotion", 2, 2 / 3, {"orders": 2.0}, {"orders": -0.5}),
         (1, "night owls", "order late", 1, 1 / 3, {"orders": 5.0}, {"orders": 0.5})],
        "segment_id int, segment_name string, description string, size bigint, share double, "
        "centroid map<string,double>, centroid_z map<string,double>")
    return {"gold.customer_segments": segments, "gold.segment_profiles": profiles}


CHURN_ROWS = [("c1", 0.1, "low"), ("c2", 0.35, "medium"), ("c3", 0.9, "high")]


def _churn_rows(ctx: ScoreContext, rows):
    from pyspark.sql import functions as F

    day = dt.date.fromisoformat(ctx.asof.date)
    frame = ctx.spark.createDataFrame([(day, c, s, b) for c, s, b in rows],
                                      "as_of_date date, customer_id string, churn_score double, risk_band string")
    drivers = F.array(F.struct(F.lit("recency_days").alias("feature"), F.lit(40.0).alias("value"),
                               F.lit(0.8).alias("contribution"))).cast(f"array<{DRIVER}>")
    return {"gold.churn_risk": frame.select("*", F.lit("recency_days").alias("main_drivers"), drivers.alias("drivers"))}


def _churn(ctx, model):
    return _churn_rows(ctx, CHURN_ROWS)


def _churn_duplicate(ctx, model):
    return _churn_rows(ctx, [*CHURN_ROWS, ("c2", 0.4, "medium")])


def _churn_out_of_range(ctx, model):
    return _churn_rows(ctx, [("c1", 0.1, "low"), ("c2", 1.5, "high"), ("c3", 0.9, "high")])


def _recommend(ctx: ScoreContext, model):
    rows = [("c1", "guess_you_like", 1, "p1", 0.9, "tofu", "fresh", "soy", None, None),
            ("c1", "guess_you_like", 2, "p2", 0.5, "leek", "fresh", "veg", None, None),
            ("c1", "buy_again", 1, "p3", 1.4, "eggs", "fresh", "eggs", 7.0, 9),
            ("c2", "guess_you_like", 1, "p1", 0.7, "tofu", "fresh", "soy", None, None)]
    return {"gold.recommendations": ctx.spark.createDataFrame(
        rows, "customer_id string, kind string, rank int, product_id string, score double, product_name string, "
              "category_l1 string, category_l2 string, cycle_days double, days_since_last int")}


def _basket(ctx: ScoreContext, model):
    day = dt.date.fromisoformat(ctx.asof.date)
    rows = [(day, "0123456789abcdef", ["p1"], ["p2"], 1, 1, 0.4, 0.3, 0.2, 0.5, 5 / 3, 0.08, 1.4, "product_id", CUTOFF),
            (day, "fedcba9876543210", ["p2"], ["p1"], 1, 1, 0.3, 0.4, 0.2, 2 / 3, 5 / 3, 0.08, 1.8, "product_id",
             CUTOFF)]
    return {"gold.basket_rules": ctx.spark.createDataFrame(
        rows, "as_of_date date, rule_id string, antecedent array<string>, consequent array<string>, "
              "antecedent_size int, consequent_size int, antecedent_support double, consequent_support double, "
              "support double, confidence double, lift double, leverage double, conviction double, "
              "item_level string, mined_as_of date")}


def _demand(ctx: ScoreContext, model):
    day = dt.date.fromisoformat(ctx.asof.date)
    nxt = day + dt.timedelta(days=1)
    forecast = ctx.spark.createDataFrame(
        [(nxt, 1, "p1", "west", "all", "fresh", "soy", 10.0, 8.0, "gbt"),
         (nxt, 1, "p1", "west", "Gold", "fresh", "soy", 6.0, None, "gbt"),
         (nxt, 1, "p1", "west", "Silver", "fresh", "soy", 4.0, None, "gbt")],
        "date date, horizon_days int, product_id string, region string, tier string, category_l1 string, "
        "category_l2 string, forecast_qty double, baseline_qty double, method string")
    replenishment = ctx.spark.createDataFrame(
        [(day, "w1", "p1", "fresh", "soy", "chilled", 5, day, 12, 2, 10.0, 2, 7, 10.0, 20.0, 90.0, 2.0, 5.8, 95.8,
          50.0, 86, False, 1.0),
         (day, "w2", "p1", "fresh", "soy", "chilled", 5, day, 0, 0, 0.0, 2, 7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
          None, 0, False, None)],
        "as_of_date date, warehouse_id string, product_id string, category_l1 string, category_l2 string, "
        "storage_type string, shelf_life_days int, snapshot_date date, on_hand_qty bigint, expiring_qty bigint, "
        "usable_on_hand_qty double, lead_time_days int, review_days int, forecast_daily_avg double, "
        "forecast_lead_qty double, forecast_cover_qty double, demand_sd double, safety_stock_qty double, "
        "target_qty double, shelf_life_cap_qty double, suggested_qty bigint, capped_by_shelf_life boolean, "
        "days_of_cover double")
    return {"gold.demand_forecast": forecast, "gold.replenishment": replenishment}


def _price_sensitivity(ctx: ScoreContext, model):
    return {"gold.price_sensitivity_scores": ctx.spark.createDataFrame(
        [("c1", 0.4, "low", 12), ("c2", 1.0, "medium", 30), ("c3", 2.1, "high", 0)],
        "customer_id string, score double, band string, n_observations bigint")}


SCORES = {"segmentation": _segmentation, "churn": _churn, "recommend": _recommend, "basket": _basket,
          "demand": _demand, "price_sensitivity": _price_sensitivity}
GOLD_TABLES = {"segmentation": ("gold.customer_segments", "gold.segment_profiles"), "churn": ("gold.churn_risk",),
               "recommend": ("gold.recommendations",), "basket": ("gold.basket_rules",),
               "demand": ("gold.demand_forecast", "gold.replenishment"),
               "price_sensitivity": ("gold.price_sensitivity_scores",)}  # as the real specs declare them
SPECS = [ModelSpec(name=name, description=f"{name} stand-in (test)", train=_train, score=score,
                   gold_tables=GOLD_TABLES[name]) for name, score in SCORES.items()]
CHURN = SPECS[1]

SUITES = [  # (suite, table, expectations) in the order the runner records them
    ("gold_customer_segments", "gold.customer_segments", 9),
    ("gold_segment_profiles", "gold.segment_profiles", 10),
    ("gold_churn_risk", "gold.churn_risk", 10),
    ("gold_recommendations", "gold.recommendations", 11),
    ("gold_basket_rules", "gold.basket_rules", 12),
    ("gold_demand_forecast", "gold.demand_forecast", 12),
    ("gold_replenishment", "gold.replenishment", 11),
    ("gold_price_sensitivity_scores", "gold.price_sensitivity_scores", 9),
]
TABLES = [t for _, t, _ in SUITES]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, spark, settings):
    """Its own root (MLflow store, silver.customers, gold tables, GX context) with the six champions
    trained and DAY scored."""
    root = tmp_path_factory.mktemp("score_checks")
    lab_settings = settings.with_overrides(root=str(root), state_dir=root,
                                           mlflow_tracking_uri=f"sqlite:///{root}/mlflow/mlflow.db")
    own = [*TABLES, runner.MODEL_SCORES, runner.CHECK_RESULTS, "silver.customers", "gold.customer_profile"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "_REGISTERED", catalog._REGISTERED | {(id(spark), str(root), t) for t in own})
        start = dt.datetime(2025, 1, 1)
        customers = spark.createDataFrame([(c, start, None, True, "h") for c in CUSTOMERS],
                                          "customer_id string, valid_from timestamp, valid_to timestamp, "
                                          "is_current boolean, attrs_hash string")
        catalog.overwrite(customers, spark, lab_settings, "silver.customers")
        trained = runner.train_one(spark, lab_settings, CHURN, CUTOFF)
        client = mlflow_utils.configure(lab_settings)
        for spec in SPECS:  # the same champion under each other name (one model logged, not six)
            if spec is not CHURN:
                copy = client.copy_model_version(f"models:/{CHURN.registered_name}/{trained.version}",
                                                 spec.registered_name)
                client.set_registered_model_alias(spec.registered_name, "champion", copy.version)
        outcomes = runner.score(spark, lab_settings, SPECS, DAY, log=lambda _: None)
        yield lab_settings, outcomes


def _checks(spark, lab_settings, day: str) -> list[tuple]:
    rows = (catalog.read(spark, lab_settings, runner.CHECK_RESULTS).filter(f"run_id = 'score_{day}'")
            .orderBy("position").collect())
    return [(r.position, r.suite, r.table, r.expectation, r.column, r.severity, r.success, r.unexpected_count)
            for r in rows]


def _per_suite(checks: list[tuple]) -> list[tuple]:
    out: dict[tuple, list] = {}
    for _, suite, table, *_rest, success, _ in checks:
        out.setdefault((suite, table), []).append(success)
    return [(suite, table, len(s), all(s)) for (suite, table), s in out.items()]


def _slice(spark, lab_settings, table: str, day: str) -> list[tuple]:
    rows = catalog.read(spark, lab_settings, table).filter(f"as_of_date = '{day}'")
    return sorted(tuple(r) for r in rows.drop("drivers").collect())


def test_scoring_records_every_model_table_suite(lab, spark):
    lab_settings, outcomes = lab
    assert [(o.name, o.version, o.tables) for o in outcomes] == [
        ("segmentation", 1, {"gold.customer_segments": 3, "gold.segment_profiles": 2}),
        ("churn", 1, {"gold.churn_risk": 3}),
        ("recommend", 1, {"gold.recommendations": 4}),
        ("basket", 1, {"gold.basket_rules": 2}),
        ("demand", 1, {"gold.demand_forecast": 3, "gold.replenishment": 2}),
        ("price_sensitivity", 1, {"gold.price_sensitivity_scores": 3}),
    ]
    checks = _checks(spark, lab_settings, DAY)
    assert _per_suite(checks) == [(s, t, n, True) for s, t, n in SUITES]
    assert [c[0] for c in checks] == list(range(84))
    churn = [c[3:7] for c in checks if c[1] == "gold_churn_risk"]
    assert churn == [
        ("expect_column_values_to_not_be_null", "customer_id", "critical", True),
        ("expect_column_values_to_be_unique", "customer_id", "critical", True),
        ("expect_column_values_to_not_be_null", "churn_score", "critical", True),
        ("expect_column_values_to_be_between", "churn_score", "critical", True),
        ("expect_column_values_to_not_be_null", "risk_band", "critical", True),
        ("expect_column_values_to_be_in_set", "risk_band", "critical", True),
        ("expect_column_values_to_be_between", "model_version", "critical", True),
        ("expect_table_row_count_to_be_between", None, "critical", True),
        ("expect_table_row_count_to_be_between", None, "warning", True),
        ("expect_column_values_to_not_be_null", "main_drivers", "warning", True),
    ]
    counts = (catalog.read(spark, lab_settings, runner.CHECK_RESULTS)
              .filter("run_id = 'score_2025-04-01' AND suite = 'gold_churn_risk' AND severity = 'critical' "
                      "AND expectation = 'expect_table_row_count_to_be_between'").first())
    assert (counts.observed_value, '"max_value": 4' in counts.details) == ("3", True)  # 3 rows, 4 customers known


def _gold_ran(spark, lab_settings, day: str) -> None:
    """What `verify` also reads of a gold run: one recorded check and a customer_profile slice."""
    from expectations.runner import RESULT_ROW_SCHEMA

    gold_row = {"suite": "gold_customer_profile", "table": "gold.customer_profile", "run_id": f"gold_{day}",
                "expectation": "expect_column_values_to_not_be_null", "column": "customer_id", "severity": "critical",
                "success": True, "unexpected_count": 0, "unexpected_percent": 0.0, "observed_value": None,
                "partial_unexpected_list": "[]", "details": "{}", "position": 0}
    catalog.replace_where(spark.createDataFrame([gold_row], f"{RESULT_ROW_SCHEMA}, position int"), spark,
                          lab_settings, runner.CHECK_RESULTS, f"run_id = 'gold_{day}'")
    profile = spark.createDataFrame([(dt.date.fromisoformat(day), c) for c in CUSTOMERS],
                                    "as_of_date date, customer_id string")
    catalog.replace_where(profile, spark, lab_settings, "gold.customer_profile", f"as_of_date = '{day}'")


def test_verify_counts_the_score_checks(lab, spark):
    from habitlake.commands.airflow import verify

    lab_settings, _ = lab
    _gold_ran(spark, lab_settings, DAY)
    assert verify(lab_settings, "gold", DAY) == {
        "run_id": f"gold_{DAY}", "suites": 9, "expectations": 85, "passed": 85, "warnings_failed": 0,
        "critical_failed": 0, "score_expectations": 84, "failed": [], "profile_customers": 4,
    }


def test_rescoring_a_model_replaces_only_its_own_check_rows(lab, spark):
    lab_settings, _ = lab
    before = _checks(spark, lab_settings, DAY)
    [again] = runner.score(spark, lab_settings, [CHURN], DAY, log=lambda _: None)
    after = _checks(spark, lab_settings, DAY)
    assert again.tables == {"gold.churn_risk": 3}
    assert len(after) == 84
    key = [c[1:] for c in before]  # without position: churn's 10 rows move to the end
    assert sorted(c[1:] for c in after) == sorted(key)
    assert [c[1] for c in after[-10:]] == ["gold_churn_risk"] * 10


@pytest.fixture(scope="module")
def other_day(lab, spark):
    """A good churn run of OTHER_DAY, before the broken ones."""
    [outcome] = runner.score(spark, lab[0], [CHURN], OTHER_DAY, log=lambda _: None)
    assert outcome.tables == {"gold.churn_risk": 3}


@pytest.mark.parametrize("broken, message, unexpected", [
    (_churn_duplicate,
     "churn: data check failed for gold.churn_risk (suite gold_churn_risk, run score_2025-04-02): "
     "expect_column_values_to_be_unique(customer_id): 2 of 4 rows (50.0%) unexpected, e.g. ['c2']",
     ("expect_column_values_to_be_unique", "customer_id", 2)),
    (_churn_out_of_range,
     "churn: data check failed for gold.churn_risk (suite gold_churn_risk, run score_2025-04-02): "
     "expect_column_values_to_be_between(churn_score): 1 of 3 rows (33.3%) unexpected, e.g. [1.5]",
     ("expect_column_values_to_be_between", "churn_score", 1)),
])
def test_a_critical_failure_stops_the_write(lab, other_day, spark, broken, message, unexpected):
    from habitlake.commands.airflow import ChecksFailed, verify

    lab_settings, _ = lab
    table = _slice(spark, lab_settings, "gold.churn_risk", OTHER_DAY)
    scores = _slice(spark, lab_settings, runner.MODEL_SCORES, OTHER_DAY)
    bad = dataclasses.replace(CHURN, score=broken)
    with pytest.raises(runner.ScoreCheckFailed) as failed:
        runner.score(spark, lab_settings, [bad], OTHER_DAY, log=lambda _: None)
    text = str(failed.value)
    assert text.startswith(message), text
    assert text.endswith("; nothing of churn was written")
    assert _slice(spark, lab_settings, "gold.churn_risk", OTHER_DAY) == table
    assert _slice(spark, lab_settings, runner.MODEL_SCORES, OTHER_DAY) == scores
    checks = _checks(spark, lab_settings, OTHER_DAY)
    assert len(checks) == 10
    assert [c[3:5] + c[7:] for c in checks if not c[6]] == [unexpected]
    _gold_ran(spark, lab_settings, OTHER_DAY)  # the DAG's gold_checks task then fails on it
    expectation, column, count = unexpected
    with pytest.raises(ChecksFailed, match=rf"critical check failed: gold.churn_risk: {expectation}\({column}\) "
                                           rf"\[critical\] {count} unexpected"):
        verify(lab_settings, "gold", OTHER_DAY)
