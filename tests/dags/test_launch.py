"""habitlake.launch: the runner chosen by settings, the spark-submit command line built from them, and
one real step run through spark-submit."""
from __future__ import annotations

import sys
import zipfile

import pytest

from habitlake import launch
from habitlake.settings import PROJECT_DIR, Settings

CLUSTER = {"HABITLAKE_HOME": "s3a://lake-bucket/habitlake", "HABITLAKE_STATE": "/tmp/habitlake-state",
           "HABITLAKE_SPARK_MASTER": "spark://spark-master:7077", "HABITLAKE_DRIVER_MEMORY": "8g",
           "HABITLAKE_SHUFFLE_PARTITIONS": "200", "HABITLAKE_METASTORE_URL": "thrift://hive-metastore:9083",
           "HABITLAKE_RUNNER": "spark-submit", "HABITLAKE_SPARK_SUBMIT": "/opt/spark/bin/spark-submit",
           "HABITLAKE_SUBMIT_ARGS": "--executor-memory 4g --num-executors 10"}


def test_spark_submit_command_is_built_from_the_settings():
    settings = Settings.from_env(CLUSTER)
    cmd = launch.spark_submit_command(settings, ["silver", "--date", "2025-03-01"], CLUSTER, py_files="/x/src.zip")
    assert cmd[:13] == ["/opt/spark/bin/spark-submit", "--master", "spark://spark-master:7077",
                        "--deploy-mode", "client", "--name", "habitlake-silver", "--driver-memory", "8g",
                        "--py-files", "/x/src.zip", "--conf", cmd[12]]
    assert cmd[-7:] == ["--executor-memory", "4g", "--num-executors", "10",
                        str(PROJECT_DIR / "habitlake" / "launch.py"), "silver", "--date", "2025-03-01"][-7:]
    assert cmd[-4:] == [str(PROJECT_DIR / "habitlake" / "launch.py"), "silver", "--date", "2025-03-01"]
    confs = dict(cmd[i + 1].split("=", 1) for i, a in enumerate(cmd) if a == "--conf")
    assert confs["spark.sql.shuffle.partitions"] == "200"
    assert confs["spark.hadoop.hive.metastore.uris"] == "thrift://hive-metastore:9083"
    assert confs["spark.sql.warehouse.dir"] == "s3a://lake-bucket/habitlake/warehouse"
    assert confs["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert "spark.master" not in confs and "spark.driver.memory" not in confs
    assert "spark.pyspark.python" not in confs  # the cluster's Python is the cluster's business


def test_deploy_mode_comes_from_the_settings():
    env = {**CLUSTER, "HABITLAKE_DEPLOY_MODE": "cluster", "HABITLAKE_SUBMIT_ARGS": ""}
    cmd = launch.spark_submit_command(Settings.from_env(env), ["gold", "--date", "2025-03-01"], env)
    assert cmd[3:5] == ["--deploy-mode", "cluster"] and "--py-files" not in cmd


def test_runner_chooses_in_process_subprocess_or_spark_submit(tmp_path):
    env = {"HABITLAKE_HOME": str(tmp_path)}
    settings = Settings.from_env(env)
    assert launch.command(settings, ["silver", "--date", "2025-03-01"], env) is None
    env["HABITLAKE_RUNNER"] = "subprocess"
    assert launch.command(settings, ["silver", "--date", "2025-03-01"], env) == [
        sys.executable, "-m", "habitlake.cli", "silver", "--date", "2025-03-01"]
    env["HABITLAKE_RUNNER"] = "spark-submit"
    assert launch.command(settings, ["checks", "--date", "2025-03-01", "--layer", "silver"], env) is None  # no Spark
    cmd = launch.command(settings, ["gold", "--date", "2025-03-01"], env)
    assert cmd[cmd.index("--py-files") + 1] == str(tmp_path / "airflow" / "habitlake-src.zip")
    with zipfile.ZipFile(tmp_path / "airflow" / "habitlake-src.zip") as zf:
        names = set(zf.namelist())
    assert {"habitlake/launch.py", "jobs/silver/orders.py", "jobs/gold/customer_profile.py",
            "expectations/runner.py"} <= names
    env["HABITLAKE_RUNNER"] = "driver"  # the driver's socket, else this process: never a new process
    assert launch.command(settings, ["silver", "--date", "2025-03-01"], env) is None
    env["HABITLAKE_RUNNER"] = "yarn"
    with pytest.raises(ValueError, match="HABITLAKE_RUNNER='yarn'"):
        launch.command(settings, ["gold", "--date", "2025-03-01"], env)


def test_training_cutoff_prefers_the_param_then_the_latest_closed_week():
    class Event:
        def __init__(self, as_of):
            self.extra = {"as_of": as_of}

    events = {"habitlake_gold_week": [Event("2025-03-09"), Event("2025-03-16")]}
    assert launch.training_cutoff({"cutoff": "2025-03-01"}, events) == "2025-03-01"
    assert launch.training_cutoff({"cutoff": None}, events) == "2025-03-16"
    assert launch.training_cutoff({}, {}) is None


def test_week_ends_on_sunday():
    assert [launch.is_week_end(f"2025-03-{d:02d}") for d in range(8, 11)] == [False, True, False]


def test_a_step_runs_for_real_through_spark_submit(spark, test_env):
    """The same CLI code, submitted with spark-submit (local master here) instead of run in-process."""
    env = {**test_env, "HABITLAKE_RUNNER": "spark-submit"}
    lines: list[str] = []
    seconds = launch.run(["sql", "SELECT 6 * 7 AS answer", "--format", "csv"], env=env, echo=lines.append)
    assert lines[0] == "habitlake sql SELECT 6 * 7 AS answer --format csv  [runner: spark-submit]"
    assert lines[lines.index("answer") + 1] == "42"
    assert lines[-1] == f"habitlake sql finished in {seconds:.1f}s"


def test_a_failing_step_raises_with_its_last_words(tmp_path):
    env = {"HABITLAKE_HOME": str(tmp_path), "HABITLAKE_RUNNER": "local"}
    with pytest.raises(launch.StepFailed, match=r"habitlake checks --date 2025-03-09 --layer gold exited with 1 "
                                                 r"after .*no data-check results recorded for run gold_2025-03-09"):
        launch.run(["checks", "--date", "2025-03-09", "--layer", "gold"], env=env, echo=lambda _: None)


def test_models_to_train_is_every_model_or_the_param_s_checked_against_the_trainable_ones():
    known = launch.model_names()
    assert known[:1] == ["segmentation"] and "basket" in known
    assert launch.models_to_train({"models": None}) == launch.models_to_train({}) == launch.models_to_train(None) == known
    assert launch.models_to_train({"models": []}) == known
    assert launch.models_to_train({"models": ["basket", "segmentation"]}) == ["segmentation", "basket"]  # known order
    with pytest.raises(ValueError, match=r"models param: 'astrology' cannot be trained; trainable: segmentation, "):
        launch.models_to_train({"models": ["segmentation", "astrology"]})
