"""silver.reviews: one row per product review.

From bronze.reviews (app reviews). `rating` is an integer 1..5; the creation time is kept as a UTC
instant and as local wall-clock time. `product_id` is null when the review rates the order as a
whole. A review id delivered again is replaced by the later file's version. Quarantined: malformed
lines, missing review, order or customer ids, test accounts, ratings that are empty, not an integer
or outside 1..5, creation times empty or in no known layout.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob

LOWEST_RATING, HIGHEST_RATING = 1, 5


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    created = fw.parse_local_timestamp(F.col("created_at"), ctx.tz)
    typed = df.withColumns({
        "_review_id": fw.text("review_id"),
        "_order_id": fw.text("order_id"),
        "_customer_id": fw.text("customer_id"),
        "_rating": fw.parse_int(F.col("rating")),
        "_created_ts": created,
        "_created_local": fw.to_local(created, ctx.tz),
    })
    return lookups.flag_known(typed, "_customer_id", ctx.test_account_ids(), "customer_id", "_test_account")


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("missing_review_id", "review_id", F.col("_review_id").isNull(), "review_id is empty"),
        fw.Rule("missing_order_id", "order_id", F.col("_order_id").isNull(), "order_id is empty"),
        fw.Rule("missing_customer_id", "customer_id", F.col("_customer_id").isNull(), "customer_id is empty"),
        fw.Rule("test_account", "customer_id", F.col("_test_account"), "review by a test account"),
        fw.Rule("bad_rating", "rating",
                ~F.coalesce(F.col("_rating").between(LOWEST_RATING, HIGHEST_RATING), F.lit(False)),
                f"rating is empty, not an integer or outside {LOWEST_RATING}..{HIGHEST_RATING}"),
        fw.Rule("bad_timestamp", "created_at", F.col("_created_ts").isNull(),
                "created_at is empty or in no known timestamp layout"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("_review_id").alias("review_id"),
        F.col("_order_id").alias("order_id"),
        F.col("_customer_id").alias("customer_id"),
        fw.text("product_id").alias("product_id"),
        F.col("_rating").alias("rating"),
        fw.text("review_text").alias("review_text"),
        F.col("_created_ts").alias("created_ts"),
        F.col("_created_local").alias("created_ts_local"),
        F.col("_source_file").alias("source_file"),
    )



JOB = SilverJob(
    source="reviews",
    target="silver.reviews",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_review_id",),
    version_order=lambda: [F.col("_dt")],
)
