"""The one SparkSession factory: Delta Lake, the shared Hive-compatible metastore, local defaults.

Called from entry points (CLI, DAG tasks, notebooks) and from the test fixture; never at import.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from habitlake import jars, metastore
from habitlake.settings import CONF_DIR_NAME, PROJECT_DIR, Settings

LOG4J_CONF = PROJECT_DIR / CONF_DIR_NAME / "log4j2.properties"
# MLlib's FP-growth recurses deeply on big baskets and overflows the default 1 MB thread stack.
THREAD_STACK = "-Xss16m"
# A local master's one JVM is driver and executor: a batch job on a laptop's few cores, where the
# throughput collector beats G1, the JVM's default (G1 runs concurrent marking and refinement
# threads, and its write barriers cost every reference store). On the 100k-customer silver day it
# takes about an eighth off the JVM's CPU, new process and warm (bench/ingest.py). Clusters keep G1.
LOCAL_GC = "-XX:+UseParallelGC"


def spark_conf(settings: Settings) -> dict[str, str]:
    """Every setting habitlake gives Spark, as a plain dict (also used for spark-submit)."""
    jar_paths = jars.jars(settings.jar_dir)
    java_opts = f"{THREAD_STACK} -Dlog4j2.configurationFile=file:{LOG4J_CONF} " \
                f"-Dderby.system.home={settings.metastore_dir}"
    conf = {
        "spark.master": settings.spark_master,
        "spark.jars": ",".join(str(p) for p in jar_paths),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": settings.warehouse,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.databricks.delta.snapshotPartitions": str(settings.shuffle_partitions),
        "spark.driver.memory": settings.driver_memory,
        "spark.driver.extraJavaOptions": java_opts,
        "spark.executor.extraJavaOptions": THREAD_STACK,
        "spark.ui.enabled": str(settings.spark_ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.hadoop.hive.metastore.schema.verification": "false",
        "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
        # Non-UTF-8 landing files (GBK from Chinese ERPs) are decoded with Java charsets.
        "spark.sql.legacy.javaCharsets": "true",
    }
    if settings.metastore_url.startswith("thrift://"):
        conf["spark.hadoop.hive.metastore.uris"] = settings.metastore_url
    else:
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = settings.metastore_url
        conf["spark.hadoop.javax.jdo.option.ConnectionDriverName"] = settings.metastore_driver
        # The JDBC driver must be visible to the metastore's DataNucleus, i.e. on the JVM classpath.
        conf["spark.driver.extraClassPath"] = os.pathsep.join(
            str(p) for p in jars.derby_client_jars(settings.jar_dir)
        )
    if settings.local_master:
        # Delta's log replay (a table's file list, rebuilt for each new version) in one task: every
        # task of it regenerates the replay's projection code, and a day's silver rebuilds some
        # hundred snapshots (what it saved a new process: bench/ingest.py).
        conf["spark.databricks.delta.snapshotPartitions"] = "1"
        conf["spark.driver.extraJavaOptions"] += f" {LOCAL_GC}"
        # Python workers must run the same interpreter (and packages) as the driver; on a cluster
        # the executors' Python is the cluster's business (PYSPARK_PYTHON there).
        conf["spark.pyspark.python"] = os.environ.get("PYSPARK_PYTHON", sys.executable)
    conf.update(settings.extra_spark_conf)
    return conf


def get_spark(
    settings: Settings, app_name: str = "habitlake", extra: Mapping[str, str] | None = None
) -> SparkSession:
    """The session for these settings (an existing one in this process is reused)."""
    metastore.ensure_running(settings)
    conf = {**spark_conf(settings), **(extra or {})}
    if "spark.pyspark.python" in conf:
        # PySpark starts its Python workers with $PYSPARK_PYTHON (default: whatever `python3` is on
        # PATH), not with the spark.pyspark.python setting, which only spark-submit reads. Without
        # this, local workers run a system Python that lacks the venv's packages (pyarrow for UDFs).
        os.environ.setdefault("PYSPARK_PYTHON", conf["spark.pyspark.python"])
    builder = SparkSession.builder.appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()
