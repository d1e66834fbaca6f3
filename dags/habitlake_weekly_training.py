"""
### habitlake_weekly_training

Retrains every model once a week, when the daily DAG has closed the week: scheduled on the
`habitlake_gold_week` asset (emitted by `habitlake_daily` on Sundays, carrying the as-of date), not
on a clock, so training never starts before that week's gold exists.

`list_models` (every model, or the `models` param's) -> `train` (one mapped task per model, one at a
time: `habitlake train MODEL --cutoff D`,
which trains, evaluates on held-out data, logs to MLflow and registers the new version as
`challenger`, then compares it with the `champion` on the same evaluation data and promotes it
only if it is better) -> `review` (the registry after the run: champion and challenger metrics;
fails when a model of the run has no champion). Emits the `habitlake_models` asset.

Run by hand with a cutoff: `habitlake airflow dags trigger habitlake_weekly_training -c '{"cutoff": "2025-03-31"}'`;
retrain some models only: `-c '{"cutoff": "2025-03-31", "models": ["segmentation", "basket"]}'` (names
are checked against the trainable models; an unknown name fails `list_models`).
"""
from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, task

from habitlake import launch

GOLD_WEEK = Asset("habitlake_gold_week")  # emitted by habitlake_daily when a week is closed
MODELS = Asset("habitlake_models")  # the champions after a training run


@dag(
    dag_id="habitlake_weekly_training",
    schedule=[GOLD_WEEK],
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=launch.default_args(),
    params={
        "cutoff": Param(None, type=["null", "string"], description="train on data up to this date (YYYY-MM-DD)"),
        "models": Param(None, type=["null", "array"], items={"type": "string"}, uniqueItems=True,
                        description="train only these models (default: every trainable model)"),
    },
    tags=["habitlake", "weekly", "models"],
    doc_md=__doc__,
)
def habitlake_weekly_training():
    @task
    def cutoff(params=None, triggering_asset_events=None):
        return launch.training_cutoff(params, triggering_asset_events)

    @task
    def list_models(params=None):
        return launch.models_to_train(params)

    @task(max_active_tis_per_dag=1)  # one Spark training at a time
    def train(model, cutoff):
        return launch.step("train", None, model, *(["--cutoff", cutoff] if cutoff else []))

    @task(outlets=[MODELS])
    def review(models):
        return launch.review_models(models)

    models = list_models()
    trained = train.partial(cutoff=cutoff()).expand(model=models)
    trained >> review(models)


habitlake_weekly_training()
