"""Two processes use the catalog at the same time: this test's Spark session stays open while a
second process (the `habitlake sql` CLI) reads a table this one registered and creates another,
which this session then reads. Spark's default embedded Derby would block the second process."""
import os
import subprocess
import sys
from pathlib import Path

from habitlake import catalog, metastore

CLI = str(Path(sys.executable).parent / "habitlake")


def test_second_process_shares_the_catalog_while_first_is_open(spark, settings):
    tbl = catalog.Table("bronze", "shared_probe")
    spark.createDataFrame([(1,), (2,), (39,)], "n int").write.format("delta").mode("overwrite").save(tbl.path(settings))
    catalog.register(spark, settings, tbl)

    child = subprocess.run(
        [CLI, "sql", "CREATE TABLE default.child_made USING DELTA AS "
                     "SELECT sum(n) AS answer FROM bronze.shared_probe"],
        capture_output=True, text=True, timeout=300, env=os.environ.copy(),
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert spark.sql("SELECT answer FROM default.child_made").collect()[0]["answer"] == 42

    listed = subprocess.run([CLI, "sql", "SHOW TABLES IN bronze", "--format", "csv"],
                            capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "bronze,shared_probe,false" in listed.stdout.splitlines()


def test_metastore_status_names_the_port(settings, spark):
    assert metastore.is_listening(settings.metastore_port)
    assert metastore.status(settings).startswith(f"Derby network server on 127.0.0.1:{settings.metastore_port}: running")
