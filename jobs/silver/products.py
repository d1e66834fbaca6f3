"""silver.products: one row per product version (slowly changing dimension, type 2).

From bronze.products (ERP snapshots: a full export, then new and changed rows). A price or cost
change keeps the old version with `valid_from` / `valid_to`; `is_current` marks the latest.
Money is yuan as decimal(14,2); storage type is mapped onto frozen / chilled / ambient.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver.pipeline import VALID_FROM, Context, SilverJob, as_versions
from jobs.silver.rules_config import conform_code

TRACKED = ("product_name", "category_l1", "category_l2", "brand", "list_price", "unit_cost",
           "shelf_life_days", "storage_type")


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    return df.withColumns({
        "_updated_ts": fw.parse_local_timestamp(F.col("updated_at"), ctx.tz),
        "_price": fw.parse_decimal(F.col("list_price")),
        "_cost": fw.parse_decimal(F.col("unit_cost")),
        "_shelf": fw.parse_int(F.col("shelf_life_days")),
        "_storage": conform_code(F.col("storage_type"), "storage_type"),
    })


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("missing_product_id", "product_id", fw.missing(F.col("product_id")), "product_id is empty"),
        fw.Rule("bad_timestamp", "updated_at", F.col("_updated_ts").isNull(),
                "updated_at is empty or in no known timestamp layout"),
        fw.Rule("bad_price", "list_price", F.col("_price").isNull() | (F.col("_price") <= 0),
                "list_price is empty, not a number or not positive"),
        fw.Rule("bad_cost", "unit_cost", fw.unparseable(F.col("unit_cost"), F.col("_cost")),
                "unit_cost is not a number"),
        fw.Rule("unknown_storage_type", "storage_type", F.col("_storage").isNull(),
                "storage_type is not frozen, chilled or ambient"),
    ]


def output(df: DataFrame) -> DataFrame:
    typed = df.select(
        F.trim("product_id").alias("product_id"),
        F.trim("product_name").alias("product_name"),
        F.lower(F.trim("category_l1")).alias("category_l1"),
        F.lower(F.trim("category_l2")).alias("category_l2"),
        F.trim("brand").alias("brand"),
        F.col("_price").alias("list_price"),
        F.col("_cost").alias("unit_cost"),
        F.col("_shelf").alias("shelf_life_days"),
        F.col("_storage").alias("storage_type"),
        F.col("_updated_ts").alias(VALID_FROM),
    )
    return as_versions(typed, TRACKED)


JOB = SilverJob(
    source="products",
    target="silver.products",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("product_id", "_updated_ts"),
    version_order=lambda: [F.col("_line")],
    write="history",
    entity_key="product_id",
)
