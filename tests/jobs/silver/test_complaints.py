"""silver.complaints on hand-written service-desk rows: creation times in every layout as UTC
instants and local time, kinds in English and Chinese, a suggestion about no order, a later file's
version winning, one row per rule to quarantine, an exact repeat."""
from datetime import datetime, timezone

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, source_file
from jobs.silver import complaints

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed JSON line: not a JSON object"
SCHEMA = ("complaint_id string, customer_id string, order_id string, kind string, category string, "
          "text string, created_ts timestamp, created_ts_local timestamp_ntz, source_file string")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def message(complaint_id: str | None, kind: str | None = "complaint", created: str | None = "2025-03-04 18:22:11",
            **values) -> dict:
    base = {"complaint_id": complaint_id, "customer_id": "C0000001", "order_id": "O1", "kind": kind,
            "category": "late_delivery", "text": "送货太慢了", "created_at": created}
    return {**base, **values}


ROWS = [
    message("CS1", category=" Late_Delivery "),                                   # 1 replaced by 14
    message("CS2", "建议", "2025/03/04 18:22:11", order_id="", category="app"),    # 2 suggestion, no order
    message("CS3", "投诉", "20250304 182211"),                                     # 3
    message("CS4", " SUGGESTION ", "04/03/2025 18:22", category="packaging"),     # 4
    message("CS5", "complaint", "2025-03-04T18:22:11+08:00", text=" "),           # 5 no text
    message("CS6", "complaint", "2025-03-04 07:30:00"),                           # 6 before 08:00 local
    message("CS1", category=" Late_Delivery "),                                   # 7 repeat of 1
    message(None),                                                                # 8
    message("CS9", customer_id=""),                                               # 9
    message("CS10", customer_id="C0000999"),                                      # 10 test account
    message("CS11", kind="praise"),                                               # 11
    message("CS12", created="2025-03-04 25:00:00"),                               # 12
    {"_error": MALFORMED, "_raw": '{"complaint_id": "CS13", "ki'},                # 13
    message("CS1", category="quality", text="坏了", _dt=NEXT_DAY),                  # 14
]


def test_complaints_silver_quarantine_and_duplicates(spark, settings):
    ctx = context(spark, settings, days=(DAY, NEXT_DAY), test_accounts=("C0000999",))
    got = classify(complaints.JOB, bronze(spark, "complaints", ROWS), ctx)

    today, at, local = source_file("complaints"), utc(2025, 3, 4, 10, 22, 11), datetime(2025, 3, 4, 18, 22, 11)
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        ("CS1", "C0000001", "O1", "complaint", "quality", "坏了", at, local, source_file("complaints", NEXT_DAY)),
        ("CS2", "C0000001", None, "suggestion", "app", "送货太慢了", at, local, today),
        ("CS3", "C0000001", "O1", "complaint", "late_delivery", "送货太慢了", at, local, today),
        ("CS4", "C0000001", "O1", "suggestion", "packaging", "送货太慢了", utc(2025, 3, 4, 10, 22),
         datetime(2025, 3, 4, 18, 22), today),
        ("CS5", "C0000001", "O1", "complaint", "late_delivery", None, at, local, today),
        ("CS6", "C0000001", "O1", "complaint", "late_delivery", "送货太慢了", utc(2025, 3, 3, 23, 30),
         datetime(2025, 3, 4, 7, 30), today),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (8, "missing_complaint_id", "complaint_id", "complaint_id is empty"),
        (9, "missing_customer_id", "customer_id", "customer_id is empty"),
        (10, "test_account", "customer_id", "complaint by a test account"),
        (11, "unknown_kind", "kind", "kind is empty or not complaint / suggestion"),
        (12, "bad_timestamp", "created_at", "created_at is empty or in no known timestamp layout"),
        (13, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "duplicate")] + [(line, "silver") for line in range(2, 7)] + [(7, "duplicate")]
        + [(line, "quarantine") for line in range(8, 14)] + [(14, "silver")], FATES_VIEW))
