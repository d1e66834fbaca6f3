"""End to end: `airflow dags test habitlake_weekly_training` (real Airflow, real Spark, real Delta, real
MLflow) on a small generated retailer with silver and gold, retraining one model chosen with the
DAG's `models` param; the MLflow registry under the root afterwards.

200 customers x 42 days from Monday 2025-02-17 (seed 7), cutoff 2025-03-30 (a Sunday, the as-of
date a closed week would carry). Ingest and silver of the whole window and gold as of the cutoff are
prepared in one process; the DAG then runs with conf {"cutoff": "2025-03-30", "models":
["segmentation"]} in one process (HABITLAKE_RUNNER=local).

Why not basket as well: the DAG runs one model here to keep the test's time down; which models
run, and in what order, is the `models` param's business, covered in test_launch.py. (Basket used
to be impossible on a retailer this small: its min_support 0.002 was 0.45 of the 225 baskets it
mines, so every subset of every basket was frequent; the `min_count` floor, 5 baskets, fixed that.)

The other DAG-run checks here need no Spark: an unknown model name fails `list_models`.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow_runs import isolated_env, run_logged

from habitlake.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.long]

CLI = str(Path(sys.executable).parent / "habitlake")
START, DAYS, CUTOFF = "2025-02-17", 42, "2025-03-30"
TRAINED = ["segmentation"]
PRIMARY = {"segmentation": "silhouette"}
PREPARE = f"""
from habitlake.settings import Settings
from habitlake.spark import get_spark
from jobs.bronze import ingest
from jobs.gold import run as gold
from jobs.silver import run as silver
s = Settings.from_env()
spark = get_spark(s, "habitlake-test-prepare")
ingest.run(spark, s, "{START}", "{CUTOFF}")
silver.run(spark, s, "{START}", "{CUTOFF}", progress=None)
gold.run(spark, s, "{CUTOFF}", progress=None, checks=False)
"""



def _run(cmd: list[str], env: dict, log: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return run_logged(cmd, env, log, timeout)


def _env(root: Path) -> dict:
    return isolated_env(root, "2g")


@pytest.fixture(scope="module")
def weekly(tmp_path_factory):
    root = tmp_path_factory.mktemp("airflow_weekly")
    env = _env(root)
    logs = root / "test-logs"
    logs.mkdir()
    try:
        subprocess.run([CLI, "generate", "--customers", "200", "--days", str(DAYS), "--start", START, "--seed", "7",
                        "--quiet"], env=env, check=True, capture_output=True)
        # a script file, not `python -c`: pyspark.sql.connect (imported by GX) exits a `-c` process early
        (logs / "prepare.py").write_text(PREPARE + 'print("prepared", flush=True)\n')
        prep = _run([sys.executable, str(logs / "prepare.py")], env, logs / "prepare.log")
        assert prep.returncode == 0 and "prepared" in (logs / "prepare.log").read_text(), \
            (logs / "prepare.log").read_text()[-3000:]
        conf = json.dumps({"cutoff": CUTOFF, "models": TRAINED})
        done = _run([CLI, "airflow", "dags", "test", "-c", conf, "habitlake_weekly_training"], env,
                    logs / "weekly.log")
        yield SimpleNamespace(root=root, env=env, settings=Settings.from_env(env), done=done, logs=logs)
    finally:
        subprocess.run([CLI, "metastore", "stop"], env=env, capture_output=True)


def _task_states(db_path: Path) -> dict[tuple[str, int], str]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT task_id, map_index, state FROM task_instance "
                          "WHERE dag_id = 'habitlake_weekly_training'").fetchall()
    return {(task, index): state for task, index, state in rows}


def _xcom(db_path: Path, task: str, map_index: int = -1):
    with sqlite3.connect(db_path) as db:
        [(value,)] = db.execute("SELECT value FROM xcom WHERE dag_id = 'habitlake_weekly_training' AND task_id = ? "
                                "AND map_index = ? AND key = 'return_value'", (task, map_index)).fetchall()
    return json.loads(value)


def test_the_training_run_trains_the_chosen_models_and_reviews_them(weekly):
    assert weekly.done.returncode == 0, (weekly.logs / "weekly.log").read_text()[-6000:]
    db = weekly.settings.state_dir / "airflow" / "airflow.db"
    assert _task_states(db) == {("cutoff", -1): "success", ("list_models", -1): "success",
                                ("train", 0): "success", ("review", -1): "success"}
    assert _xcom(db, "cutoff") == CUTOFF
    assert _xcom(db, "list_models") == TRAINED
    assert _xcom(db, "review") == "champions: segmentation"
    for index, name in enumerate(TRAINED):
        assert _xcom(db, "train", index).startswith(f"habitlake train ok in ")


def test_each_trained_model_has_a_champion_with_its_metrics_in_the_registry(weekly):
    from mlflow import MlflowClient

    uri = weekly.settings.mlflow_tracking_uri
    assert uri == f"sqlite:///{weekly.root / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    registered = sorted(m.name for m in client.search_registered_models())
    assert registered == ["habitlake_segmentation"]  # the other five were not trained
    for name in TRAINED:
        versions = client.search_model_versions(f"name = 'habitlake_{name}'")
        assert [str(v.version) for v in versions] == ["1"]  # MLflow 3 gives int here, str by alias
        champion = client.get_model_version_by_alias(f"habitlake_{name}", "champion")
        assert str(champion.version) == "1"
        run = client.get_run(champion.run_id)
        tags, metrics = run.data.tags, run.data.metrics
        assert (tags["habitlake.model"], tags["habitlake.cutoff"], tags["habitlake.seed"]) == (name, CUTOFF, "42")
        assert tags["habitlake.primary_metric"] == PRIMARY[name]
        assert (tags["habitlake.decision"], tags["habitlake.decision_reason"]) == ("promoted", "first version")
        # the decision was taken on the logged primary metric
        assert float(tags["habitlake.challenger_metric"]) == metrics[PRIMARY[name]]
        assert champion.tags["habitlake.decision"] == "promoted"
        assert run.data.params["cutoff"] == CUTOFF
        assert [a.path for a in client.list_artifacts(run.info.run_id) if a.path == "model"] == ["model"]
        assert (weekly.root / "mlflow" / "artifacts" / f"habitlake_{name}").is_dir()


def test_segmentation_metrics_describe_the_chosen_k(weekly):
    from mlflow import MlflowClient

    uri = weekly.settings.mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(client.get_model_version_by_alias("habitlake_segmentation", "champion").run_id)
    metrics, params = run.data.metrics, run.data.params
    assert metrics["k"] == float(params["k"]) and 3 <= metrics["k"] <= 10  # the k range searched
    assert -1.0 <= metrics["silhouette"] <= 1.0 and -1.0 <= metrics["silhouette_train"] <= 1.0
    assert 0 < metrics["customers_train"] < 200


def test_an_unknown_model_fails_list_models_and_nothing_is_trained(tmp_path):
    env = _env(tmp_path)
    env["HABITLAKE_METASTORE_PORT"] = "1"  # nothing here may start a metastore
    conf = json.dumps({"models": ["segmentation", "astrology"]})
    done = subprocess.run([CLI, "airflow", "dags", "test", "-c", conf, "habitlake_weekly_training"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    states = _task_states(tmp_path / "airflow" / "airflow.db")
    assert states[("list_models", -1)] == "failed"
    assert states[("review", -1)] == "upstream_failed"
    assert not any(task == "train" and state == "success" for (task, _), state in states.items())
    [record] = [r for r in map(json.loads, (tmp_path / "airflow" / "failures.jsonl").read_text().splitlines())]
    assert record["task_id"] == "list_models"
    assert "models param: 'astrology' cannot be trained" in record["error"]
