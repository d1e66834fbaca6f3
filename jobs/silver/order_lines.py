"""silver.order_lines: one row per order line, in yuan, with its order's date.

From bronze.order_lines. Prices written in fen (a unit price at least `fen_ratio` times the
product's highest list price, conf/silver.yaml) are converted to yuan and flagged
`price_was_fen`. A negative quantity is a return only on a return order (status returned); on a
sale it is an error and goes to quarantine. Lines of an order that is not in silver.orders (it was
rejected, or never arrived) go to quarantine too, as do unknown products and non-positive prices.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver import lookups
from jobs.silver.pipeline import Context, SilverJob
from jobs.silver.rules_config import config

FEN = 100


def _orders(ctx: Context) -> DataFrame | None:
    orders = ctx.table("silver.orders")
    if orders is None:
        return None
    return orders.select(F.col("order_id").alias("_o_id"), F.col("is_return").alias("_o_return"),
                         F.col("order_date").alias("_o_date"))


def _max_prices(ctx: Context) -> DataFrame | None:
    products = ctx.table("silver.products")
    if products is None:
        return None
    return products.groupBy(F.col("product_id").alias("_p_id")).agg(F.max("list_price").alias("_p_max_price"))


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    typed = df.withColumns({
        "_qty": fw.parse_int(F.col("quantity")),
        "_price_raw": fw.parse_decimal(F.col("unit_price")),
        "_amount_raw": fw.parse_decimal(F.col("line_amount")),
        "_discount": F.coalesce(fw.parse_decimal(F.col("discount_amount")), F.lit(0).cast("decimal(14,2)")),
        "_line_no": fw.parse_int(F.col("line_no")),
    })
    orders, prices = _orders(ctx), _max_prices(ctx)
    if orders is None:
        typed = typed.withColumns({"_o_id": F.lit(None), "_o_return": F.lit(None).cast("boolean"),
                                   "_o_date": F.lit(None).cast("date")})
    else:
        typed = typed.join(orders, typed["order_id"] == orders["_o_id"], how="left")
    if prices is None:
        typed = typed.withColumns({"_p_id": F.lit(None), "_p_max_price": F.lit(None).cast("decimal(14,2)")})
    else:
        typed = typed.join(F.broadcast(prices), typed["product_id"] == prices["_p_id"], how="left")
    in_fen = F.coalesce(F.col("_price_raw") >= F.col("_p_max_price") * config()["money"]["fen_ratio"], F.lit(False))
    return typed.withColumns({
        "_in_fen": in_fen,
        "_price": F.when(in_fen, F.col("_price_raw") / FEN).otherwise(F.col("_price_raw")).cast("decimal(14,2)"),
        "_amount": F.when(in_fen, F.col("_amount_raw") / FEN).otherwise(F.col("_amount_raw")).cast("decimal(14,2)"),
        "_has_orders": F.lit(orders is not None),
        "_has_products": F.lit(prices is not None),
    })


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    is_return = F.coalesce(F.col("_o_return"), F.lit(False))
    return [
        fw.Rule("missing_order_id", "order_id", fw.missing(F.col("order_id")), "order_id is empty"),
        fw.Rule("bad_line_no", "line_no", F.col("_line_no").isNull(), "line_no is empty or not an integer"),
        fw.Rule("order_not_in_silver", "order_id", F.col("_has_orders") & F.col("_o_id").isNull(),
                "the line's order is not in silver.orders (it was quarantined or never arrived)"),
        fw.Rule("unknown_product", "product_id", F.col("_has_products") & F.col("_p_id").isNull(),
                "product_id is not in silver.products"),
        fw.Rule("bad_quantity", "quantity", F.col("_qty").isNull() | (F.col("_qty") == 0),
                "quantity is empty, zero or not an integer"),
        fw.Rule("negative_quantity", "quantity", (F.col("_qty") < 0) & ~is_return,
                "negative quantity on a sale (only return orders carry negative quantities)"),
        fw.Rule("bad_price", "unit_price", F.col("_price").isNull() | (F.col("_price") <= 0),
                "unit_price is empty, zero, negative or not a number"),
        fw.Rule("bad_amount", "line_amount", F.col("_amount").isNull(), "line_amount is empty or not a number"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("order_id"),
        F.col("_line_no").alias("line_no"),
        F.col("_o_date").alias("order_date"),
        F.trim("product_id").alias("product_id"),
        F.col("_qty").alias("quantity"),
        F.col("_price").alias("unit_price"),
        F.col("_discount").alias("discount_amount"),
        F.col("_amount").alias("line_amount"),
        (F.col("_qty") < 0).alias("is_return"),
        F.col("_in_fen").alias("price_was_fen"),
        F.col("_source_file").alias("source_file"),
    )


def check_view(rows: DataFrame, ctx: Context) -> DataFrame:
    """The data checks also see how far line_amount is from quantity x unit_price - discount, and
    whether each line's order and product exist in their tables (relationships)."""
    expected = F.col("quantity") * F.col("unit_price") - F.col("discount_amount")
    view = rows.withColumn("_amount_gap", F.abs(F.col("line_amount") - expected).cast("double"))
    view = lookups.flag_known(view, "order_id", ctx.table("silver.orders"), "order_id", "_order_exists")
    return lookups.flag_known(view, "product_id", ctx.table("silver.products"), "product_id", "_product_exists")


JOB = SilverJob(
    source="order_lines",
    target="silver.order_lines",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("order_id", "_line_no"),
    version_order=lambda: [F.col("_dt")],
    check_view=check_view,
)
