"""The demo's progress filter: a step launched and finished, skipped scoring and failures are shown;
Spark, MLflow and Airflow chatter (including Airflow's echo of a task's return value) is not."""
from __future__ import annotations

import pytest

from habitlake.demo import _task_progress

pytestmark = pytest.mark.fast


@pytest.mark.parametrize("line, shown", [
    ("habitlake silver --date 2025-06-28  [runner: local]\n", "habitlake silver --date 2025-06-28"),
    ("habitlake gold finished in 201.4s\n", "habitlake gold finished in 201.4s"),
    ("no model has a champion yet (the weekly training promotes them): scoring skipped\n",
     "no model has a champion yet (the weekly training promotes them): scoring skipped"),
    ("not scored, no champion yet: basket\n", "not scored, no champion yet: basket"),
    ("scoring churn, demand as of 2025-06-28\n", "scoring churn, demand as of 2025-06-28"),
    ("[2026-11-30T10:01:02] INFO - Done. Returned value was: no model has a champion yet (the weekly "
     "training promotes them): scoring skipped\n", None),
    ("[2026-11-30T10:01:02] INFO - Done. Returned value was: habitlake score 2025-06-28 ok in 80.1s\n", None),
    ("25/11/30 10:01:02 WARN WindowExec: No Partition Defined for Window operation!\n", None),
    ("2026/11/30 10:01:02 INFO mlflow.tracking.fluent: Experiment with name 'churn' does not exist.\n", None),
    ("habitlake score 2025-06-28 ok in 80.1s\n", None),
])
def test_progress_shows_steps_and_hides_chatter(line, shown):
    assert _task_progress(line) == shown
