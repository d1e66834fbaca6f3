"""silver.inventory: one row per warehouse, product and day (the warehouse's daily stock snapshot).

From bronze.inventory (warehouse WMS). Quantities are integers in units; `nearest_expiry_date` is the
expiry of the oldest batch in stock, null when nothing is in stock. A snapshot delivered again is
replaced by the later file's version. Quarantined: malformed lines, snapshot dates empty or in no
known layout, missing warehouse or product ids, products not in silver.products, quantities empty
or not an integer, a negative on-hand quantity, expiry dates in no known layout.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob

QUANTITIES = {"on_hand_qty": "_on_hand", "received_qty": "_received", "shipped_qty": "_shipped",
              "expiring_qty": "_expiring"}


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    typed = df.withColumns({
        "_snapshot": fw.parse_date(F.col("snapshot_date"), ctx.tz),
        "_warehouse_id": fw.text("warehouse_id"),
        "_product_id": fw.text("product_id"),
        "_expiry": fw.parse_date(F.col("nearest_expiry_date"), ctx.tz),
        **{parsed: fw.parse_int(F.col(raw)) for raw, parsed in QUANTITIES.items()},
    })
    products = ctx.table("silver.products")
    return lookups.flag_known(typed, "_product_id", None if products is None else F.broadcast(products),
                              "product_id", "_product_known")


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("bad_date", "snapshot_date", F.col("_snapshot").isNull(),
                "snapshot_date is empty or in no known date layout"),
        fw.Rule("missing_warehouse_id", "warehouse_id", F.col("_warehouse_id").isNull(), "warehouse_id is empty"),
        fw.Rule("missing_product_id", "product_id", F.col("_product_id").isNull(), "product_id is empty"),
        fw.Rule("unknown_product", "product_id", ~F.col("_product_known"), "product_id is not in silver.products"),
        *[fw.Rule("bad_quantity", raw, F.col(parsed).isNull(), f"{raw} is empty or not an integer")
          for raw, parsed in QUANTITIES.items()],
        fw.Rule("negative_on_hand", "on_hand_qty", F.col("_on_hand") < 0, "on_hand_qty is negative"),
        fw.Rule("bad_date", "nearest_expiry_date", fw.unparseable(F.col("nearest_expiry_date"), F.col("_expiry")),
                "nearest_expiry_date is in no known date layout"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("_snapshot").alias("snapshot_date"),
        F.col("_warehouse_id").alias("warehouse_id"),
        F.col("_product_id").alias("product_id"),
        *[F.col(parsed).alias(raw) for raw, parsed in QUANTITIES.items()],
        F.col("_expiry").alias("nearest_expiry_date"),
        F.col("_source_file").alias("source_file"),
    )



JOB = SilverJob(
    source="inventory",
    target="silver.inventory",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_snapshot", "_warehouse_id", "_product_id"),
    version_order=lambda: [F.col("_dt")],
)
