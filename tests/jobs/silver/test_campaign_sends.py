"""silver.campaign_sends on hand-written send rows: send times in every layout as UTC instants and
local time, arms and channels conformed, control sends without a coupon, a later file's version of
an assignment winning, one row per rule to quarantine, an exact repeat."""
from datetime import datetime, timezone
from decimal import Decimal

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, ids, source_file
from jobs.silver import campaign_sends

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed CSV line: wrong number of fields or bad quoting"
SCHEMA = ("campaign_id string, customer_id string, arm string, channel string, coupon_value decimal(14,2), "
          "sent_ts timestamp, sent_ts_local timestamp_ntz, source_file string")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def send(campaign_id: str | None, customer_id: str | None, arm: str | None = "A", channel: str | None = "sms",
         coupon: str | None = "10.00", sent_at: str | None = "2025-03-04 18:22:11", **meta) -> dict:
    return {"campaign_id": campaign_id, "customer_id": customer_id, "arm": arm, "channel": channel,
            "coupon_value": coupon, "sent_at": sent_at, **meta}


ROWS = [
    send("CMP0001", "C0000001"),                                                   # 1
    send("CMP0001", "C0000002", " b ", "WeChat", "", "2025/03/04 18:22:11"),       # 2 control arm
    send("CMP0001", "C0000003", "A", "app_push", "10", "20250304 182211"),         # 3 replaced by 17
    send("CMP0002", "C0000001", "A", "sms", "5.5", "04/03/2025 18:22"),            # 4
    send("CMP0002", "C0000002", "B", "sms", None, "2025-03-04T18:22:11+08:00"),    # 5
    send("CMP0002", "C0000003", "A", "sms", "5.00", "2025-03-04 07:30:00"),        # 6 before 08:00 local
    send("CMP0001", "C0000001"),                                                   # 7 repeat of 1
    send("", "C0000001"),                                                          # 8
    send("CMP0003", " "),                                                          # 9
    send("CMP0003", "C0000999"),                                                   # 10 test account
    send("CMP0003", "C0000404"),                                                   # 11
    send("CMP0003", "C0000001", arm="C"),                                          # 12
    send("CMP0003", "C0000002", channel="email"),                                  # 13
    send("CMP0003", "C0000003", sent_at="noon"),                                   # 14
    send("CMP0004", "C0000001", coupon="ten"),                                     # 15
    {"_error": MALFORMED, "_raw": "CMP0004,C0000002"},                             # 16
    send("CMP0001", "C0000003", "B", "app_push", None, "2025-03-05 09:00:00", _dt=NEXT_DAY),  # 17
]


def test_campaign_sends_silver_quarantine_and_duplicates(spark, settings):
    customers = ids(spark, "customer_id", ["C0000001", "C0000002", "C0000003"])
    ctx = context(spark, settings, days=(DAY, NEXT_DAY), test_accounts=("C0000999",),
                  lookups={"silver.customers": customers})
    got = classify(campaign_sends.JOB, bronze(spark, "campaign_sends", ROWS), ctx)

    today, local = source_file("campaign_sends"), datetime(2025, 3, 4, 18, 22, 11)
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        ("CMP0001", "C0000001", "A", "sms", Decimal("10.00"), utc(2025, 3, 4, 10, 22, 11), local, today),
        ("CMP0001", "C0000002", "B", "wechat", None, utc(2025, 3, 4, 10, 22, 11), local, today),
        ("CMP0001", "C0000003", "B", "app_push", None, utc(2025, 3, 5, 1, 0, 0), datetime(2025, 3, 5, 9, 0),
         source_file("campaign_sends", NEXT_DAY)),
        ("CMP0002", "C0000001", "A", "sms", Decimal("5.50"), utc(2025, 3, 4, 10, 22, 0),
         datetime(2025, 3, 4, 18, 22), today),
        ("CMP0002", "C0000002", "B", "sms", None, utc(2025, 3, 4, 10, 22, 11), local, today),
        ("CMP0002", "C0000003", "A", "sms", Decimal("5.00"), utc(2025, 3, 3, 23, 30, 0),
         datetime(2025, 3, 4, 7, 30), today),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (8, "missing_campaign_id", "campaign_id", "campaign_id is empty"),
        (9, "missing_customer_id", "customer_id", "customer_id is empty"),
        (10, "test_account", "customer_id", "campaign sent to a test account"),
        (11, "unknown_customer", "customer_id", "customer_id is not in silver.customers"),
        (12, "unknown_arm", "arm", "arm is empty or not one of ['A', 'B']"),
        (13, "unknown_channel", "channel", "channel is not a push channel in the vocabulary (sms, app_push, wechat)"),
        (14, "bad_timestamp", "sent_at", "sent_at is empty or in no known timestamp layout"),
        (15, "bad_amount", "coupon_value", "coupon_value is not a number or negative"),
        (16, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "silver"), (2, "silver"), (3, "duplicate"), (4, "silver"), (5, "silver"), (6, "silver"),
         (7, "duplicate")] + [(line, "quarantine") for line in range(8, 17)] + [(17, "silver")], FATES_VIEW))
