"""Baskets for association rules: one row per completed sale order up to a cutoff date.

Grain: one row per order with at least one item, `items` the sorted distinct non-null values of the
item column (`product_id`, or `category_l2` for category-level rules) over the order's sale lines.
Quantities do not matter to FP-growth (an item is in the basket or not), and FP-growth needs each
item once per basket.

Nothing after the cutoff reaches a basket: lines are kept only when `order_date <= cutoff` (and
`baskets_as_of` reads silver through `AsOf`, which cuts at the same date).

The guard against huge baskets
------------------------------
Wholesale and restaurant orders can hold hundreds of distinct items (the UCI Online Retail data has
invoices of 541 stock codes). Such a basket is a problem for FP-growth in three ways: it holds
2^n itemsets, so at a low support it alone makes a mass of "frequent" combinations; it makes a
deep FP-tree path, which MLlib serialises recursively and which overflows the default 1 MB thread
stack (see `habitlake.spark.THREAD_STACK` and tests/models/test_basket_uci.py); and a bulk
purchase for resale says little about what a shopper puts in a cart, which is what the rules are
for. So baskets of more than `max_items` distinct items are EXCLUDED from mining; they are neither
truncated (which would invent itemsets that nobody bought) nor sampled. They are counted, not
silently dropped: `guard` returns them in its stats (`orders_oversized`, `oversized_share`,
`items_in_oversized`, `largest_basket`), for the runner to log. The default of 50 sits well above
every consumer basket of the simulated grocer (at most ~25 lines) and cuts the UCI data's long tail
(1,506 of 18,532 invoices have more than 50 distinct items). `max_items=None` turns the guard off.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DEFAULT_MAX_ITEMS = 50
ITEM_COLUMNS = ("product_id", "category_l2")
BASKET_COLUMNS = ("order_id", "customer_id", "order_date", "items", "n_items")


def _day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def baskets(sale_lines: DataFrame, cutoff: str | dt.date | None = None, item_col: str = "product_id") -> DataFrame:
    """One row per order of `sale_lines` dated on or before `cutoff` (None: all):
    order_id, customer_id, order_date, items (sorted distinct, nulls dropped), n_items.

    `sale_lines` has the columns of `AsOf.sale_lines()` that matter here: order_id, customer_id,
    order_date and the item column; it must hold completed sales only (returns and cancelled or
    refunded orders are not baskets), as `AsOf.sale_lines()` does.
    """
    if item_col not in ITEM_COLUMNS:
        raise ValueError(f"item_col must be one of {ITEM_COLUMNS}, got {item_col!r}")
    lines = sale_lines if cutoff is None else sale_lines.filter(F.col("order_date") <= F.lit(_day(cutoff)))
    grouped = (
        lines.filter(F.col(item_col).isNotNull())
        .groupBy("order_id")
        .agg(F.first("customer_id", ignorenulls=True).alias("customer_id"),
             F.min("order_date").alias("order_date"),
             F.array_sort(F.collect_set(F.col(item_col).cast("string"))).alias("items"))
    )
    return grouped.select(
        F.col("order_id").cast("string").alias("order_id"),
        F.col("customer_id").cast("string").alias("customer_id"),
        F.col("order_date").cast("date").alias("order_date"),
        F.col("items"),
        F.size("items").alias("n_items"),
    )


def guard(basket_rows: DataFrame, max_items: int | None = DEFAULT_MAX_ITEMS) -> tuple[DataFrame, dict]:
    """(baskets with at most `max_items` items, stats). The stats count every basket and the ones
    held back: orders, orders_kept, orders_oversized, oversized_share, items_in_oversized (item
    occurrences in them), largest_basket, max_items (None: no guard, nothing held back).
    Computes the stats with one aggregation (a Spark job)."""
    if max_items is not None and max_items < 2:
        raise ValueError(f"max_items must be at least 2 (a rule needs two items), got {max_items}")
    limit = F.lit(max_items if max_items is not None else 2**31 - 1)
    oversized = F.col("n_items") > limit
    row = basket_rows.agg(
        F.count(F.lit(1)).alias("orders"),
        F.sum(F.when(oversized, 1).otherwise(0)).alias("orders_oversized"),
        F.sum(F.when(oversized, F.col("n_items")).otherwise(0)).alias("items_in_oversized"),
        F.max("n_items").alias("largest_basket"),
    ).first()
    orders, over = int(row["orders"]), int(row["orders_oversized"] or 0)
    stats = {
        "orders": orders,
        "orders_kept": orders - over,
        "orders_oversized": over,
        "oversized_share": over / orders if orders else 0.0,
        "items_in_oversized": int(row["items_in_oversized"] or 0),
        "largest_basket": int(row["largest_basket"] or 0),
        "max_items": max_items,
    }
    return basket_rows.filter(~oversized), stats


def basket_features(sale_lines: DataFrame, cutoff: str | dt.date | None, item_col: str = "product_id",
                    max_items: int | None = DEFAULT_MAX_ITEMS) -> tuple[DataFrame, dict]:
    """`baskets` then `guard`: the baskets to mine as of `cutoff` and the guard's stats."""
    return guard(baskets(sale_lines, cutoff, item_col), max_items)


def baskets_as_of(asof, item_col: str = "product_id",
                  max_items: int | None = DEFAULT_MAX_ITEMS) -> tuple[DataFrame, dict]:
    """The guarded baskets of every completed sale known at the end of the as-of date
    (`asof` is a `jobs.gold.asof.AsOf`)."""
    return basket_features(asof.sale_lines(), asof.day, item_col, max_items)
