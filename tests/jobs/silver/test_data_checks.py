"""Great Expectations inside the silver run: a critical failure stops the run before the table or
anything downstream is written, with a clear message; the outcome is still recorded."""
import csv
import io
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from expectations.runner import DataCheckFailed
from habitlake import catalog
from habitlake.contract import load_contract
from jobs.bronze import ingest
from jobs.silver import run as silver

DAY = "2031-01-05"
CONTRACT = load_contract()


def _land(settings, source: str, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CONTRACT[source].columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    folder = Path(settings.landing) / CONTRACT[source].day_dir(DAY)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONTRACT[source].file_name(DAY)).write_text(buf.getvalue(), encoding="utf-8")


def _written(spark, settings, name: str) -> int:
    """Rows of this test's orders in a silver table (0 when the table was never created)."""
    if not catalog.exists(spark, settings, catalog.table(name)):
        return 0
    return catalog.read(spark, settings, name).filter(F.col("order_id").startswith("OX")).count()


def test_broken_export_stops_the_run_with_a_clear_message(spark, settings):
    # A broken export: the CRM join failed upstream and every order lost its customer id.
    orders = [{"order_id": f"OX{i:03d}", "customer_id": "", "order_time": f"{DAY} 10:00:00", "channel": "app",
               "payment_method": "alipay", "status": "paid", "total_amount": "10.00"} for i in range(8)]
    lines = [{"order_id": f"OX{i:03d}", "line_no": "1", "product_id": "P00001", "quantity": "1",
              "unit_price": "10.00", "line_amount": "10.00"} for i in range(8)]
    _land(settings, "orders", orders)
    _land(settings, "order_lines", lines)
    ingest.run(spark, settings, DAY, sources=["orders", "order_lines"])

    with pytest.raises(DataCheckFailed) as failed:
        silver.run(spark, settings, DAY, tables=["orders", "order_lines"], progress=None)
    message = str(failed.value)
    assert message.startswith(f"data check failed for silver.orders (suite silver_orders, run silver_{DAY}): ")
    assert "expect_table_row_count_to_be_between(min_value=4): observed 0" in message

    assert _written(spark, settings, "silver.orders") == 0
    assert _written(spark, settings, "silver.order_lines") == 0
    recorded = (catalog.read(spark, settings, "silver.check_results")
                .filter((F.col("run_id") == f"silver_{DAY}") & ~F.col("success")).select("suite", "expectation", "severity"))
    assert [tuple(r) for r in recorded.collect()] == [
        ("silver_orders", "expect_table_row_count_to_be_between", "critical"),
        ("silver_orders", "expect_table_row_count_to_be_between", "warning"),
    ]
