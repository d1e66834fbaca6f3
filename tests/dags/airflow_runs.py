"""Shared by the Airflow end-to-end tests: free ports, an environment isolated from the caller's
Airflow / habitlake / MLflow settings, and a subprocess whose output goes to a log file."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from habitlake.net import free_port


def isolated_env(root: Path, driver_memory: str, **extra: str) -> dict:
    """The caller's environment without AIRFLOW*, HABITLAKE_* and MLFLOW* variables, then a habitlake
    root at `root` on local[2] with its own metastore port, in-process steps and no retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HABITLAKE_", "MLFLOW"))}
    env.update({"HABITLAKE_HOME": str(root), "HABITLAKE_METASTORE_PORT": str(free_port()),
                "HABITLAKE_SPARK_MASTER": "local[2]", "HABITLAKE_SHUFFLE_PARTITIONS": "2",
                "HABITLAKE_DRIVER_MEMORY": driver_memory, "HABITLAKE_RUNNER": "local",
                "HABITLAKE_AIRFLOW_RETRIES": "0", **extra})
    return env


def run_logged(cmd: list[str], env: dict, log: Path, timeout: int) -> subprocess.CompletedProcess:
    with log.open("w") as out:
        return subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout)
