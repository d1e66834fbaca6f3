"""silver.complaints: one row per complaint or suggestion sent to the customer service desk.

From bronze.complaints. `kind` is complaint or suggestion (the desk's Chinese labels are mapped);
`order_id` is null when the message is about no order; the creation time is kept as a UTC instant
and as local wall-clock time. A complaint id delivered again is replaced by the later file's
version. Quarantined: malformed lines, missing complaint or customer ids, test accounts, kinds other
than complaint / suggestion, creation times empty or in no known layout.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob

KINDS = {"complaint": "complaint", "suggestion": "suggestion", "投诉": "complaint", "建议": "suggestion"}


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    created = fw.parse_local_timestamp(F.col("created_at"), ctx.tz)
    kinds = F.create_map(*[F.lit(x) for pair in sorted(KINDS.items()) for x in pair])
    typed = df.withColumns({
        "_complaint_id": fw.text("complaint_id"),
        "_customer_id": fw.text("customer_id"),
        "_kind": F.element_at(kinds, F.lower(F.trim("kind"))),
        "_created_ts": created,
        "_created_local": fw.to_local(created, ctx.tz),
    })
    return lookups.flag_known(typed, "_customer_id", ctx.test_account_ids(), "customer_id", "_test_account")


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("missing_complaint_id", "complaint_id", F.col("_complaint_id").isNull(), "complaint_id is empty"),
        fw.Rule("missing_customer_id", "customer_id", F.col("_customer_id").isNull(), "customer_id is empty"),
        fw.Rule("test_account", "customer_id", F.col("_test_account"), "complaint by a test account"),
        fw.Rule("unknown_kind", "kind", F.col("_kind").isNull(), "kind is empty or not complaint / suggestion"),
        fw.Rule("bad_timestamp", "created_at", F.col("_created_ts").isNull(),
                "created_at is empty or in no known timestamp layout"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("_complaint_id").alias("complaint_id"),
        F.col("_customer_id").alias("customer_id"),
        fw.text("order_id").alias("order_id"),
        F.col("_kind").alias("kind"),
        F.lower(fw.text("category")).alias("category"),
        fw.text("text").alias("text"),
        F.col("_created_ts").alias("created_ts"),
        F.col("_created_local").alias("created_ts_local"),
        F.col("_source_file").alias("source_file"),
    )



JOB = SilverJob(
    source="complaints",
    target="silver.complaints",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_complaint_id",),
    version_order=lambda: [F.col("_dt")],
)
