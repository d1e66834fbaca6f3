"""The SQL endpoint: a real Spark Thrift Server started by `habitlake bi start` on a free port over
the generated retailer's gold tables, queried with a real HiveServer2 client (PyHive), then stopped.
BI users see gold by name, the same numbers Spark computes, and nothing of bronze or silver."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pyspark.sql import functions as F

from habitlake import bi, catalog
from habitlake.net import free_port

PII_IN_CLEAR = {"name", "customer_name", "phone", "address", "contact_name", "contact_phone"}


def _cli(world, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "HABITLAKE_HOME": world.settings.root,
           "HABITLAKE_METASTORE_PORT": str(world.settings.metastore_port)}
    return subprocess.run([sys.executable, "-m", "habitlake.cli", *args], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def endpoint(world):
    port = free_port()
    started = _cli(world, "bi", "start", "--port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"jdbc:hive2://127.0.0.1:{port}/gold" in started.stdout
    yield port
    stopped = _cli(world, "bi", "stop")
    assert stopped.stdout.strip() == "SQL endpoint stopped"
    assert not bi.is_listening(port)


def _query(port: int, sql: str) -> list[tuple]:
    from pyhive import hive

    conn = hive.connect("127.0.0.1", port=port, username="analyst", database="gold")
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchall()
    finally:
        conn.close()


def test_bi_users_see_only_the_gold_database(endpoint, spark, world):
    assert {r[0] for r in _query(endpoint, "SHOW DATABASES")} == {"default", "gold"}
    shown = {r[1] for r in _query(endpoint, "SHOW TABLES IN gold")}
    expected = {t.name for t in catalog.catalog().values()
                if t.layer == "gold" and catalog.exists(spark, world.settings, t)}
    assert shown == expected
    assert {"customer_profile", "customer_tags", "tag_registry", "campaign_targeting"} <= shown


def test_gold_numbers_through_the_endpoint_equal_spark(endpoint, spark, world):
    got = dict(_query(endpoint, "SELECT tier, count(*) FROM gold.customer_profile "
                                f"WHERE as_of_date = '{world.last}' GROUP BY tier"))
    profile = catalog.read(spark, world.settings, "gold.customer_profile").filter(
        F.col("as_of_date") == F.lit(world.last))
    want = {r["tier"]: r["count"] for r in profile.groupBy("tier").count().collect()}
    assert got == want
    assert sum(got.values()) == profile.count()


def test_silver_bronze_and_file_paths_are_out_of_reach(endpoint, world):
    from pyhive.exc import OperationalError

    for sql in ("SELECT count(*) FROM silver.customers",
                "SELECT count(*) FROM bronze.customers",
                f"SELECT count(*) FROM delta.`{world.settings.table_path('silver', 'customers')}`"):
        with pytest.raises(OperationalError) as err:
            _query(endpoint, sql)
        text = str(err.value)
        assert "TABLE_OR_VIEW_NOT_FOUND" in text or "UNSUPPORTED_DATASOURCE_FOR_DIRECT_QUERY" in text \
            or "not found" in text.lower(), text


def test_no_gold_column_holds_pii_in_clear(endpoint):
    tables = [r[1] for r in _query(endpoint, "SHOW TABLES IN gold")]
    columns = {(t, r[0]) for t in tables for r in _query(endpoint, f"DESCRIBE gold.{t}") if r[0] and not r[0].startswith("#")}
    assert not {c for c in columns if c[1] in PII_IN_CLEAR}
    assert ("campaign_targeting", "phone_hash") in columns  # the keyed hash is what BI gets
