"""Inventory (WMS): daily stock per warehouse x product, with batches that expire after the
product's shelf life. Shipped = what the day's sales took; replenishment arrives the next day when
stock falls below a reorder point (emergency receipts cover any shortfall, so stock never goes
negative); consumption is first-expiry-first-out; expired batches are written off.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats
from .catalog import Catalog
from .world import WAREHOUSES

BATCH_SLOTS = 24
DEMAND_SMOOTHING = 0.2
EXPIRING_WINDOW_DAYS = 3
COVER_SHARE_OF_SHELF_LIFE = 0.3
COVER_DAYS = (1, 14)
SAFETY_DAYS = 1.0
ORDER_UP_FACTOR = 1.2
NO_EXPIRY = np.iinfo(np.int64).max


@dataclass
class Stock:
    """Batches per item (item = warehouse * products + product), sorted by expiry."""

    qty: np.ndarray  # (items, BATCH_SLOTS)
    expiry: np.ndarray  # epoch day, NO_EXPIRY for empty slots
    demand: np.ndarray  # smoothed daily demand
    incoming: np.ndarray  # quantity arriving tomorrow
    shelf_life: np.ndarray
    started: bool = False


def new_stock(catalog: Catalog) -> Stock:
    """Empty stock; the first day's demand sizes the opening stock."""
    items = len(WAREHOUSES) * catalog.size
    return Stock(qty=np.zeros((items, BATCH_SLOTS), dtype=np.int64),
                 expiry=np.full((items, BATCH_SLOTS), NO_EXPIRY, dtype=np.int64),
                 demand=np.zeros(items), incoming=np.zeros(items, dtype=np.int64),
                 shelf_life=np.tile(catalog.shelf_life, len(WAREHOUSES)))


def _cover_days(stock: Stock) -> np.ndarray:
    return np.clip(np.round(stock.shelf_life * COVER_SHARE_OF_SHELF_LIFE), *COVER_DAYS)


def _receive(stock: Stock, qty: np.ndarray, expiry: np.ndarray) -> None:
    """Add one batch per item (into the first empty slot, else merged into the newest)."""
    items = np.flatnonzero(qty > 0)
    empty = stock.qty[items] == 0
    slot = np.where(empty.any(axis=1), empty.argmax(axis=1), BATCH_SLOTS - 1)
    stock.qty[items, slot] += qty[items]
    stock.expiry[items, slot] = np.where(stock.expiry[items, slot] == NO_EXPIRY, expiry[items],
                                         np.maximum(stock.expiry[items, slot], expiry[items]))


def _sort_batches(stock: Stock) -> None:
    stock.expiry = np.where(stock.qty > 0, stock.expiry, NO_EXPIRY)
    order = np.argsort(stock.expiry, axis=1, kind="stable")
    stock.qty = np.take_along_axis(stock.qty, order, axis=1)
    stock.expiry = np.take_along_axis(stock.expiry, order, axis=1)


def _opening_stock(stock: Stock, rng: np.random.Generator, shipped: np.ndarray, today: int) -> None:
    """Size the opening stock from the first day's demand, with batches of various ages."""
    stock.demand = shipped.astype(np.float64) + 1.0
    qty = np.ceil(stock.demand * (_cover_days(stock) + SAFETY_DAYS)).astype(np.int64)
    age = (rng.random(len(qty)) * stock.shelf_life * 0.5).astype(np.int64)
    _receive(stock, qty, today + stock.shelf_life - age)
    stock.started = True


def day_inventory(stock: Stock, rng: np.random.Generator, shipped: np.ndarray, today: int) -> dict[str, np.ndarray]:
    """Advance one day; returns the figures of the inventory export per item."""
    if not stock.started:
        _opening_stock(stock, rng, shipped, today)
    received = stock.incoming.copy()
    _receive(stock, received, np.full(len(received), today) + stock.shelf_life)
    _sort_batches(stock)
    shortfall = np.maximum(shipped - stock.qty.sum(axis=1), 0)
    _receive(stock, shortfall, np.full(len(shortfall), today) + stock.shelf_life)
    _sort_batches(stock)
    received = received + shortfall
    cumulative = np.cumsum(stock.qty, axis=1)
    stock.qty = np.clip(cumulative - shipped[:, None], 0, stock.qty)
    stock.qty[stock.expiry <= today] = 0  # write off what expires today
    _sort_batches(stock)
    on_hand = stock.qty.sum(axis=1)
    stock.demand = (1 - DEMAND_SMOOTHING) * stock.demand + DEMAND_SMOOTHING * shipped
    reorder = on_hand < stock.demand * (1 + SAFETY_DAYS)
    stock.incoming = np.where(reorder, np.ceil(stock.demand * _cover_days(stock) * ORDER_UP_FACTOR), 0).astype(np.int64)
    expiring = (stock.expiry <= today + EXPIRING_WINDOW_DAYS) & (stock.qty > 0)
    return {"on_hand": on_hand, "received": received, "shipped": shipped,
            "expiring": (stock.qty * expiring).sum(axis=1), "nearest": stock.expiry[:, 0]}


def inventory_frame(figures: dict[str, np.ndarray], catalog: Catalog, today: int) -> pl.DataFrame:
    """Rows of the inventory export (contract columns), warehouse by warehouse."""
    items = len(figures["on_hand"])
    product = np.tile(np.arange(catalog.size), len(WAREHOUSES))
    warehouse = np.repeat(np.arange(len(WAREHOUSES)), catalog.size)
    nearest = figures["nearest"]
    has_stock = pl.Series(nearest != NO_EXPIRY)
    return pl.DataFrame({
        "snapshot_date": formats.constant(formats.date_str(today), items),
        "warehouse_id": formats.lookup([w.warehouse_id for w in WAREHOUSES], warehouse),
        "product_id": catalog.product_id.gather(product),
        "on_hand_qty": formats.integers(figures["on_hand"]),
        "received_qty": formats.integers(figures["received"]),
        "shipped_qty": formats.integers(figures["shipped"]),
        "expiring_qty": formats.integers(figures["expiring"]),
        "nearest_expiry_date": pl.select(pl.when(pl.lit(has_stock)).then(
            pl.lit(formats.dates(np.where(nearest == NO_EXPIRY, today, nearest))))).to_series(),
    })


def shipped_today(warehouse: np.ndarray, product: np.ndarray, qty: np.ndarray, n_products: int) -> np.ndarray:
    """Units shipped per item from sale lines."""
    return np.bincount(warehouse * n_products + product, weights=qty,
                       minlength=len(WAREHOUSES) * n_products).round().astype(np.int64)
