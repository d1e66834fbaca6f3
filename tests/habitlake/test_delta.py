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


def test_silver_tables_keep_statistics_on_their_keys_only():
    from habitlake import catalog

    assert catalog.table("silver.orders").stats == ("order_id",)  # order_date partitions: no stats
    assert catalog.table("silver.customers").stats == ("customer_id", "valid_from")
    assert catalog.table("silver.quarantine").properties == {
        "delta.dataSkippingStatsColumns": "`source`,`source_file`,`file_mtime`,`line`"}
    assert catalog.table("gold.customer_profile").properties == {}  # gold: Delta's default
    assert catalog.table("bronze.orders").properties == {}


def _file_stats(path: str) -> list[dict]:
    import glob
    import json

    adds = []
    for log in sorted(glob.glob(f"{path}/_delta_log/*.json")):
        with open(log, encoding="utf-8") as f:
            adds += [json.loads(line)["add"] for line in f if '"add"' in line]
    return [json.loads(a["stats"]) for a in adds]


def test_a_silver_table_written_before_its_properties_gets_them_before_its_next_write(spark, settings, tmp_path):
    from dataclasses import replace

    from habitlake import catalog

    old = replace(settings, root=str(tmp_path))  # its own root: nothing registered in the metastore
    tbl = catalog.table("silver.promotions")
    assert catalog.existing(spark, old, tbl) is False  # nothing there yet: nothing to align
    rows = spark.createDataFrame([("P1", "spring", 0.8)], "promo_id string, name string, price_factor double")
    rows.write.format("delta").save(tbl.path(old))  # as a lake from before the property would have
    assert _file_stats(tbl.path(old))[0]["minValues"] == {"promo_id": "P1", "name": "spring", "price_factor": 0.8}

    assert catalog.existing(spark, old, tbl) is True
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{tbl.path(old)}`").head()
    assert detail["properties"] == {"delta.dataSkippingStatsColumns": "`promo_id`"}
    rows.write.format("delta").mode("append").save(tbl.path(old))
    stats = _file_stats(tbl.path(old))
    assert [s["minValues"] for s in stats] == [
        {"promo_id": "P1", "name": "spring", "price_factor": 0.8}, {"promo_id": "P1"}]
    assert [s["numRecords"] for s in stats] == [1, 1]
