"""silver.reviews on hand-written review rows: creation times in every layout as UTC instants and
local time, ratings at both ends of 1..5, a review without product or text, a later file's version
winning, one row per rule to quarantine, an exact repeat."""
from datetime import datetime, timezone

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, source_file
from jobs.silver import reviews

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed JSON line: not a JSON object"
SCHEMA = ("review_id string, order_id string, customer_id string, product_id string, rating int, "
          "review_text string, created_ts timestamp, created_ts_local timestamp_ntz, source_file string")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def review(review_id: str | None, rating: str | None = "5", created: str | None = "2025-03-04 18:22:11",
           **values) -> dict:
    base = {"review_id": review_id, "order_id": "O1", "customer_id": "C0000001", "product_id": "P00001",
            "rating": rating, "review_text": "很新鲜", "created_at": created}
    return {**base, **values}


ROWS = [
    review("R1", review_text=" 很新鲜 "),                                          # 1 replaced by 15
    review("R2", "1", "2025/03/04 18:22:11", product_id="", review_text=""),      # 2 no product, no text
    review("R3", " 4 ", "20250304 182211"),                                       # 3
    review("R4", "3", "04/03/2025 18:22"),                                        # 4
    review("R5", "2", "2025-03-04T18:22:11+08:00"),                               # 5
    review("R6", "5", "2025-03-04 07:30:00"),                                     # 6 before 08:00 local
    review("R1", review_text=" 很新鲜 "),                                          # 7 repeat of 1
    review(""),                                                                   # 8
    review("R9", order_id=" "),                                                   # 9
    review("R10", customer_id=None),                                              # 10
    review("R11", customer_id="C0000999"),                                        # 11 test account
    review("R12", rating="6"),                                                    # 12
    review("R13", created="later"),                                               # 13
    {"_error": MALFORMED, "_raw": '{"review_id": "R14", "rat'},                   # 14
    review("R1", "4", "2025-03-05 10:00:00", review_text="还行", _dt=NEXT_DAY),     # 15
]


def test_reviews_silver_quarantine_and_duplicates(spark, settings):
    ctx = context(spark, settings, days=(DAY, NEXT_DAY), test_accounts=("C0000999",))
    got = classify(reviews.JOB, bronze(spark, "reviews", ROWS), ctx)

    today, at, local = source_file("reviews"), utc(2025, 3, 4, 10, 22, 11), datetime(2025, 3, 4, 18, 22, 11)
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        ("R1", "O1", "C0000001", "P00001", 4, "还行", utc(2025, 3, 5, 2), datetime(2025, 3, 5, 10),
         source_file("reviews", NEXT_DAY)),
        ("R2", "O1", "C0000001", None, 1, None, at, local, today),
        ("R3", "O1", "C0000001", "P00001", 4, "很新鲜", at, local, today),
        ("R4", "O1", "C0000001", "P00001", 3, "很新鲜", utc(2025, 3, 4, 10, 22), datetime(2025, 3, 4, 18, 22), today),
        ("R5", "O1", "C0000001", "P00001", 2, "很新鲜", at, local, today),
        ("R6", "O1", "C0000001", "P00001", 5, "很新鲜", utc(2025, 3, 3, 23, 30), datetime(2025, 3, 4, 7, 30), today),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (8, "missing_review_id", "review_id", "review_id is empty"),
        (9, "missing_order_id", "order_id", "order_id is empty"),
        (10, "missing_customer_id", "customer_id", "customer_id is empty"),
        (11, "test_account", "customer_id", "review by a test account"),
        (12, "bad_rating", "rating", "rating is empty, not an integer or outside 1..5"),
        (13, "bad_timestamp", "created_at", "created_at is empty or in no known timestamp layout"),
        (14, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "duplicate")] + [(line, "silver") for line in range(2, 7)] + [(7, "duplicate")]
        + [(line, "quarantine") for line in range(8, 15)] + [(15, "silver")], FATES_VIEW))
