"""silver.deliveries on hand-written TMS rows: slot and delivery times in every layout as UTC
instants and local time, the local delivery date, delay and lateness (early, late, on the dot,
failed), a later file's version winning, one row per rule to quarantine, an exact repeat."""
from datetime import date, datetime, timezone

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, ids, source_file
from jobs.silver import deliveries

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed CSV line: wrong number of fields or bad quoting"
SCHEMA = ("delivery_id string, order_id string, warehouse_id string, city string, slot string, "
          "promised_start timestamp, promised_end timestamp, delivered_at timestamp, "
          "promised_start_local timestamp_ntz, promised_end_local timestamp_ntz, delivered_at_local timestamp_ntz, "
          "delivery_date date, status string, delay_minutes int, is_late boolean, source_file string")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def delivery(delivery_id: str | None, order_id: str | None, start: str | None = "2025-03-04 18:00:00",
             end: str | None = "2025-03-04 20:00:00", delivered: str | None = "2025-03-04 19:10:00",
             status: str | None = "delivered", **meta) -> dict:
    return {"delivery_id": delivery_id, "order_id": order_id, "warehouse_id": "W01", "city": "成都",
            "slot": "18-20", "promised_start": start, "promised_end": end, "delivered_at": delivered,
            "status": status, **meta}


ROWS = [
    delivery("DL1", "O1"),                                                                      # 1 replaced by 16
    delivery("DL2", "O2", "2025/03/04 18:00:00", "20250304 200000", "04/03/2025 20:45"),        # 2 late
    delivery("DL3", "O3", delivered="", status=" FAILED "),                                     # 3 failed
    delivery("DL4", "O4", "2025-03-04 07:30:00", "2025-03-04T09:30:00+08:00", "2025-03-04 09:30:00"),  # 4 on the dot
    delivery("DL1", "O1"),                                                                      # 5 repeat of 1
    delivery(" ", "O5"),                                                                        # 6
    delivery("DL7", None),                                                                      # 7
    delivery("DL8", "O404"),                                                                    # 8
    delivery("DL9", "O5", start="tonight"),                                                     # 9
    delivery("DL10", "O5", end=""),                                                             # 10
    delivery("DL11", "O5", delivered="late"),                                                   # 11
    delivery("DL12", "O5", start="2025-03-04 20:00:00", end="2025-03-04 18:00:00"),             # 12
    delivery("DL13", "O5", status="lost"),                                                      # 13
    delivery("DL14", "O5", delivered=None),                                                     # 14
    {"_error": MALFORMED, "_raw": "DL15,O5"},                                                   # 15
    delivery("DL1", "O1", delivered="2025-03-04 19:20:00", _dt=NEXT_DAY),                       # 16
]


def test_deliveries_silver_quarantine_and_duplicates(spark, settings):
    orders = ids(spark, "order_id", ["O1", "O2", "O3", "O4", "O5"])
    ctx = context(spark, settings, days=(DAY, NEXT_DAY), lookups={"silver.orders": orders})
    got = classify(deliveries.JOB, bronze(spark, "deliveries", ROWS), ctx)

    today, d = source_file("deliveries"), date(2025, 3, 4)
    evening = (utc(2025, 3, 4, 10), utc(2025, 3, 4, 12))
    evening_local = (datetime(2025, 3, 4, 18), datetime(2025, 3, 4, 20))
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        ("DL1", "O1", "W01", "成都", "18-20", *evening, utc(2025, 3, 4, 11, 20), *evening_local,
         datetime(2025, 3, 4, 19, 20), d, "delivered", -40, False, source_file("deliveries", NEXT_DAY)),
        ("DL2", "O2", "W01", "成都", "18-20", *evening, utc(2025, 3, 4, 12, 45), *evening_local,
         datetime(2025, 3, 4, 20, 45), d, "delivered", 45, True, today),
        ("DL3", "O3", "W01", "成都", "18-20", *evening, None, *evening_local, None, d, "failed", None, True, today),
        ("DL4", "O4", "W01", "成都", "18-20", utc(2025, 3, 3, 23, 30), utc(2025, 3, 4, 1, 30), utc(2025, 3, 4, 1, 30),
         datetime(2025, 3, 4, 7, 30), datetime(2025, 3, 4, 9, 30), datetime(2025, 3, 4, 9, 30), d, "delivered", 0,
         False, today),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (6, "missing_delivery_id", "delivery_id", "delivery_id is empty"),
        (7, "missing_order_id", "order_id", "order_id is empty"),
        (8, "order_not_in_silver", "order_id",
         "the delivery's order is not in silver.orders (it was quarantined or never arrived)"),
        (9, "bad_timestamp", "promised_start", "promised_start is empty or in no known timestamp layout"),
        (10, "bad_timestamp", "promised_end", "promised_end is empty or in no known timestamp layout"),
        (11, "bad_timestamp", "delivered_at", "delivered_at is in no known timestamp layout"),
        (12, "bad_slot", "promised_end", "promised_end is before promised_start"),
        (13, "unknown_status", "status", "status is empty or not one of ['delivered', 'failed']"),
        (14, "missing_delivered_at", "delivered_at", "status is delivered but delivered_at is empty"),
        (15, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "duplicate"), (2, "silver"), (3, "silver"), (4, "silver"), (5, "duplicate")]
        + [(line, "quarantine") for line in range(6, 16)] + [(16, "silver")], FATES_VIEW))
