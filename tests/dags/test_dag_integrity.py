"""DAG integrity: the DagBag loads `dags/` with no import errors, every DAG has tags, retries and the
failure record on every task, the daily chain is in the documented order, the weekly training waits
on the daily DAG's asset, and parsing the DAG files does no heavy imports (no Spark, MLflow, jobs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from habitlake.commands.airflow import DAGS_DIR

HEAVY = ("pyspark", "mlflow", "great_expectations", "deltalake", "jobs", "models", "habitlake.spark",
         "habitlake.cli")

PROBE = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag()
out = {"errors": {k: v[-300:] for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tags": sorted(dag.tags), "catchup": dag.catchup, "max_active_runs": dag.max_active_runs,
        "timetable": type(dag.timetable).__name__, "summary": getattr(dag.timetable, "expression", None),
        "doc": bool(dag.doc_md),
        "tasks": [{"id": t.task_id, "retries": t.retries, "downstream": sorted(t.downstream_task_ids),
                   "callbacks": [f"{c.__module__}.{c.__name__}" for c in (t.on_failure_callback or [])]
                                if isinstance(t.on_failure_callback, list)
                                else [f"{t.on_failure_callback.__module__}.{t.on_failure_callback.__name__}"],
                   "outlets": sorted(a.name for a in t.outlets)}
                  for t in dag.topological_sort()],
    }
    if dag.timetable.__class__.__name__ == "AssetTriggeredTimetable":
        out["dags"][dag_id]["assets"] = sorted(a.name for a in dag.timetable.asset_condition.objects)
out["heavy"] = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY_ROOTS or m in HEAVY_FULL)
print("PROBE " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/a.db"}
    roots = sorted({h for h in HEAVY if "." not in h})
    full = sorted({h for h in HEAVY if "." in h})
    code = f"HEAVY_ROOTS = {roots!r}\nHEAVY_FULL = {full!r}\n" + PROBE
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                          cwd=home)
    line = next((l for l in done.stdout.splitlines() if l.startswith("PROBE ")), None)
    assert line, done.stderr[-3000:]
    return json.loads(line[len("PROBE "):])


def test_dagbag_has_both_dags_and_no_import_errors(parsed):
    assert parsed["errors"] == {}
    assert sorted(parsed["dags"]) == ["habitlake_daily", "habitlake_weekly_training"]


def test_parsing_the_dags_imports_nothing_heavy(parsed):
    assert parsed["heavy"] == []


@pytest.mark.parametrize("dag_id", ["habitlake_daily", "habitlake_weekly_training"])
def test_every_dag_has_tags_doc_retries_and_the_failure_record(parsed, dag_id):
    dag = parsed["dags"][dag_id]
    assert "habitlake" in dag["tags"]
    assert dag["doc"] and dag["catchup"] is False and dag["max_active_runs"] == 1
    for task in dag["tasks"]:
        assert task["retries"] == 2, task["id"]
        assert task["callbacks"] == ["habitlake.launch.record_failure"], task["id"]


def test_daily_dag_runs_the_layers_in_order_once_a_day(parsed):
    dag = parsed["dags"]["habitlake_daily"]
    assert dag["timetable"] == "CronDataIntervalTimetable" and dag["summary"] == "0 0 * * *"
    order = ["ingest", "silver", "data_checks", "gold", "score", "gold_checks", "publish", "week_complete",
             "close_week"]
    assert [t["id"] for t in dag["tasks"]] == order
    for task, nxt in zip(dag["tasks"], order[1:] + [None]):
        assert task["downstream"] == ([nxt] if nxt else [])
    outlets = {t["id"]: t["outlets"] for t in dag["tasks"] if t["outlets"]}
    assert outlets == {"ingest": ["habitlake_bronze"], "silver": ["habitlake_silver"], "gold": ["habitlake_gold"],
                       "close_week": ["habitlake_gold_week"]}


def test_weekly_training_is_scheduled_on_the_closed_week_asset(parsed):
    dag = parsed["dags"]["habitlake_weekly_training"]
    assert dag["timetable"] == "AssetTriggeredTimetable"
    assert dag["assets"] == ["habitlake_gold_week"]
    assert [t["id"] for t in dag["tasks"]] in (["cutoff", "list_models", "train", "review"],
                                              ["list_models", "cutoff", "train", "review"])
    assert {t["id"]: t["outlets"] for t in dag["tasks"] if t["outlets"]} == {"review": ["habitlake_models"]}


def test_dag_files_hold_no_business_logic():
    """Tasks only launch steps: every task body in the DAG files is a launch.* call or a one-liner."""
    for path in Path(DAGS_DIR).glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("import pyspark", "from pyspark", "import mlflow", "import pandas", "from jobs", "from models",
                       "spark.", "import subprocess"):
            assert banned not in text, f"{path.name}: {banned}"
