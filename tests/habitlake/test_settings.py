from pathlib import Path

from habitlake.settings import DEFAULT_ROOT, Settings


def test_defaults_put_everything_under_the_project_root():
    s = Settings.from_env({})
    assert s.root == str(DEFAULT_ROOT)
    assert s.landing == f"{DEFAULT_ROOT}/landing"
    assert s.table_path("silver", "orders") == f"{DEFAULT_ROOT}/lake/silver/orders"
    assert s.spark_master == "local[*]"
    assert s.mlflow_tracking_uri == f"sqlite:///{DEFAULT_ROOT}/mlflow/mlflow.db"
    assert s.metastore_url == f"jdbc:derby://127.0.0.1:1527/{DEFAULT_ROOT}/metastore/metastore_db;create=true"
    assert s.uses_embedded_metastore


def test_environment_overrides_every_setting(tmp_path):
    env = {
        "HABITLAKE_HOME": str(tmp_path / "home"),
        "HABITLAKE_SPARK_MASTER": "spark://master:7077",
        "HABITLAKE_SHUFFLE_PARTITIONS": "64",
        "HABITLAKE_METASTORE_PORT": "1600",
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "HABITLAKE_TIMEZONE": "Europe/London",
        "HABITLAKE_CURRENCY": "GBP",
    }
    s = Settings.from_env(env)
    assert s.root == str(tmp_path / "home")
    assert s.spark_master == "spark://master:7077"
    assert s.shuffle_partitions == 64
    assert s.metastore_url == f"jdbc:derby://127.0.0.1:1600/{tmp_path}/home/metastore/metastore_db;create=true"
    assert s.mlflow_tracking_uri == "http://mlflow:5000"
    assert (s.timezone, s.currency) == ("Europe/London", "GBP")


def test_object_store_root_keeps_local_state_local():
    s = Settings.from_env({"HABITLAKE_HOME": "s3a://bucket/habitlake/"})
    assert s.root == "s3a://bucket/habitlake"
    assert s.table_path("gold", "customer_profile") == "s3a://bucket/habitlake/lake/gold/customer_profile"
    assert s.landing == "s3a://bucket/habitlake/landing"
    assert s.state_dir == (Path.home() / ".habitlake-state").resolve()


def test_external_metastore_is_not_managed():
    s = Settings.from_env({"HABITLAKE_METASTORE_URL": "thrift://hms:9083"})
    assert not s.uses_embedded_metastore


def test_retailer_file_sets_currency_and_timezone_defaults(tmp_path):
    from habitlake.settings import write_retailer

    base = Settings.from_env({"HABITLAKE_HOME": str(tmp_path)})
    assert (base.currency, base.timezone) == ("CNY", "Asia/Shanghai")
    write_retailer(base, {"currency": "GBP", "timezone": "Europe/London"})
    s = Settings.from_env({"HABITLAKE_HOME": str(tmp_path)})
    assert (s.currency, s.timezone) == ("GBP", "Europe/London")
    s = Settings.from_env({"HABITLAKE_HOME": str(tmp_path), "HABITLAKE_TIMEZONE": "UTC"})
    assert s.timezone == "UTC"


def test_local_masters_get_the_parallel_collector_and_clusters_keep_theirs():
    from dataclasses import replace

    from habitlake.spark import LOCAL_GC, THREAD_STACK, spark_conf

    settings = Settings.from_env({})
    local = spark_conf(settings)["spark.driver.extraJavaOptions"].split()
    assert settings.spark_master.startswith("local[") and LOCAL_GC in local and THREAD_STACK in local
    cluster = spark_conf(replace(settings, spark_master="spark://head:7077"))
    assert LOCAL_GC not in cluster["spark.driver.extraJavaOptions"].split()
    assert LOCAL_GC not in cluster["spark.executor.extraJavaOptions"].split()
    # a retailer's own JVM options replace ours whole, as every key of the settings' Spark conf does
    own = spark_conf(replace(settings, extra_spark_conf={"spark.driver.extraJavaOptions": "-XX:+UseG1GC"}))
    assert own["spark.driver.extraJavaOptions"] == "-XX:+UseG1GC"
