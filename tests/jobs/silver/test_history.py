"""silver.products' history (slowly changing dimension, type 2) written run after run to a real
Delta table: the first run builds it, later runs MERGE only the products they touch. A price
change closes the old version; a product re-sent unchanged adds nothing; a late version slots in
and absorbs a later identical one; a re-run of a day changes nothing (not even the table's
version); and whatever the order of arrival, the table equals the history rebuilt in one go."""
from datetime import datetime
from decimal import Decimal

import pytest
from delta.tables import DeltaTable
from pyspark.testing import assertDataFrameEqual

from bronze_rows import bronze
from habitlake import catalog
from jobs.silver import pipeline, products
from jobs.silver.pipeline import Context

TOUCHED = ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted")
COLUMNS = ["product_id", "list_price", "valid_from", "valid_to", "is_current"]


def product(pid: str, price: str, updated_at: str, name: str = "牛奶 1L") -> dict:
    return {"product_id": pid, "product_name": name, "category_l1": "dairy", "category_l2": "milk",
            "brand": "蒙牛", "list_price": price, "unit_cost": "3.10", "shelf_life_days": "7",
            "storage_type": "chilled", "updated_at": updated_at}


DAY1 = [product("P1", "5.00", "2025-03-01 08:00:00"), product("P2", "12.50", "2025-03-01 08:00:00")]
DAY2 = [product("P1", "5.50", "2025-03-04 09:00:00"),   # price up: the 03-01 version closes
        product("P2", "12.50", "2025-03-04 09:00:00"),  # re-sent unchanged: no new version
        product("P3", "8.00", "2025-03-04 09:00:00")]   # new product
LATE = [product("P1", "5.50", "2025-03-02 10:00:00")]   # the 5.50 price was already valid on 03-02


def _write(spark, settings, day: str, rows: list[dict]) -> None:
    ctx = Context(spark, settings, (day,), f"silver_{day}")
    classified = pipeline.classify(products.JOB, bronze(spark, "products", rows, day=day), ctx)
    pipeline.write(products.JOB, pipeline.silver_rows(products.JOB, classified), ctx)


def _history(spark, settings):
    return catalog.read(spark, settings, "silver.products").select(COLUMNS)


def _version(spark, settings) -> int:
    return DeltaTable.forPath(spark, catalog.table("silver.products").path(settings)).history(1).collect()[0]["version"]


def _last_commit(spark, settings) -> dict:
    path = catalog.table("silver.products").path(settings)
    last = DeltaTable.forPath(spark, path).history(1).collect()[0]
    return {"operation": last["operation"], **{k: int(v) for k, v in last["operationMetrics"].items()
                                               if k.startswith(("numTargetRows", "numTargetFiles"))}}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text) - (datetime(2000, 1, 1, 8) - datetime(2000, 1, 1))  # Shanghai -> UTC


@pytest.fixture
def lake(settings, tmp_path):
    return settings.with_overrides(root=str(tmp_path / "root"))


def test_history_is_merged_run_by_run(spark, lake):
    _write(spark, lake, "2025-03-01", DAY1)
    _write(spark, lake, "2025-03-04", DAY2)
    after_day2 = spark.createDataFrame([
        ("P1", Decimal("5.00"), ts("2025-03-01 08:00:00"), ts("2025-03-04 09:00:00"), False),
        ("P1", Decimal("5.50"), ts("2025-03-04 09:00:00"), None, True),
        ("P2", Decimal("12.50"), ts("2025-03-01 08:00:00"), None, True),
        ("P3", Decimal("8.00"), ts("2025-03-04 09:00:00"), None, True),
    ], "product_id string, list_price decimal(14,2), valid_from timestamp, valid_to timestamp, is_current boolean")
    assertDataFrameEqual(_history(spark, lake), after_day2)

    assert _last_commit(spark, lake)["operation"] == "MERGE"
    assert {k: v for k, v in _last_commit(spark, lake).items() if k in TOUCHED} == {
        "numTargetRowsInserted": 2, "numTargetRowsUpdated": 1, "numTargetRowsDeleted": 0}
    version = _version(spark, lake)
    _write(spark, lake, "2025-03-04", DAY2)  # a re-run of the day: nothing changes, nothing is written
    assertDataFrameEqual(_history(spark, lake), after_day2)
    assert _version(spark, lake) == version

    _write(spark, lake, "2025-03-05", LATE)  # late: 5.50 from 03-02, absorbing the identical 03-04 version
    assert {k: v for k, v in _last_commit(spark, lake).items() if k in TOUCHED} == {
        "numTargetRowsInserted": 1, "numTargetRowsUpdated": 1, "numTargetRowsDeleted": 1}
    assertDataFrameEqual(_history(spark, lake), spark.createDataFrame([
        ("P1", Decimal("5.00"), ts("2025-03-01 08:00:00"), ts("2025-03-02 10:00:00"), False),
        ("P1", Decimal("5.50"), ts("2025-03-02 10:00:00"), None, True),
        ("P2", Decimal("12.50"), ts("2025-03-01 08:00:00"), None, True),
        ("P3", Decimal("8.00"), ts("2025-03-04 09:00:00"), None, True),
    ], after_day2.schema))


def test_merged_history_equals_the_history_rebuilt_at_once(spark, lake, settings, tmp_path):
    for day, rows in (("2025-03-05", LATE), ("2025-03-04", DAY2), ("2025-03-01", DAY1)):  # reverse order
        _write(spark, lake, day, rows)
    at_once = settings.with_overrides(root=str(tmp_path / "at_once"))
    _write(spark, at_once, "2025-03-05", DAY1 + DAY2 + LATE)
    full = catalog.read(spark, lake, "silver.products")
    assertDataFrameEqual(full, catalog.read(spark, at_once, "silver.products").select(full.columns))
    assert full.count() == 4
