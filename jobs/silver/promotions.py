"""silver.promotions: one row per promotion (the latest version of each promo_id).

From bronze.promotions (marketing, one file per day of announcements). `discount_depth` is the share
taken off, decimal(4,3) strictly between 0 and 1; `channel` is the push channel the promotion was
announced on (sms, app_push, wechat), null for a promotion that was not pushed. A promo id delivered
again is replaced by the later file's version. Quarantined: malformed lines, missing promo ids,
depths that are empty, not a number or outside (0, 1), unknown push channels, start or end dates in
no known layout, an end before the start.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver.pipeline import Context, SilverJob
from jobs.silver.rules_config import conform_code

DEPTH_SCALE, DEPTH_PRECISION = 3, 4  # decimal(4,3)


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    return df.withColumns({
        "_promo_id": fw.text("promo_id"),
        "_depth": fw.parse_decimal(F.col("discount_depth"), DEPTH_SCALE, DEPTH_PRECISION),
        "_channel": conform_code(F.col("channel"), "push_channel"),
        "_start": fw.parse_date(F.col("start_date"), ctx.tz),
        "_end": fw.parse_date(F.col("end_date"), ctx.tz),
    })


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    depth = F.col("_depth")
    return [
        fw.Rule("missing_promo_id", "promo_id", F.col("_promo_id").isNull(), "promo_id is empty"),
        fw.Rule("bad_discount_depth", "discount_depth", depth.isNull() | (depth <= 0) | (depth >= 1),
                "discount_depth is empty, not a number or not strictly between 0 and 1"),
        fw.Rule("unknown_channel", "channel", F.col("_channel").isNull() & ~fw.missing(F.col("channel")),
                "channel is not a push channel in the vocabulary (sms, app_push, wechat)"),
        fw.Rule("bad_date", "start_date", F.col("_start").isNull(), "start_date is empty or in no known date layout"),
        fw.Rule("bad_date", "end_date", F.col("_end").isNull(), "end_date is empty or in no known date layout"),
        fw.Rule("bad_date_range", "end_date", F.col("_end") < F.col("_start"), "end_date is before start_date"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("_promo_id").alias("promo_id"),
        fw.text("campaign_id").alias("campaign_id"),
        fw.text("name").alias("name"),
        F.lower(fw.text("promo_type")).alias("promo_type"),
        F.col("_depth").alias("discount_depth"),
        F.lower(fw.text("category_l1")).alias("category_l1"),
        F.lower(fw.text("target_tier")).alias("target_tier"),
        F.col("_channel").alias("channel"),
        F.col("_start").alias("start_date"),
        F.col("_end").alias("end_date"),
        F.col("_source_file").alias("source_file"),
    )



JOB = SilverJob(
    source="promotions",
    target="silver.promotions",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_promo_id",),
    version_order=lambda: [F.col("_dt")],
)
