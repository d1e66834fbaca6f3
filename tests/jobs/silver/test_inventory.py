"""silver.inventory on hand-written WMS rows: dates in every layout, integer quantities, an empty
warehouse slot without expiry, a later file's snapshot winning, one row per rule to quarantine, an
exact repeat."""
from datetime import date

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, ids, source_file
from jobs.silver import inventory

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed CSV line: wrong number of fields or bad quoting"
SCHEMA = ("snapshot_date date, warehouse_id string, product_id string, on_hand_qty int, received_qty int, "
          "shipped_qty int, expiring_qty int, nearest_expiry_date date, source_file string")


def stock(day: str | None, warehouse: str | None, product: str | None, on_hand: str | None = "10",
          received: str | None = "5", shipped: str | None = "3", expiring: str | None = "2",
          expiry: str | None = "2025-03-06", **meta) -> dict:
    return {"snapshot_date": day, "warehouse_id": warehouse, "product_id": product, "on_hand_qty": on_hand,
            "received_qty": received, "shipped_qty": shipped, "expiring_qty": expiring,
            "nearest_expiry_date": expiry, **meta}


ROWS = [
    stock("2025-03-04", "W01", "P00001"),                                               # 1 replaced by 15
    stock("2025/03/04", "W01", "P00002", "0", "0", "0", "0", ""),                       # 2 nothing in stock
    stock("20250304", " W02 ", "P00001", expiry="2025-03-10T00:00:00+08:00"),           # 3
    stock("04/03/2025", "W02", "P00002", expiry="20250309"),                            # 4
    stock("2025-03-04", "W01", "P00001"),                                               # 5 repeat of 1
    stock("yesterday", "W01", "P00001"),                                                # 6
    stock("2025-03-04", "", "P00001"),                                                  # 7
    stock("2025-03-04", "W03", None),                                                   # 8
    stock("2025-03-04", "W03", "P99999"),                                               # 9
    stock("2025-03-04", "W03", "P00001", on_hand="ten"),                                # 10
    stock("2025-03-04", "W03", "P00002", shipped=""),                                   # 11
    stock("2025-03-04", "W04", "P00001", on_hand="-1"),                                 # 12
    stock("2025-03-04", "W04", "P00002", expiry="soon"),                                # 13
    {"_error": MALFORMED, "_raw": "2025-03-04,W05"},                                    # 14
    stock("20250304", "W01", "P00001", "9", "5", "4", "2", _dt=NEXT_DAY),                # 15
]


def test_inventory_silver_quarantine_and_duplicates(spark, settings):
    products = ids(spark, "product_id", ["P00001", "P00002"])
    ctx = context(spark, settings, days=(DAY, NEXT_DAY), lookups={"silver.products": products})
    got = classify(inventory.JOB, bronze(spark, "inventory", ROWS), ctx)

    today, d = source_file("inventory"), date(2025, 3, 4)
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        (d, "W01", "P00001", 9, 5, 4, 2, date(2025, 3, 6), source_file("inventory", NEXT_DAY)),
        (d, "W01", "P00002", 0, 0, 0, 0, None, today),
        (d, "W02", "P00001", 10, 5, 3, 2, date(2025, 3, 10), today),
        (d, "W02", "P00002", 10, 5, 3, 2, date(2025, 3, 9), today),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (6, "bad_date", "snapshot_date", "snapshot_date is empty or in no known date layout"),
        (7, "missing_warehouse_id", "warehouse_id", "warehouse_id is empty"),
        (8, "missing_product_id", "product_id", "product_id is empty"),
        (9, "unknown_product", "product_id", "product_id is not in silver.products"),
        (10, "bad_quantity", "on_hand_qty", "on_hand_qty is empty or not an integer"),
        (11, "bad_quantity", "shipped_qty", "shipped_qty is empty or not an integer"),
        (12, "negative_on_hand", "on_hand_qty", "on_hand_qty is negative"),
        (13, "bad_date", "nearest_expiry_date", "nearest_expiry_date is in no known date layout"),
        (14, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "duplicate")] + [(line, "silver") for line in range(2, 5)] + [(5, "duplicate")]
        + [(line, "quarantine") for line in range(6, 15)] + [(15, "silver")], FATES_VIEW))
