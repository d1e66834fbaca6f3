"""Delta Lake for real, through the project's own session factory: write, MERGE, time travel,
schema enforcement, and tables registered by name in the shared metastore."""
import pytest
from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.testing import assertDataFrameEqual


@pytest.fixture()
def path(settings, request):
    return f"{settings.root}/scratch/{request.node.name}"


def test_write_merge_and_time_travel(spark, path):
    spark.createDataFrame([(1, "paid"), (2, "paid")], "order_id int, status string") \
        .write.format("delta").save(path)
    updates = spark.createDataFrame([(2, "delivered"), (3, "paid")], "order_id int, status string")
    (DeltaTable.forPath(spark, path).alias("t")
     .merge(updates.alias("s"), "t.order_id = s.order_id")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())

    assertDataFrameEqual(
        spark.read.format("delta").load(path),
        spark.createDataFrame([(1, "paid"), (2, "delivered"), (3, "paid")], "order_id int, status string"),
    )
    assertDataFrameEqual(
        spark.read.format("delta").option("versionAsOf", 0).load(path),
        spark.createDataFrame([(1, "paid"), (2, "paid")], "order_id int, status string"),
    )
    history = DeltaTable.forPath(spark, path).history().select("version", "operation").orderBy("version")
    assert [tuple(r) for r in history.collect()] == [(0, "WRITE"), (1, "MERGE")]


def test_schema_enforcement_rejects_a_mismatched_append(spark, path):
    spark.createDataFrame([(1, 9.5)], "order_id int, amount double").write.format("delta").save(path)
    wrong = spark.createDataFrame([(2, "nine")], "order_id int, amount string")
    with pytest.raises(AnalysisException, match="(?i)merge|schema|incompatible|DELTA_FAILED_TO_MERGE"):
        wrong.write.format("delta").mode("append").save(path)
    extra = spark.createDataFrame([(3, 1.0, "x")], "order_id int, amount double, note string")
    with pytest.raises(AnalysisException, match="(?i)schema mismatch|DELTA_METADATA_MISMATCH"):
        extra.write.format("delta").mode("append").save(path)
    assert spark.read.format("delta").load(path).count() == 1


def test_table_registered_by_name_is_delta(spark, settings):
    from habitlake import catalog

    tbl = catalog.Table("bronze", "registration_probe")
    spark.range(3).write.format("delta").mode("overwrite").save(tbl.path(settings))
    catalog.register(spark, settings, tbl)
    catalog.register(spark, settings, tbl)  # idempotent
    detail = spark.sql("DESCRIBE DETAIL bronze.registration_probe").collect()[0]
    assert detail["format"] == "delta"
    assert detail["location"].rstrip("/").endswith("/lake/bronze/registration_probe")
    assert spark.sql("SELECT sum(id) AS s FROM bronze.registration_probe").collect()[0]["s"] == 3


def test_local_session_jvm_collects_garbage_with_the_parallel_collector(spark):
    from habitlake.spark import LOCAL_GC

    management = spark.sparkContext._jvm.java.lang.management.ManagementFactory
    assert LOCAL_GC in list(management.getRuntimeMXBean().getInputArguments())
    collectors = {bean.getName() for bean in management.getGarbageCollectorMXBeans()}
    assert collectors == {"PS Scavenge", "PS MarkSweep"}  # G1's would be "G1 Young Generation", ...
