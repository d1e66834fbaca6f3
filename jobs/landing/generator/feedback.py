"""Reviews and complaints/suggestions: written after an order arrives; ratings drop and complaints
rise after late or failed deliveries and bad products. Each row carries hidden columns `_day`
(epoch day of the file it belongs to) and `_cust` (customer index, to count complaints for churn).
"""
from __future__ import annotations

import numpy as np
import polars as pl

from . import formats, texts
from .catalog import Catalog
from .orders import Lines, Orders, choose
from .world import PROMO_PERSONA, STORE

REVIEW_ID_WIDTH = 9
COMPLAINT_ID_WIDTH = 8
REVIEW_PROB = 0.06
REVIEW_PROB_STORE = 0.02
REVIEW_PROB_BAD_EXTRA = 0.15
RATING_PROBS = np.array([
    [0.02, 0.03, 0.10, 0.30, 0.55],  # normal
    [0.20, 0.30, 0.30, 0.15, 0.05],  # late delivery
    [0.35, 0.30, 0.20, 0.10, 0.05],  # bad product
])
BAD_BATCH_PROB = 0.15  # a line of a quality-issue product is a bad one
COMPLAINT_FAILED = 0.5
COMPLAINT_LATE = 0.15
COMPLAINT_BAD = 0.3
COMPLAINT_WRONG_ITEM = 0.004
COMPLAINT_PRICE_PROMO_HUNTER = 0.01
SUGGESTION_PROB = 0.003
REVIEW_DELAY_MEAN = 12 * 3600
REVIEW_DELAY_MAX = 3 * 86_400
COMPLAINT_DELAY_MEAN = 3 * 3600
COMPLAINT_DELAY_MAX = 2 * 86_400


def bad_lines(rng: np.random.Generator, lines: Lines, catalog: Catalog) -> np.ndarray:
    """Lines whose product arrived in bad condition (quality-issue SKUs, some batches)."""
    return catalog.quality_issue[lines.product] & (rng.random(len(lines.order)) < BAD_BATCH_PROB)


def pick_line(rng: np.random.Generator, lines: Lines, orders_wanted: np.ndarray, bad: np.ndarray,
              n_orders: int) -> np.ndarray:
    """One line per wanted order: its first bad line, else a random line."""
    counts = np.bincount(lines.order, minlength=n_orders)
    starts = np.cumsum(counts) - counts
    pick = starts[orders_wanted] + (rng.random(len(orders_wanted)) * counts[orders_wanted]).astype(np.int64)
    bad_idx = np.flatnonzero(bad)
    first_bad = np.full(n_orders, -1)
    orders_with_bad, first = np.unique(lines.order[bad_idx], return_index=True)
    first_bad[orders_with_bad] = bad_idx[first]
    return np.where(first_bad[orders_wanted] >= 0, first_bad[orders_wanted], pick)


def _delay(rng: np.random.Generator, n: int, mean: int, cap: int) -> np.ndarray:
    return np.minimum(300 + rng.exponential(mean, n), cap).astype(np.int64)


def _templated(rng: np.random.Generator, templates: tuple[tuple[str, str], ...], names: pl.Series) -> pl.Series:
    pick = rng.integers(0, len(templates), len(names))
    return (formats.lookup([t[0] for t in templates], pick) + names
            + formats.lookup([t[1] for t in templates], pick))


def reviews(rng: np.random.Generator, orders: Orders, lines: Lines, catalog: Catalog, received: np.ndarray,
            late: np.ndarray, bad: np.ndarray, order_id: pl.Series, customer_id: pl.Series,
            next_number: int) -> pl.DataFrame:
    """Reviews of today's orders (failed deliveries get none)."""
    order_bad = np.bincount(lines.order, weights=bad, minlength=orders.size) > 0
    prob = np.where(orders.channel == STORE, REVIEW_PROB_STORE, REVIEW_PROB)
    prob = prob + REVIEW_PROB_BAD_EXTRA * (late | order_bad)
    wanted = np.flatnonzero((received >= 0) & (rng.random(orders.size) < prob))
    line = pick_line(rng, lines, wanted, bad, orders.size)
    situation = np.where(bad[line], 2, np.where(late[wanted], 1, 0))
    rating = choose(rng, RATING_PROBS, situation) + 1
    names = catalog.name.gather(lines.product[line])
    text = pl.select(
        pl.when(pl.lit(pl.Series(situation == 2))).then(pl.lit(_templated(rng, texts.REVIEW_BAD, names)))
        .when(pl.lit(pl.Series(situation == 1))).then(pl.lit(_templated(rng, texts.REVIEW_LATE, names)))
        .when(pl.lit(pl.Series(rating >= 4))).then(pl.lit(_templated(rng, texts.REVIEW_GOOD, names)))
        .otherwise(pl.lit(_templated(rng, texts.REVIEW_MIXED, names)))).to_series()
    created = received[wanted] + _delay(rng, len(wanted), REVIEW_DELAY_MEAN, REVIEW_DELAY_MAX)
    return pl.DataFrame({
        "review_id": formats.ids("R", next_number + np.arange(len(wanted)), REVIEW_ID_WIDTH),
        "order_id": order_id.gather(wanted),
        "customer_id": customer_id.gather(orders.customer[wanted]),
        "product_id": catalog.product_id.gather(lines.product[line]),
        "rating": pl.Series(rating, dtype=pl.Int64),
        "review_text": text,
        "created_at": formats.timestamps(created),
        "_day": pl.Series(created // formats.SECONDS_PER_DAY, dtype=pl.Int64),
        "_cust": pl.Series(orders.customer[wanted], dtype=pl.Int64),
    })


def _complaint_category(rng: np.random.Generator, orders: Orders, late: np.ndarray, failed: np.ndarray,
                        order_bad: np.ndarray) -> np.ndarray:
    """Complaint category index per order (-1 = none), most serious reason first."""
    u = rng.random((4, orders.size))
    cat = texts.COMPLAINT_CATEGORIES
    category = np.full(orders.size, -1)
    price = (orders.persona == PROMO_PERSONA) & (u[3] < COMPLAINT_PRICE_PROMO_HUNTER)
    category = np.where(price, cat.index("price"), category)
    category = np.where(~failed & (u[2] < COMPLAINT_WRONG_ITEM), cat.index("wrong_item"), category)
    category = np.where(order_bad & (u[1] < COMPLAINT_BAD), cat.index("quality"), category)
    late_complaint = (failed & (u[0] < COMPLAINT_FAILED)) | (late & (u[0] < COMPLAINT_LATE))
    return np.where(late_complaint, cat.index("late_delivery"), category)


def complaints(rng: np.random.Generator, orders: Orders, lines: Lines, received: np.ndarray, late: np.ndarray,
               failed: np.ndarray, bad: np.ndarray, promised_end: np.ndarray, order_id: pl.Series,
               customer_id: pl.Series, next_number: int) -> pl.DataFrame:
    """Complaints and suggestions about today's orders."""
    order_bad = np.bincount(lines.order, weights=bad, minlength=orders.size) > 0
    category = _complaint_category(rng, orders, late, failed, order_bad)
    suggestion = rng.random(orders.size) < SUGGESTION_PROB
    suggestion_category = np.array([texts.COMPLAINT_CATEGORIES.index(c) for c in texts.SUGGESTION_CATEGORIES])[
        rng.integers(0, len(texts.SUGGESTION_CATEGORIES), orders.size)]
    which = np.concatenate([np.flatnonzero(category >= 0), np.flatnonzero(suggestion)])
    kind = np.concatenate([np.zeros(int((category >= 0).sum()), dtype=np.int64), np.ones(int(suggestion.sum()), dtype=np.int64)])
    cat = np.concatenate([category[category >= 0], suggestion_category[suggestion]])
    base = np.where(received[which] >= 0, received[which], promised_end[which])
    created = base + _delay(rng, len(which), COMPLAINT_DELAY_MEAN, COMPLAINT_DELAY_MAX)
    ordered = np.lexsort((which, created))
    which, kind, cat, created = which[ordered], kind[ordered], cat[ordered], created[ordered]
    flat = [t for c in texts.COMPLAINT_CATEGORIES for t in texts.COMPLAINT_TEXT[c]]
    offsets = np.cumsum([0] + [len(texts.COMPLAINT_TEXT[c]) for c in texts.COMPLAINT_CATEGORIES])
    counts = np.diff(offsets)
    text_index = offsets[cat] + (rng.random(len(cat)) * counts[cat]).astype(np.int64)
    return pl.DataFrame({
        "complaint_id": formats.ids("CS", next_number + np.arange(len(which)), COMPLAINT_ID_WIDTH),
        "customer_id": customer_id.gather(orders.customer[which]),
        "order_id": order_id.gather(which),
        "kind": formats.lookup(("complaint", "suggestion"), kind),
        "category": formats.lookup(texts.COMPLAINT_CATEGORIES, cat),
        "text": formats.lookup(flat, text_index),
        "created_at": formats.timestamps(created),
        "_day": pl.Series(created // formats.SECONDS_PER_DAY, dtype=pl.Int64),
        "_cust": pl.Series(orders.customer[which], dtype=pl.Int64),
    })
