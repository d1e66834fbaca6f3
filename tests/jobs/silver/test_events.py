"""silver.events on hand-written bronze rows: times in every layout become UTC instants with the local
date and hour, codes map onto the vocabulary, anonymous events stay, one row per rule goes to
quarantine, exact repeats and older copies of an event id are counted as duplicates."""
from datetime import datetime, timezone

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, ids, source_file
from jobs.silver import events

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed JSON line: not a JSON object"
SCHEMA = ("event_id string, event_ts timestamp, event_ts_local timestamp_ntz, event_date date, event_hour int, "
          "event_type string, customer_id string, session_id string, device_id string, device_type string, "
          "platform string, product_id string, query string, page string, source_file string")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def event(event_id: str, **values) -> dict:
    base = {"event_id": event_id, "event_time": "2025-03-04 18:22:11", "event_type": "view",
            "customer_id": "C0000001", "session_id": "S1", "device_id": "D1", "device_type": "ios",
            "platform": "app", "product_id": "P00001", "page": "product_detail"}
    return {**base, **values}


ROWS = [
    event("E1", device_type=" IOS "),                                                     # 1
    event("E2", event_time="2025/03/04 18:22:11", event_type="search", customer_id=None,  # 2 anonymous
          platform="h5", product_id=None, query=" 火锅底料 ", page="search_result"),
    event("E3", event_time="20250304 182211", event_type="add_to_cart", platform="小程序",  # 3
          product_id="P00002", page="cart"),
    event("E4", event_time="04/03/2025 18:22", event_type="checkout", platform="WEB",      # 4
          product_id="", page="checkout"),
    event("E5", event_time="2025-03-04T18:22:11+08:00", event_type="favourite"),           # 5
    event("E6", event_time="2025-03-04 07:30:00"),                                         # 6 before 08:00 local
    event("E7", event_time="2025-03-05 23:59:59"),                                         # 7 last tolerated second
    event("E1", device_type=" IOS "),                                                     # 8 exact repeat of 1
    {"_error": MALFORMED, "_raw": '{"event_id": "E9", "event_ty'},                         # 9
    event("  "),                                                                           # 10
    event("E11", customer_id="C0000999"),                                                  # 11 test account
    event("E12", product_id="P99999"),                                                     # 12
    event("E13", event_time="yesterday"),                                                  # 13
    event("E14", event_time="2025-03-06 00:00:00"),                                        # 14
    event("E15", event_type="purchase"),                                                   # 15
    event("E16", platform="tv"),                                                           # 16
    event("E2", event_time="2025-03-04T18:22:11+08:00", event_type="search", customer_id=None,  # 17 resent
          platform="h5", product_id=None, query="火锅底料", page="search_result", _dt=NEXT_DAY),
]


def test_events_silver_quarantine_and_duplicates(spark, settings):
    ctx = context(spark, settings, days=(DAY, NEXT_DAY), test_accounts=("C0000999",),
                  lookups={"silver.products": ids(spark, "product_id", ["P00001", "P00002"])})
    got = classify(events.JOB, bronze(spark, "events", ROWS), ctx)

    today, resent = source_file("events"), source_file("events", NEXT_DAY)
    local = datetime(2025, 3, 4, 18, 22, 11)
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        ("E1", utc(2025, 3, 4, 10, 22, 11), local, local.date(), 18, "view", "C0000001", "S1", "D1", "ios",
         "app", "P00001", None, "product_detail", today),
        ("E2", utc(2025, 3, 4, 10, 22, 11), local, local.date(), 18, "search", None, "S1", "D1", "ios",
         "web", None, "火锅底料", "search_result", resent),
        ("E3", utc(2025, 3, 4, 10, 22, 11), local, local.date(), 18, "add_cart", "C0000001", "S1", "D1", "ios",
         "mini_program", "P00002", None, "cart", today),
        ("E4", utc(2025, 3, 4, 10, 22, 0), datetime(2025, 3, 4, 18, 22), local.date(), 18, "checkout", "C0000001",
         "S1", "D1", "ios", "web", None, None, "checkout", today),
        ("E5", utc(2025, 3, 4, 10, 22, 11), local, local.date(), 18, "favorite", "C0000001", "S1", "D1", "ios",
         "app", "P00001", None, "product_detail", today),
        ("E6", utc(2025, 3, 3, 23, 30, 0), datetime(2025, 3, 4, 7, 30), local.date(), 7, "view", "C0000001",
         "S1", "D1", "ios", "app", "P00001", None, "product_detail", today),
        ("E7", utc(2025, 3, 5, 15, 59, 59), datetime(2025, 3, 5, 23, 59, 59), datetime(2025, 3, 5).date(), 23,
         "view", "C0000001", "S1", "D1", "ios", "app", "P00001", None, "product_detail", today),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (9, "malformed_line", "_raw", MALFORMED),
        (10, "missing_event_id", "event_id", "event_id is empty"),
        (11, "test_account", "customer_id", "event of a test account"),
        (12, "unknown_product", "product_id", "product_id is not in silver.products"),
        (13, "bad_timestamp", "event_time", "event_time is empty or in no known timestamp layout"),
        (14, "future_timestamp", "event_time", "event_time is more than 1 day(s) after the file's business date"),
        (15, "unknown_event_type", "event_type", "event_type is empty or not in the vocabulary"),
        (16, "unknown_platform", "platform", "platform is empty or not in the vocabulary"),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "silver"), (2, "duplicate"), (3, "silver"), (4, "silver"), (5, "silver"), (6, "silver"), (7, "silver"),
         (8, "duplicate")] + [(line, "quarantine") for line in range(9, 17)] + [(17, "silver")], FATES_VIEW))


def test_events_without_products_table_skip_the_product_check(spark, settings):
    rows = [event("E1", product_id="P99999"), event("E2", customer_id="C0000999", product_id=None)]
    got = classify(events.JOB, bronze(spark, "events", rows), context(spark, settings))

    assertDataFrameEqual(got.silver.select("event_id", "customer_id", "product_id"), spark.createDataFrame(
        [("E1", "C0000001", "P99999"), ("E2", "C0000999", None)],
        "event_id string, customer_id string, product_id string"))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([], QUARANTINE_VIEW))
