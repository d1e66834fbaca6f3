"""Orders and order lines (ERP/POS): who buys today, when, through which channel, what is in the
basket (persona categories, favourites, promotions, planted bundles), prices, discounts, coupons,
delivery slot and warehouse. All customers of a day at once, vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats
from .almanac import DayContext
from .catalog import BUNDLES, L2_NAMES, N_L2, RESTAURANT_PRICE_FACTOR, Catalog, group_sampler, sample_group
from .customers import FAVOURITES, Population
from .promotions import (L1_OF_L2, NEW_USER_COUPON, SWITCH_GAIN, SWITCH_MAX, Promotion, discount_exposure,
                         purchase_mult)
from .world import (CHANNELS, CASH, CASH_ON_DELIVERY, CITY_WAREHOUSE, N_CITIES, N_PERSONAS, PAYMENTS, PERSONAS,
                    SLOT_START_HOUR, SLOTS, STORE, WAREHOUSES, hour_matrix, persona_array, persona_matrix)

ORDER_ID_WIDTH = 9
CATEGORY_FLOOR = 0.02  # basket weight of categories a persona does not name
HOTPOT_L2 = ("hotpot_base", "frozen_meat", "tofu", "frozen_seafood", "mushroom")
COLD_CATEGORY_GAIN = 0.6
MAX_DAILY_PROB = 0.95
FIRST_ORDER_PROB = 0.5  # probability that a customer orders on their sign-up day
SLOT_LEAD_SECONDS = 2 * 3600
RESTAURANT_LEAD_SECONDS = 3600
NONE = -1
NEW_USER = -2


@dataclass
class Orders:
    """Today's sales, sorted by order time (position = index into these arrays)."""

    number: np.ndarray
    customer: np.ndarray
    persona: np.ndarray
    city: np.ndarray
    secs: np.ndarray
    channel: np.ndarray
    payment: np.ndarray
    promo: np.ndarray  # position in the day's active promotions or NONE
    coupon: np.ndarray  # position in the day's active promotions, NEW_USER or NONE
    coupon_fen: np.ndarray
    discount_fen: np.ndarray
    total_fen: np.ndarray
    slot: np.ndarray  # NONE for store purchases
    delivery_day: np.ndarray  # epoch day of the promised slot
    warehouse: np.ndarray
    driven: np.ndarray  # truth: bought because of a campaign coupon

    @property
    def size(self) -> int:
        return len(self.number)


@dataclass
class Lines:
    """Today's order lines, grouped by order (order = position in Orders)."""

    order: np.ndarray
    line_no: np.ndarray
    product: np.ndarray
    qty: np.ndarray
    price_fen: np.ndarray
    discount_fen: np.ndarray
    amount_fen: np.ndarray


def base_category_weights(catalog_l2_names: tuple[str, ...] = L2_NAMES) -> np.ndarray:
    """Persona x category_l2 basket weights (unnamed categories get CATEGORY_FLOOR)."""
    weights = np.full((N_PERSONAS, len(catalog_l2_names)), CATEGORY_FLOOR)
    for p, persona in enumerate(PERSONAS):
        for l2, weight in persona.categories.items():
            weights[p, catalog_l2_names.index(l2)] = weight
    return weights


BASE_WEIGHTS = base_category_weights()
HOTPOT_MASK = np.isin(np.array(L2_NAMES), HOTPOT_L2)


def category_shares(ctx: DayContext) -> np.ndarray:
    """Today's basket category mix per (persona, city) row (persona * N_CITIES + city): cold weather
    raises hot-pot categories. Holiday spikes are added as extra lines (see _add_spike_lines)."""
    cold = 1.0 + COLD_CATEGORY_GAIN * ctx.coldness[:, None] * HOTPOT_MASK[None, :]  # (cities, l2)
    weights = (BASE_WEIGHTS[:, None, :] * cold[None, :, :]).reshape(N_PERSONAS * N_CITIES, N_L2)
    return weights / weights.sum(axis=1, keepdims=True)


def category_keys(ctx: DayContext) -> np.ndarray:
    """Sampling keys of today's category mix: row r holds r + cumulative share."""
    shares = np.cumsum(category_shares(ctx), axis=1)
    shares[:, -1] = 1.0
    return (np.arange(len(shares))[:, None] + shares).ravel()


def sample_categories(keys: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """category_l2 per line from the key table (rows = persona * N_CITIES + city)."""
    return np.searchsorted(keys, rows + u, side="right") - rows * N_L2


def choose(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element from row probs[rows[i]]."""
    return formats.choose(rng, probs, rows)


def daily_probability(pop: Population, ctx: DayContext, active_mult: np.ndarray,
                      exposure_depth: np.ndarray) -> np.ndarray:
    """Each customer's probability of ordering today."""
    day_mult = persona_array("offday_mult" if ctx.off else "workday_mult")[pop.persona]
    cold = 1.0 + persona_array("cold_gain")[pop.persona] * ctx.coldness[pop.city]
    rain = np.where(ctx.rainy[pop.city], persona_array("rain_mult")[pop.persona], 1.0)
    prob = (persona_array("rate")[pop.persona] * pop.rate_mult * day_mult * cold * rain * ctx.rate_mult
            * purchase_mult(exposure_depth, pop.sensitivity) * active_mult)
    signing_up = pop.signup_day == ctx.index
    return np.minimum(np.where(signing_up, FIRST_ORDER_PROB, prob), MAX_DAILY_PROB)


def order_times(rng: np.random.Generator, pop: Population, buyers: np.ndarray, ctx: DayContext) -> np.ndarray:
    """Order time of each buyer from the persona's hourly profile (sign-ups order after signing up)."""
    hour = choose(rng, hour_matrix(ctx.off), pop.persona[buyers])
    secs = ctx.start + hour * 3600 + rng.integers(0, 3600, len(buyers))
    after_signup = pop.signup_secs[buyers] + rng.integers(300, 7200, len(buyers))
    last = ctx.start + formats.SECONDS_PER_DAY - 1
    return np.where(pop.signup_day[buyers] == ctx.index, np.minimum(after_signup, last), secs)


def draw_baskets(rng: np.random.Generator, pop: Population, catalog: Catalog, ctx: DayContext,
                 customers: np.ndarray, exposure: tuple[np.ndarray, np.ndarray],
                 active: list[Promotion]) -> tuple[np.ndarray, np.ndarray]:
    """(order position, product) of every basket line, bundles added, duplicates merged."""
    persona = pop.persona[customers]
    lo_hi = np.array([p.lines_range for p in PERSONAS])[persona]
    n_lines = np.clip(rng.poisson(persona_array("lines_mean")[persona]), lo_hi[:, 0], lo_hi[:, 1])
    order = np.repeat(np.arange(len(customers)), n_lines)
    cust = customers[order]
    rows = pop.persona[cust] * N_CITIES + pop.city[cust]
    product = catalog.sample_in_l2(sample_categories(category_keys(ctx), rows, rng.random(len(order))),
                                   rng.random(len(order)))
    favourite = rng.random(len(order)) < persona_array("favourite_prob")[pop.persona[cust]]
    picks = pop.favourites[cust[favourite], rng.integers(0, FAVOURITES, favourite.sum())]
    product[favourite] = picks
    product = _switch_to_promotions(rng, pop, catalog, cust, product, exposure, active)
    order_rows = persona * N_CITIES + pop.city[customers]
    order, product = _add_spike_lines(rng, catalog, ctx, order, product, order_rows, n_lines)
    order, product = _add_bundles(rng, catalog, order, product)
    return _merge_duplicates(order, product, catalog.size)


def _switch_to_promotions(rng: np.random.Generator, pop: Population, catalog: Catalog, cust: np.ndarray,
                          product: np.ndarray, exposure: tuple[np.ndarray, np.ndarray],
                          active: list[Promotion]) -> np.ndarray:
    """Price-sensitive customers move basket lines into promoted categories."""
    depth, which = exposure[0][cust], exposure[1][cust]
    prob = np.minimum(SWITCH_MAX, SWITCH_GAIN * pop.sensitivity[cust] * depth)
    switch = (which >= 0) & (rng.random(len(cust)) < prob)
    l1_target = np.full(len(cust), -1)
    for position, promo in enumerate(active):
        l1_target[switch & (which == position)] = promo.l1
    u = rng.random(len(cust))
    for l1 in np.unique(l1_target[switch]):
        lines = np.flatnonzero(switch & (l1_target == l1))
        group = group_sampler(catalog, L1_OF_L2[catalog.l2] == l1)
        product[lines] = sample_group(group, u[lines])
    return product


def _add_spike_lines(rng: np.random.Generator, catalog: Catalog, ctx: DayContext, order: np.ndarray,
                     product: np.ndarray, order_rows: np.ndarray, n_lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Holiday demand: a category with multiplier m gets Poisson((m - 1) x its expected lines) extra
    lines per order, so its demand per order is about m times the usual."""
    spiked = np.flatnonzero(ctx.category_mult > 1.0)
    if len(spiked) == 0:
        return order, product
    shares = category_shares(ctx)
    orders, products = [order], [product]
    for l2 in spiked:
        expected = (ctx.category_mult[l2] - 1.0) * n_lines * shares[order_rows, l2]
        extra = np.repeat(np.arange(len(n_lines)), rng.poisson(expected))
        orders.append(extra)
        products.append(catalog.sample_in_l2(np.full(len(extra), l2), rng.random(len(extra))))
    return np.concatenate(orders), np.concatenate(products)


def _add_bundles(rng: np.random.Generator, catalog: Catalog, order: np.ndarray,
                 product: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each antecedent line (lines added by earlier bundles included) adds a consequent line with the
    bundle's attach probability."""
    for bundle in BUNDLES:
        antecedent = catalog.members(bundle.antecedent)[product] & (rng.random(len(product)) < bundle.attach_prob)
        group = group_sampler(catalog, catalog.members(bundle.consequent))
        order = np.concatenate([order, order[antecedent]])
        product = np.concatenate([product, sample_group(group, rng.random(int(antecedent.sum())))])
    return order, product


def _merge_duplicates(order: np.ndarray, product: np.ndarray, n_products: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first line of each (order, product), lines ordered by order then first appearance."""
    _, first = np.unique(order * n_products + product, return_index=True)
    keep = first[np.lexsort((first, order[first]))]
    return order[keep], product[keep]


def line_numbers(order: np.ndarray, n_orders: int) -> np.ndarray:
    """1-based line number within each order (lines grouped by order)."""
    counts = np.bincount(order, minlength=n_orders)
    starts = np.cumsum(counts) - counts
    return np.arange(len(order)) - starts[order] + 1


def price_lines(rng: np.random.Generator, pop: Population, catalog: Catalog, customers: np.ndarray,
                order: np.ndarray, product: np.ndarray, active: list[Promotion]) -> tuple[Lines, np.ndarray]:
    """Quantities, prices and promotion discounts of the lines; also each line's promotion position."""
    cust = customers[order]
    persona = pop.persona[cust]
    qty = (np.array([p.qty_base for p in PERSONAS])[persona] + rng.poisson(persona_array("qty_extra")[persona]))
    restaurant = np.array([p.restaurant for p in PERSONAS])[persona]
    price = np.where(restaurant, np.round(catalog.price_fen[product] * RESTAURANT_PRICE_FACTOR),
                     catalog.price_fen[product]).astype(np.int64)
    depth = np.zeros(len(order))
    promo = np.full(len(order), NONE)
    l1 = L1_OF_L2[catalog.l2[product]]
    for position, p in enumerate(active):
        if p.promo_type == "coupon":
            continue
        better = (l1 == p.l1) & p.tier_ok(pop.level[cust]) & (p.depth > depth)
        depth = np.where(better, p.depth, depth)
        promo = np.where(better, position, promo)
    gross = qty * price
    discount = np.round(gross * depth).astype(np.int64)
    lines = Lines(order=order, line_no=line_numbers(order, len(customers)), product=product, qty=qty,
                  price_fen=price, discount_fen=discount, amount_fen=gross - discount)
    return lines, promo


def _order_promo(lines: Lines, line_promo: np.ndarray, n_orders: int) -> np.ndarray:
    """Promotion of each order: that of its most discounted line (NONE when no line is discounted)."""
    promo = np.full(n_orders, NONE)
    discounted = np.flatnonzero(line_promo >= 0)
    ranked = discounted[np.lexsort((-lines.discount_fen[discounted], lines.order[discounted]))]
    orders, first = np.unique(lines.order[ranked], return_index=True)
    promo[orders] = line_promo[ranked[first]]
    return promo


def _apply_coupons(pop: Population, customers: np.ndarray, subtotal: np.ndarray, promo: np.ndarray,
                   active: list[Promotion]) -> tuple[np.ndarray, np.ndarray]:
    """Campaign coupons (first eligible order of an A customer) and the new-user coupon."""
    coupon = np.full(len(customers), NONE)
    value = np.zeros(len(customers), dtype=np.int64)
    for position, p in enumerate(active):
        if p.promo_type != "coupon":
            continue
        use = (coupon == NONE) & (p.arm[customers] == 0) & ~p.used[customers] & (subtotal >= p.threshold_fen)
        coupon[use], value[use] = position, p.coupon_fen
        promo[use & (promo == NONE)] = position
        p.used[customers[use]] = True
    _, new_value, threshold = NEW_USER_COUPON
    new_user = (coupon == NONE) & ~pop.has_ordered[customers] & (subtotal >= threshold)
    coupon[new_user], value[new_user] = NEW_USER, new_value
    return coupon, value


def make_orders(rng: np.random.Generator, pop: Population, catalog: Catalog, ctx: DayContext,
                buyers: np.ndarray, driven: np.ndarray, active: list[Promotion],
                next_number: int) -> tuple[Orders, Lines]:
    """Build today's orders and lines for the buyers (driven = coupon-driven flags)."""
    secs = order_times(rng, pop, buyers, ctx)
    by_time = np.lexsort((buyers, secs))
    customers, secs, driven = buyers[by_time], secs[by_time], driven[by_time]
    exposure = discount_exposure(active, pop.level)
    order, product = draw_baskets(rng, pop, catalog, ctx, customers, exposure, active)
    lines, line_promo = price_lines(rng, pop, catalog, customers, order, product, active)
    n = len(customers)
    subtotal = np.bincount(lines.order, weights=lines.amount_fen, minlength=n).round().astype(np.int64)
    promo = _order_promo(lines, line_promo, n)
    coupon, coupon_fen = _apply_coupons(pop, customers, subtotal, promo, active)
    pop.has_ordered[customers] = True
    channel, payment, slot, delivery_day = _fulfilment(rng, pop, customers, secs, ctx)
    orders = Orders(
        number=next_number + np.arange(n), customer=customers, persona=pop.persona[customers],
        city=pop.city[customers].copy(), secs=secs, channel=channel, payment=payment, promo=promo, coupon=coupon,
        coupon_fen=coupon_fen,
        discount_fen=np.bincount(lines.order, weights=lines.discount_fen, minlength=n).round().astype(np.int64),
        total_fen=subtotal - coupon_fen, slot=slot, delivery_day=delivery_day,
        warehouse=CITY_WAREHOUSE[pop.city[customers]], driven=driven)
    np.add.at(pop.points, customers, orders.total_fen / 100.0)
    return orders, lines


def _fulfilment(rng: np.random.Generator, pop: Population, customers: np.ndarray, secs: np.ndarray,
                ctx: DayContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Channel, payment method, delivery slot and promised delivery day of each order."""
    persona = pop.persona[customers]
    channel = choose(rng, persona_matrix("channels", CHANNELS), persona)
    payment = choose(rng, persona_matrix("payments", PAYMENTS), persona)
    store = channel == STORE
    payment = np.where(~store & (payment == CASH), CASH_ON_DELIVERY, payment)
    payment = np.where(store & (payment == CASH_ON_DELIVERY), CASH, payment)
    slot = np.where(store, NONE, choose(rng, persona_matrix("slots", SLOTS), persona))
    lead = np.where(np.array([p.restaurant for p in PERSONAS])[persona], RESTAURANT_LEAD_SECONDS, SLOT_LEAD_SECONDS)
    same_day = ctx.start + SLOT_START_HOUR[np.maximum(slot, 0)] * 3600 >= secs + lead
    delivery_day = np.where(store | same_day, ctx.epoch_day, ctx.epoch_day + 1)
    return channel, payment, slot, delivery_day


def order_ids(numbers: np.ndarray) -> pl.Series:
    """O + 9 digits."""
    return formats.ids("O", numbers, ORDER_ID_WIDTH)


def orders_frame(orders: Orders, active: list[Promotion], customer_id: pl.Series) -> pl.DataFrame:
    """Rows of today's sales in the orders export (contract columns)."""
    coupon_table = [p.coupon_id for p in active] + [NEW_USER_COUPON[0]]
    coupon_index = np.where(orders.coupon == NEW_USER, len(active), orders.coupon)
    order_time = formats.timestamps(orders.secs)
    has_coupon = orders.coupon != NONE
    return pl.DataFrame({
        "order_id": order_ids(orders.number),
        "customer_id": customer_id.gather(orders.customer),
        "order_time": order_time,
        "channel": formats.lookup(CHANNELS, orders.channel),
        "payment_method": formats.lookup(PAYMENTS, orders.payment),
        "status": formats.lookup(("paid", "delivered"), (orders.channel == STORE).astype(np.int64)),
        "ref_order_id": formats.nulls(orders.size),
        "promo_id": formats.lookup([p.promo_id for p in active], orders.promo),
        "coupon_id": formats.lookup(coupon_table, coupon_index),
        "coupon_value": pl.select(pl.when(pl.lit(pl.Series(has_coupon)))
                                  .then(pl.lit(formats.money(orders.coupon_fen)))).to_series(),
        "discount_amount": formats.money(orders.discount_fen),
        "total_amount": formats.money(orders.total_fen),
        "delivery_slot": formats.lookup(SLOTS, orders.slot),
        "warehouse_id": formats.lookup([w.warehouse_id for w in WAREHOUSES], orders.warehouse),
        "updated_at": order_time,
    })


def lines_frame(lines: Lines, orders: Orders, catalog: Catalog) -> pl.DataFrame:
    """Rows of today's sale lines in the order_lines export (contract columns)."""
    numbers = pl.DataFrame({"order": orders.number[lines.order], "line_no": lines.line_no, "qty": lines.qty,
                            "price": lines.price_fen, "discount": lines.discount_fen, "amount": lines.amount_fen,
                            "secs": orders.secs[lines.order]})
    return numbers.select(
        formats.id_expr("order", "O", ORDER_ID_WIDTH).alias("order_id"),
        pl.col("line_no").cast(pl.String),
        pl.lit(catalog.product_id.gather(lines.product)).alias("product_id"),
        pl.col("qty").cast(pl.String).alias("quantity"),
        formats.money_expr("price").alias("unit_price"),
        formats.money_expr("discount").alias("discount_amount"),
        formats.money_expr("amount").alias("line_amount"),
        formats.timestamp_expr("secs").alias("updated_at"),
    )
