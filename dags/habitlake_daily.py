"""
### habitlake_daily

One run per logical date D (`{{ ds }}`), started when D is over (midnight UTC), each task one `habitlake <step> --date D` launched by
`habitlake.launch` (in the task's process, a subprocess, or spark-submit to a cluster: the
`HABITLAKE_RUNNER` setting), so a layer pays one Spark start-up, not one per table:

`ingest` (landing -> bronze) -> `silver` (validated with Great Expectations before writing) ->
`data_checks` (the silver run's recorded checks: no critical failure, books balanced) -> `gold` ->
`score` (champion models; skipped before the first training) -> `gold_checks` -> `publish` (records
the run, builds the HTML report) -> `week_complete` / `close_week` (on Sundays: emits the
`habitlake_gold_week` asset the weekly training is scheduled on).

Every step is idempotent for its date, so a retry or a re-run replaces that date's results.
Backfill: `habitlake airflow backfill create --dag-id habitlake_daily --from-date 2025-03-01 --to-date 2025-03-31`.
A task that fails for good is recorded in `<state>/airflow/failures.jsonl`.
"""
from __future__ import annotations

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, chain, dag, task

from habitlake import launch

BRONZE = Asset("habitlake_bronze")
SILVER = Asset("habitlake_silver")
GOLD = Asset("habitlake_gold")
GOLD_WEEK = Asset("habitlake_gold_week")  # a closed week's gold; extra {"as_of": D}: the weekly training waits on it


@dag(
    dag_id="habitlake_daily",
    # the interval [D 00:00, D+1 00:00) UTC: the run for D (ds = D) starts once D is over
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # silver keeps history (SCD2): days are processed one after another
    default_args=launch.default_args(),
    tags=["habitlake", "daily", "lakehouse"],
    doc_md=__doc__,
)
def habitlake_daily():
    @task(outlets=[BRONZE])
    def ingest(ds=None):
        return launch.step("ingest", ds)

    @task(outlets=[SILVER])
    def silver(ds=None):
        return launch.step("silver", ds)

    @task
    def data_checks(ds=None):
        return launch.step("checks", ds, "--layer", "silver")

    @task(outlets=[GOLD])
    def gold(ds=None):
        return launch.step("gold", ds)

    @task
    def score(ds=None):
        return launch.score(ds)

    @task
    def gold_checks(ds=None):
        return launch.step("checks", ds, "--layer", "gold")

    @task
    def publish(ds=None):
        return launch.step("publish", ds)

    @task.short_circuit
    def week_complete(ds=None):
        return launch.is_week_end(ds)

    @task(outlets=[GOLD_WEEK])
    def close_week(ds=None, outlet_events=None):
        outlet_events[GOLD_WEEK].extra = {"as_of": ds}
        return f"week closed as of {ds}"

    chain(ingest(), silver(), data_checks(), gold(), score(), gold_checks(), publish(), week_complete(),
          close_week())


habitlake_daily()
