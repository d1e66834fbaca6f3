"""gold.supply_inventory: stock health per warehouse and product as of D (turnover, cover, shelf life).

Grain: one row per as-of date D x warehouse x product in the warehouse's latest inventory snapshot
on or before D (snapshot_date says which; normally D itself).

Window: the `supply.demand_window_days` days ending at D (conf/gold.yaml, default 28).
- on_hand_qty, expiring_qty, nearest_expiry_date: from that snapshot (silver.inventory).
- units_sold: units of completed-sale lines (AsOf.sale_lines) of orders served from the warehouse
  (orders.warehouse_id) dated in the window; avg_daily_demand = units_sold / window days.
- avg_on_hand: mean on_hand_qty over the warehouse's snapshots of the product in the window;
  inventory_turnover = units_sold / avg_on_hand (turns over the window; null without stock).
- days_of_cover = on_hand_qty / avg_daily_demand (null without demand).
- days_to_expiry = nearest_expiry_date - D (negative: expired); shelf_life_days from the product
  version valid at D; remaining_shelf_life_share = days_to_expiry / shelf_life_days, clipped to
  [0, 1] (null without an expiry date or shelf life).
- near_shelf_life: stock on hand whose remaining_shelf_life_share is below
  `supply.shelf_life_warning_share` (default 0.25): the shelf-life reminder.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob
from jobs.gold.habits import in_window, ratio

KEY = ["warehouse_id", "product_id"]


def transform(inventory: DataFrame, sold: DataFrame, products: DataFrame, day: dt.date, window_days: int,
              warning_share: float) -> DataFrame:
    """Rows of gold.supply_inventory. `inventory`: silver.inventory cut at `day`; `sold`: completed-sale
    lines with their order's warehouse (warehouse_id, product_id, order_date, quantity);
    `products`: versions valid at `day` (product_id, category_l1, category_l2, storage_type,
    shelf_life_days)."""
    latest_day = F.max("snapshot_date").over(Window.partitionBy("warehouse_id"))
    latest = (inventory.withColumn("_latest", latest_day).filter(F.col("snapshot_date") == F.col("_latest"))
              .select(*KEY, "snapshot_date", "on_hand_qty", "expiring_qty", "nearest_expiry_date"))
    stock = (inventory.filter(in_window("snapshot_date", day, window_days))
             .groupBy(*KEY).agg(F.avg("on_hand_qty").alias("avg_on_hand")))
    demand = (sold.filter(in_window("order_date", day, window_days))
              .groupBy(*KEY).agg(F.sum("quantity").alias("units_sold")))
    rows = (latest.join(stock, KEY, "left").join(demand, KEY, "left")
            .join(products.select("product_id", "category_l1", "category_l2", "storage_type", "shelf_life_days"),
                  "product_id", "left")
            .fillna(0, subset=["units_sold"]))
    daily = F.col("units_sold") / F.lit(float(window_days))
    to_expiry = F.datediff(F.col("nearest_expiry_date"), F.lit(day))
    share = ratio(to_expiry, F.col("shelf_life_days"))
    remaining = F.when(share.isNotNull(), F.greatest(F.lit(0.0), F.least(F.lit(1.0), share)))  # greatest skips nulls
    return rows.select(
        "warehouse_id", "product_id", "category_l1", "category_l2", "storage_type", "snapshot_date",
        F.col("on_hand_qty").cast("long").alias("on_hand_qty"),
        F.col("expiring_qty").cast("long").alias("expiring_qty"),
        F.col("units_sold").cast("long").alias("units_sold"),
        daily.alias("avg_daily_demand"),
        F.col("avg_on_hand").cast("double").alias("avg_on_hand"),
        ratio(F.col("units_sold"), F.col("avg_on_hand")).alias("inventory_turnover"),
        ratio(F.col("on_hand_qty"), daily).alias("days_of_cover"),
        "nearest_expiry_date", to_expiry.alias("days_to_expiry"),
        F.col("shelf_life_days").cast("int").alias("shelf_life_days"),
        remaining.alias("remaining_shelf_life_share"),
        F.coalesce((F.col("on_hand_qty") > 0) & (remaining < F.lit(float(warning_share))), F.lit(False))
        .alias("near_shelf_life"),
    )


def build(asof: AsOf) -> DataFrame:
    supply = config.load()["supply"]
    warehouses = asof.sales().select("order_id", "warehouse_id")
    sold = asof.sale_lines().join(warehouses, "order_id", "inner").select(
        "warehouse_id", "product_id", "order_date", "quantity")
    return transform(asof.table("inventory"), sold, asof.table("products"), asof.day,
                     supply["demand_window_days"], supply["shelf_life_warning_share"])


JOB = GoldJob(table="gold.supply_inventory", build=build)
