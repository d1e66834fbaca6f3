"""silver.promotions on hand-written marketing rows: depths as decimal(4,3), push channels (or none),
dates in every layout, a later file's version of a promotion winning, one row per rule to
quarantine, an exact repeat."""
from datetime import date
from decimal import Decimal

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, source_file
from jobs.silver import promotions

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed CSV line: wrong number of fields or bad quoting"
SCHEMA = ("promo_id string, campaign_id string, name string, promo_type string, discount_depth decimal(4,3), "
          "category_l1 string, target_tier string, channel string, start_date date, end_date date, "
          "source_file string")


def promo(promo_id: str | None, depth: str | None = "0.20", channel: str | None = "sms",
          start: str | None = "2025-03-04", end: str | None = "2025-03-10", **values) -> dict:
    base = {"promo_id": promo_id, "campaign_id": "CMP" + (promo_id or "")[-4:], "name": "蔬菜限时8折",
            "promo_type": "discount", "discount_depth": depth, "category_l1": "vegetables", "target_tier": "all",
            "channel": channel, "start_date": start, "end_date": end}
    return {**base, **values}


ROWS = [
    promo("PR00001", channel=" SMS ", promo_type="Discount", category_l1="Vegetables"),  # 1 replaced by 12
    promo("PR00002", "0.333", "", "20250305", "05/03/2025", name="满30减10优惠券",         # 2 no channel, one day
          promo_type="coupon", category_l1="all", target_tier="gold"),
    promo("PR00003", "0.999", "app_push", "2025/03/06", "2025-03-08T00:00:00+08:00"),    # 3 deepest allowed
    promo("PR00002", "0.333", "", "20250305", "05/03/2025", name="满30减10优惠券",         # 4 repeat of 2
          promo_type="coupon", category_l1="all", target_tier="gold"),
    promo(" "),                                                                          # 5
    promo("PR00006", depth="1.00"),                                                      # 6
    promo("PR00007", channel="email"),                                                   # 7
    promo("PR00008", start="soon"),                                                      # 8
    promo("PR00009", end=""),                                                            # 9
    promo("PR00010", start="2025-03-10", end="2025-03-09"),                              # 10
    {"_error": MALFORMED, "_raw": "PR00011,CMP0011"},                                    # 11
    promo("PR00001", channel="wechat", name="蔬菜限时7折", depth="0.3", _dt=NEXT_DAY),     # 12
]


def test_promotions_silver_quarantine_and_duplicates(spark, settings):
    got = classify(promotions.JOB, bronze(spark, "promotions", ROWS), context(spark, settings, days=(DAY, NEXT_DAY)))

    today = source_file("promotions")
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        ("PR00001", "CMP0001", "蔬菜限时7折", "discount", Decimal("0.300"), "vegetables", "all", "wechat",
         date(2025, 3, 4), date(2025, 3, 10), source_file("promotions", NEXT_DAY)),
        ("PR00002", "CMP0002", "满30减10优惠券", "coupon", Decimal("0.333"), "all", "gold", None,
         date(2025, 3, 5), date(2025, 3, 5), today),
        ("PR00003", "CMP0003", "蔬菜限时8折", "discount", Decimal("0.999"), "vegetables", "all", "app_push",
         date(2025, 3, 6), date(2025, 3, 8), today),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (5, "missing_promo_id", "promo_id", "promo_id is empty"),
        (6, "bad_discount_depth", "discount_depth",
         "discount_depth is empty, not a number or not strictly between 0 and 1"),
        (7, "unknown_channel", "channel", "channel is not a push channel in the vocabulary (sms, app_push, wechat)"),
        (8, "bad_date", "start_date", "start_date is empty or in no known date layout"),
        (9, "bad_date", "end_date", "end_date is empty or in no known date layout"),
        (10, "bad_date_range", "end_date", "end_date is before start_date"),
        (11, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "duplicate"), (2, "silver"), (3, "silver"), (4, "duplicate")]
        + [(line, "quarantine") for line in range(5, 12)] + [(12, "silver")], FATES_VIEW))
