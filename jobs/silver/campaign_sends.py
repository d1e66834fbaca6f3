"""silver.campaign_sends: one row per campaign and customer (the customer's A/B assignment).

From bronze.campaign_sends (marketing automation: SMS / app push / WeChat). Arm A got the coupon
(`coupon_value`, yuan), arm B is the control (no coupon). The send time is kept as a UTC instant
and as local wall-clock time. A campaign and customer delivered again is replaced by the later
file's version. Quarantined: malformed lines, missing campaign or customer ids, test accounts,
customers not in silver.customers, arms other than A / B, unknown push channels, send times in no
known layout, coupon values that are not a number or negative.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob
from jobs.silver.rules_config import conform_code

ARMS = ("A", "B")


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    sent = fw.parse_local_timestamp(F.col("sent_at"), ctx.tz)
    typed = df.withColumns({
        "_campaign_id": fw.text("campaign_id"),
        "_customer_id": fw.text("customer_id"),
        "_arm": F.upper(F.trim("arm")),
        "_channel": conform_code(F.col("channel"), "push_channel"),
        "_coupon": fw.parse_decimal(F.col("coupon_value")),
        "_sent_ts": sent,
        "_sent_local": fw.to_local(sent, ctx.tz),
    })
    typed = lookups.flag_known(typed, "_customer_id", ctx.table("silver.customers"), "customer_id",
                               "_customer_known")
    return lookups.flag_known(typed, "_customer_id", ctx.test_account_ids(), "customer_id", "_test_account")


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("missing_campaign_id", "campaign_id", F.col("_campaign_id").isNull(), "campaign_id is empty"),
        fw.Rule("missing_customer_id", "customer_id", F.col("_customer_id").isNull(), "customer_id is empty"),
        fw.Rule("test_account", "customer_id", F.col("_test_account"), "campaign sent to a test account"),
        fw.Rule("unknown_customer", "customer_id", ~F.col("_customer_known"), "customer_id is not in silver.customers"),
        fw.Rule("unknown_arm", "arm", ~F.coalesce(F.col("_arm").isin(*ARMS), F.lit(False)),
                f"arm is empty or not one of {list(ARMS)}"),
        fw.Rule("unknown_channel", "channel", F.col("_channel").isNull(),
                "channel is not a push channel in the vocabulary (sms, app_push, wechat)"),
        fw.Rule("bad_timestamp", "sent_at", F.col("_sent_ts").isNull(),
                "sent_at is empty or in no known timestamp layout"),
        fw.Rule("bad_amount", "coupon_value",
                fw.unparseable(F.col("coupon_value"), F.col("_coupon")) | (F.col("_coupon") < 0),
                "coupon_value is not a number or negative"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("_campaign_id").alias("campaign_id"),
        F.col("_customer_id").alias("customer_id"),
        F.col("_arm").alias("arm"),
        F.col("_channel").alias("channel"),
        F.col("_coupon").alias("coupon_value"),
        F.col("_sent_ts").alias("sent_ts"),
        F.col("_sent_local").alias("sent_ts_local"),
        F.col("_source_file").alias("source_file"),
    )



JOB = SilverJob(
    source="campaign_sends",
    target="silver.campaign_sends",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_campaign_id", "_customer_id"),
    version_order=lambda: [F.col("_dt"), F.col("_sent_ts")],
)
