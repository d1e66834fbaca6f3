"""The model runner against a real MLflow store (a sqlite file under tmp_path) and real Delta tables.

A small real model stands in for the habitlake models: a Spark ML logistic regression on one
feature `x`, trained on six hand-made rows (learned weight ~1.10, so P(y=1 | x) is 0.10 at x=-2,
0.37 at x=-0.5, 0.63 at x=0.5, 0.90 at x=2). Its `threshold` param moves its accuracy on a 4-row
held-out set, so versions that are worse, equal or better than the champion can be made on purpose:

| eval set | rows (x, label)                     | threshold 0.99 | 0.8  | 0.5  | 0.2  |
|----------|-------------------------------------|----------------|------|------|------|
| a        | (-2,0) (-0.5,0) (0.5,1) (2,1)       | 0.5            | 0.75 | 1.0  | 0.75 |
| b        | (-2,0) (-0.5,1) (0.5,1) (2,1)       | 0.25           | 0.5  | 0.75 | 1.0  |

Training sequence (one store, module fixture), with the champion after each step:

1. threshold 0.8 on a -> 0.75: first version, champion v1
2. threshold 0.99 on a -> 0.5: worse than v1's 0.75 -> stays challenger, champion v1
3. threshold 0.5 on a -> 1.0: better than 0.75 -> champion v3, no challenger
4. threshold 0.8 on b -> 0.5: other eval data; v3 re-evaluated on b = 0.75 -> challenger v4
5. threshold 0.2 on b -> 1.0: v3 re-evaluated on b = 0.75 -> champion v5 (though v3 logged 1.0 on a)
6. step 5 again, same seed -> identical metrics; a tie keeps the champion -> challenger v6
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest

from habitlake import catalog
from habitlake.net import free_port
from models import runner
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult

CUTOFF = dt.date(2025, 3, 31)
SCORE_DATE = "2025-04-01"
SEED = 7
TRAIN_ROWS = [(-3.0, 0.0), (-2.0, 0.0), (-1.0, 0.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]
EVAL_SETS = {
    "a": [(-2.0, 0.0), (-0.5, 0.0), (0.5, 1.0), (2.0, 1.0)],
    "b": [(-2.0, 0.0), (-0.5, 1.0), (0.5, 1.0), (2.0, 1.0)],
}
CUSTOMERS = [(101, -2.0), (102, 0.5), (103, 2.0)]  # scored as of SCORE_DATE
REG_PARAM = 0.03
TABLE = "gold.churn_risk"  # any gold table: written under this test's own root
STEPS = [  # (threshold, eval set)
    (0.8, "a"), (0.99, "a"), (0.5, "a"), (0.8, "b"), (0.2, "b"), (0.2, "b"),
]


# --- the test model: pure functions, no MLflow -----------------------------------------------------

def _frame(spark, rows):
    return spark.createDataFrame(rows, "x double, label double")


def _accuracy(model, frame) -> float:
    from pyspark.sql import functions as F

    scored = model.transform(frame)
    return scored.agg(F.avg((F.col("prediction") == F.col("label")).cast("double"))).first()[0]


def _train(ctx: TrainContext) -> TrainResult:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    threshold = float(ctx.params.get("threshold", 0.5))
    eval_set = ctx.params.get("eval_set", "a")
    params = {"threshold": threshold, "eval_set": eval_set, "reg_param": REG_PARAM}
    lr = LogisticRegression(regParam=REG_PARAM, threshold=threshold)
    model = Pipeline(stages=[VectorAssembler(inputCols=["x"], outputCol="features"), lr]).fit(
        _frame(ctx.spark, TRAIN_ROWS))
    held_out = _frame(ctx.spark, EVAL_SETS[eval_set])
    scored = model.transform(held_out).select("x", "label", "prediction").toPandas()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.scatter(scored["x"], scored["prediction"])
    return TrainResult(
        model=model,
        params=params,
        metrics={"accuracy": _accuracy(model, held_out), "eval_rows": float(len(EVAL_SETS[eval_set]))},
        primary_metric="accuracy",
        flavor="spark",
        input_example=pd.DataFrame({"x": [-1.0, 1.0]}),
        figures={"predictions.png": fig},
        tables={"eval_predictions.json": scored},
        eval_fingerprint=f"eval-{eval_set}",
        champion_metric=lambda champion: _accuracy(champion, held_out),
    )


def _score(ctx: ScoreContext, model):
    from pyspark.sql import functions as F

    customers = ctx.spark.createDataFrame(CUSTOMERS, "customer_id long, x double")
    return {TABLE: model.transform(customers).select("customer_id", F.col("prediction").alias("churn_flag"))}


SPEC = ModelSpec(name="runner_test", description="logistic regression on one feature (test)", train=_train,
                 score=_score, gold_tables=(TABLE,))


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory, spark, settings):
    """A root of its own (MLflow store, artifacts, gold tables) with the six training steps done.
    Its tables are not registered in the session's shared metastore (another root owns those names)."""
    root = tmp_path_factory.mktemp("runner")
    lab_settings = settings.with_overrides(root=str(root), state_dir=root,
                                           mlflow_tracking_uri=f"sqlite:///{root}/mlflow/mlflow.db")
    with pytest.MonkeyPatch.context() as patch:
        unregistered = {(id(spark), str(root), t) for t in (TABLE, runner.MODEL_SCORES, "silver.orders")}
        patch.setattr(catalog, "_REGISTERED", catalog._REGISTERED | unregistered)
        outcomes = [
            runner.train_one(spark, lab_settings, SPEC, CUTOFF, SEED, {"threshold": t, "eval_set": e})
            for t, e in STEPS
        ]
        yield lab_settings, outcomes


@pytest.fixture(scope="module")
def client(lab):
    from models import mlflow_utils

    return mlflow_utils.configure(lab[0])


def _aliases(client) -> dict[str, int]:
    model = client.get_registered_model("habitlake_runner_test")
    return {alias: int(version) for alias, version in model.aliases.items()}


# --- training, logging, registration ------------------------------------------------------------

def test_each_step_metrics_and_decisions(lab):
    _, outcomes = lab
    got = [(o.version, o.metrics["accuracy"], o.decision.promoted, o.decision.champion_version,
            o.decision.champion_value) for o in outcomes]
    assert got == [
        (1, 0.75, True, None, None),      # first version becomes champion
        (2, 0.5, False, 1, 0.75),         # worse: stays challenger
        (3, 1.0, True, 1, 0.75),          # better: promoted
        (4, 0.5, False, 3, 0.75),         # other eval data: champion v3 re-evaluated on it
        (5, 1.0, True, 3, 0.75),          # beats the re-evaluated champion (v3 logged 1.0 on set a)
        (6, 1.0, False, 5, 1.0),          # same seed, same data: same metrics; a tie keeps the champion
    ]
    assert [o.decision.reason for o in outcomes] == [
        "first version",
        "not better (higher is better), same evaluation data",
        "better (higher is better), same evaluation data",
        "not better (higher is better), champion re-evaluated on this evaluation data",
        "better (higher is better), champion re-evaluated on this evaluation data",
        "not better (higher is better), same evaluation data",
    ]


def test_same_seed_same_metrics(lab):
    _, outcomes = lab
    assert outcomes[4].metrics == outcomes[5].metrics == {"accuracy": 1.0, "eval_rows": 4.0}


def test_aliases_after_the_sequence(lab, client):
    assert _aliases(client) == {"champion": 5, "challenger": 6}


def test_decision_recorded_on_version_and_run(lab, client):
    _, outcomes = lab
    version = client.get_model_version("habitlake_runner_test", "2")
    run = client.get_run(outcomes[1].run_id)
    keys = ("habitlake.decision", "habitlake.decision_reason", "habitlake.challenger_metric",
            "habitlake.champion_metric", "habitlake.champion_version")
    for tags in (version.tags, run.data.tags):
        assert {k: tags.get(k) for k in keys} == {
            "habitlake.decision": "kept",
            "habitlake.decision_reason": "not better (higher is better), same evaluation data",
            "habitlake.challenger_metric": "0.5",
            "habitlake.champion_metric": "0.75",
            "habitlake.champion_version": "1",
        }


def test_run_has_experiment_params_metrics_png_and_table(lab, client):
    from mlflow.artifacts import download_artifacts

    lab_settings, outcomes = lab
    experiment = client.get_experiment_by_name("habitlake_runner_test")
    assert experiment.artifact_location == (lab_settings.state_dir / "mlflow" / "artifacts"
                                            / "habitlake_runner_test").as_uri()
    run = client.get_run(outcomes[0].run_id)
    assert run.info.experiment_id == experiment.experiment_id
    assert run.data.params == {"cutoff": "2025-03-31", "seed": "7", "threshold": "0.8", "eval_set": "a",
                               "reg_param": "0.03"}
    assert run.data.metrics == {"accuracy": 0.75, "eval_rows": 4.0}
    assert [a.path for a in client.list_artifacts(run.info.run_id, "figures")] == ["figures/predictions.png"]
    png = download_artifacts(run_id=run.info.run_id, artifact_path="figures/predictions.png",
                             tracking_uri=lab_settings.mlflow_tracking_uri)
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    table = download_artifacts(run_id=run.info.run_id, artifact_path="tables/eval_predictions.json",
                               tracking_uri=lab_settings.mlflow_tracking_uri)
    with open(table, encoding="utf-8") as fh:
        logged = json.load(fh)
    assert logged["columns"] == ["x", "label", "prediction"]
    assert logged["data"] == [[-2.0, 0.0, 0.0], [-0.5, 0.0, 0.0], [0.5, 1.0, 0.0], [2.0, 1.0, 1.0]]


def test_registered_version_has_signature_and_example(lab):
    import mlflow.models

    info = mlflow.models.get_model_info("models:/habitlake_runner_test/1")
    assert info.signature.inputs.to_dict() == [{"type": "double", "name": "x", "required": True}]
    assert info.signature.outputs.to_dict() == [{"type": "double", "name": "prediction", "required": True}]
    assert info.flavors["spark"]["pyspark_version"]
    assert info.saved_input_example_info["type"] == "dataframe"


def test_no_comparison_possible_keeps_the_champion(lab, client):
    """A model evaluated on other data that cannot re-evaluate the champion is not promoted."""
    better = TrainResult(model=None, params={}, metrics={"accuracy": 1.0}, primary_metric="accuracy",
                         eval_fingerprint="eval-c")
    decision = runner.decide(client, "habitlake_runner_test", better)
    assert (decision.promoted, decision.champion_version, decision.champion_value, decision.reason) == (
        False, 5, None, "champion was evaluated on other data and the model cannot re-evaluate it")


# --- a pyfunc model: any picklable Python object --------------------------------------------------

@dataclass(frozen=True)
class Cut:
    """A rule model: label 1 above a cut on x."""

    cut: float

    def predict(self, frame):
        return (frame["x"] > self.cut).astype("float64")


def _train_rule(ctx: TrainContext) -> TrainResult:
    import pandas as pd

    model = Cut(float(ctx.params.get("cut", 0.0)))
    held_out = pd.DataFrame(EVAL_SETS["a"], columns=["x", "label"])
    accuracy = float((model.predict(held_out) == held_out["label"]).mean())
    return TrainResult(model=model, params={"cut": model.cut}, metrics={"accuracy": accuracy},
                       primary_metric="accuracy", flavor="pyfunc", input_example=pd.DataFrame({"x": [-1.0, 1.0]}),
                       eval_fingerprint="eval-a")


RULE_SPEC = ModelSpec(name="runner_rule", description="a cut on x (test)", train=_train_rule)


def test_pyfunc_model_round_trip(lab, spark):
    import mlflow.models

    from models import mlflow_utils

    lab_settings, _ = lab
    outcome = runner.train_one(spark, lab_settings, RULE_SPEC, CUTOFF, SEED, {"cut": 1.0})
    assert (outcome.version, outcome.metrics, outcome.decision.promoted) == (1, {"accuracy": 0.75}, True)
    loaded = mlflow_utils.load_model("models:/habitlake_runner_rule@champion", "pyfunc")
    assert loaded == Cut(1.0)  # the object train() returned, not a wrapper
    info = mlflow.models.get_model_info("models:/habitlake_runner_rule/1")
    assert info.signature.inputs.to_dict() == [{"type": "double", "name": "x", "required": True}]
    assert info.signature.outputs.to_dict() == [{"type": "double", "name": "x", "required": True}]  # the Series predict() returns


# --- scoring ------------------------------------------------------------------------------------

def test_score_writes_champion_rows_and_model_scores(lab, spark):
    from pyspark.sql import functions as F

    lab_settings, _ = lab
    first = runner.score(spark, lab_settings, [SPEC], SCORE_DATE, log=lambda _: None)
    again = runner.score(spark, lab_settings, [SPEC], SCORE_DATE, log=lambda _: None)  # replaces the slice
    assert [(o.version, o.tables) for o in first + again] == [(5, {TABLE: 3}), (5, {TABLE: 3})]
    rows = (catalog.read(spark, lab_settings, TABLE).orderBy("customer_id")
            .select(F.col("as_of_date").cast("string"), "customer_id", "churn_flag", "model_name", "model_version")
            .collect())
    # champion v5 has threshold 0.2: P(y=1) is 0.10 at x=-2, 0.63 at 0.5, 0.90 at 2
    assert [tuple(r) for r in rows] == [
        ("2025-04-01", 101, 0.0, "habitlake_runner_test", 5),
        ("2025-04-01", 102, 1.0, "habitlake_runner_test", 5),
        ("2025-04-01", 103, 1.0, "habitlake_runner_test", 5),
    ]
    scores = catalog.read(spark, lab_settings, runner.MODEL_SCORES).collect()
    assert [(str(r.as_of_date), r.model_name, r.model_version, r.run_id, r.tables, r.rows) for r in scores] == [
        ("2025-04-01", "habitlake_runner_test", 5, lab[1][4].run_id, [TABLE], 3)]
    assert scores[0].seconds > 0


def test_score_champions_scores_only_the_models_that_have_one(lab, spark, capsys, monkeypatch):
    """`habitlake score --date D --champions` (the daily step): a model with no champion yet is
    named and left out; with none at all the step is skipped, not failed. Without the option a
    model with no champion is a failure."""
    from habitlake.cli import build_parser
    from habitlake.commands import models as command

    lab_settings, _ = lab
    churn = runner.discover(["churn"])[0].spec  # a known model, never trained in this store
    monkeypatch.setattr(command, "_spark", lambda settings, name: spark)

    def score(specs, *extra) -> tuple[int, str]:
        monkeypatch.setattr(command, "_available", lambda names: list(specs))
        args = build_parser().parse_args(["score", "--date", SCORE_DATE, *extra])
        capsys.readouterr()
        rc = args.func(args, lab_settings)
        return rc, capsys.readouterr().out

    rc, out = score([SPEC, churn], "--champions")
    assert rc == 0
    assert out.splitlines()[:2] == ["not scored, no champion yet: churn", f"scoring runner_test as of {SCORE_DATE}"]
    assert catalog.read(spark, lab_settings, TABLE).groupBy("model_version").count().collect() == [(5, 3)]
    assert score([churn], "--champions") == (0, command.NO_CHAMPION + "\n")
    assert score([churn])[0] == 1


def test_default_cutoff_is_the_latest_order_date(lab, spark):
    lab_settings, _ = lab
    orders = spark.createDataFrame([("o1", dt.date(2025, 3, 30)), ("o2", dt.date(2025, 4, 2))],
                                   "order_id string, order_date date")
    catalog.overwrite(orders, spark, lab_settings, "silver.orders")
    assert runner.default_cutoff(spark, lab_settings) == dt.date(2025, 4, 2)


# --- discovery ----------------------------------------------------------------------------------

def test_missing_spec_is_not_available(monkeypatch):
    monkeypatch.setattr(runner, "KNOWN_MODELS", (*runner.KNOWN_MODELS, "not_written_yet"))
    [found] = runner.discover(["not_written_yet"])
    assert (found.spec, found.reason) == (None, "not available: models/not_written_yet/spec.py does not exist yet")
    with pytest.raises(ValueError, match="unknown model"):
        runner.discover(["no_such_model"])


# --- the CLI and the UI on the same store ---------------------------------------------------------

def _env(lab_settings) -> dict[str, str]:
    return {**os.environ, "HABITLAKE_HOME": lab_settings.root, "MLFLOW_TRACKING_URI": lab_settings.mlflow_tracking_uri}


def test_models_json(lab, capsys):
    from habitlake.cli import build_parser

    lab_settings, outcomes = lab
    args = build_parser().parse_args(["models", "--format", "json"])
    capsys.readouterr()
    assert args.func(args, lab_settings) == 0
    entries = {e["model"]: e for e in json.loads(capsys.readouterr().out)}
    assert set(runner.KNOWN_MODELS) <= set(entries)
    assert all(entries[n]["champion"] is None for n in runner.KNOWN_MODELS)  # nothing else trained here

    def version(n, decision, reason):
        return {"version": n, "run_id": outcomes[n - 1].run_id, "cutoff": "2025-03-31", "seed": 7,
                "primary_metric": "accuracy", "higher_is_better": True,
                "metrics": {"accuracy": 1.0, "eval_rows": 4.0}, "decision": decision, "decision_reason": reason}

    assert entries["runner_test"] == {
        "model": "runner_test", "registered_model": "habitlake_runner_test",
        "status": "ready (not a known model)", "description": "", "versions": 6,
        "champion": version(5, "promoted", "better (higher is better), champion re-evaluated on this evaluation data"),
        "challenger": version(6, "kept", "not better (higher is better), same evaluation data"),
    }


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_mlflow_ui_serves_the_store(lab):
    lab_settings, _ = lab
    port = free_port()
    log = open(lab_settings.state_dir / "mlflow_ui.log", "wb")  # a file, so a chatty server never blocks on a pipe
    server = subprocess.Popen([sys.executable, "-m", "habitlake.cli", "mlflow", "ui", "--port", str(port)],
                              env=_env(lab_settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                status, page = _get(f"{base}/")
                break
            except OSError:
                assert server.poll() is None, (lab_settings.state_dir / "mlflow_ui.log").read_text(errors="replace")
                assert time.monotonic() < deadline, "the MLflow UI did not answer within 300 s"
                time.sleep(1)
        assert status == 200 and b"<title>MLflow</title>" in page
        status, body = _get(f"{base}/api/2.0/mlflow/registered-models/search")
        models = json.loads(body)["registered_models"]
        assert status == 200
        aliases = {m["name"]: sorted((a["alias"], a["version"]) for a in m.get("aliases", [])) for m in models}
        assert aliases["habitlake_runner_test"] == [("challenger", "6"), ("champion", "5")]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
