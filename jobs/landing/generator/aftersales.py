"""What happens to an order after the sale: natural returns and refunds (a new order with status
`returned`, `ref_order_id` = the sale and negative quantities, in a later day's file) and the
repeated-order-id status updates that are a kind of dirt (the same order_id again, status
`delivered` and for some later `refunded`, with a later updated_at).

Rows carry hidden `_day` (epoch day of the file), and status updates `_dirt` / `_key`.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from . import formats
from .catalog import Catalog
from .dirt import STATUS_UPDATE
from .orders import Lines, Orders, order_ids
from .world import CHANNELS, PAYMENTS, STORE, WAREHOUSES

RETURN_BAD_LINE = 0.35
RETURN_RANDOM = 0.006
RETURN_DELAY_DAYS = (1, 6)
REFUND_SHARE_OF_UPDATES = 0.15
REFUND_DELAY_DAYS = (2, 11)
BUSINESS_HOURS = (9 * 3600, 21 * 3600)
DAY = formats.SECONDS_PER_DAY


def _returned_lines(rng: np.random.Generator, orders: Orders, lines: Lines, received: np.ndarray,
                    failed: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Which lines come back: all lines of failed deliveries, some bad lines, a few random ones."""
    n = orders.size
    counts = np.bincount(lines.order, minlength=n)
    starts = np.cumsum(counts) - counts
    random_order = np.flatnonzero((received >= 0) & (rng.random(n) < RETURN_RANDOM))
    random_line = starts[random_order] + (rng.random(len(random_order)) * counts[random_order]).astype(np.int64)
    returned = failed[lines.order] | (bad & (rng.random(len(bad)) < RETURN_BAD_LINE))
    returned[random_line] = True
    return returned


def returns(rng: np.random.Generator, orders: Orders, lines: Lines, catalog: Catalog, received: np.ndarray,
            failed: np.ndarray, promised_end: np.ndarray, bad: np.ndarray, customer_id: pl.Series,
            next_number: int) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(return orders, return lines, how many order numbers were used)."""
    returned = _returned_lines(rng, orders, lines, received, failed, bad)
    which = np.unique(lines.order[returned])
    base = np.where(failed[which], promised_end[which], received[which])
    delay_days = np.where(failed[which], 1, rng.integers(*RETURN_DELAY_DAYS, len(which)))
    secs = (base // DAY + delay_days) * DAY + rng.integers(*BUSINESS_HOURS, len(which))
    number = next_number + np.arange(len(which))
    position = np.full(orders.size, -1)
    position[which] = np.arange(len(which))
    line_idx = np.flatnonzero(returned)
    ret = position[lines.order[line_idx]]
    amount = np.bincount(ret, weights=lines.amount_fen[line_idx], minlength=len(which)).round().astype(np.int64)
    discount = np.bincount(ret, weights=lines.discount_fen[line_idx], minlength=len(which)).round().astype(np.int64)
    return_time = formats.timestamps(secs)
    head = pl.DataFrame({
        "order_id": order_ids(number),
        "customer_id": customer_id.gather(orders.customer[which]),
        "order_time": return_time,
        "channel": formats.lookup(CHANNELS, orders.channel[which]),
        "payment_method": formats.lookup(PAYMENTS, orders.payment[which]),
        "status": formats.constant("returned", len(which)),
        "ref_order_id": order_ids(orders.number[which]),
        "promo_id": formats.nulls(len(which)),
        "coupon_id": formats.nulls(len(which)),
        "coupon_value": formats.nulls(len(which)),
        "discount_amount": formats.money(-discount),
        "total_amount": formats.money(-amount),
        "delivery_slot": formats.nulls(len(which)),
        "warehouse_id": formats.lookup([w.warehouse_id for w in WAREHOUSES], orders.warehouse[which]),
        "updated_at": return_time,
        "_day": pl.Series(secs // DAY, dtype=pl.Int64),
    })
    order_sort = np.lexsort((line_idx, ret))
    line_idx, ret = line_idx[order_sort], ret[order_sort]
    counts = np.bincount(ret, minlength=len(which))
    line_no = np.arange(len(ret)) - (np.cumsum(counts) - counts)[ret] + 1
    body = pl.DataFrame({
        "order_id": order_ids(number[ret]),
        "line_no": formats.integers(line_no),
        "product_id": catalog.product_id.gather(lines.product[line_idx]),
        "quantity": formats.integers(-lines.qty[line_idx]),
        "unit_price": formats.money(lines.price_fen[line_idx]),
        "discount_amount": formats.money(-lines.discount_fen[line_idx]),
        "line_amount": formats.money(-lines.amount_fen[line_idx]),
        "updated_at": formats.timestamps(secs[ret]),
        "_day": pl.Series(secs[ret] // DAY, dtype=pl.Int64),
    })
    return head, body, len(which)


def status_updates(rng: np.random.Generator, orders: Orders, orders_rows: pl.DataFrame, received: np.ndarray,
                   rate: float) -> pl.DataFrame:
    """Dirt: delivered orders re-exported with status delivered (and some later refunded)."""
    eligible = np.flatnonzero((orders.channel != STORE) & (received >= 0))
    chosen = eligible[rng.random(len(eligible)) < rate]
    refunded = chosen[rng.random(len(chosen)) < REFUND_SHARE_OF_UPDATES]
    refund_secs = ((received[refunded] // DAY + rng.integers(*REFUND_DELAY_DAYS, len(refunded))) * DAY
                   + rng.integers(*BUSINESS_HOURS, len(refunded)))
    parts = []
    for rows, status, secs in ((chosen, "delivered", received[chosen]), (refunded, "refunded", refund_secs)):
        updated = formats.timestamps(secs)
        parts.append(orders_rows[rows].with_columns(
            status=formats.constant(status, len(rows)), updated_at=updated,
            _day=pl.Series(secs // DAY, dtype=pl.Int64), _dirt=formats.constant(STATUS_UPDATE, len(rows)),
            _key=orders_rows["order_id"].gather(rows)))
    return pl.concat(parts)
