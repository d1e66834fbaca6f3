"""Behaviour events (tracking SDK): the sessions leading to each online order (searches, views and
cart adds of the bought items shortly before the order, then checkout), promo hunters' repeated
cross-platform price comparisons, browsing that does not convert, and anonymous visitors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats
from .almanac import DayContext
from .catalog import CATEGORIES, Catalog
from .customers import Population
from .lifecycle import browse_mult
from .orders import Lines, Orders, category_keys, choose, sample_categories
from .world import (CHANNELS, CITY_WEIGHT, DEVICE_TYPES, N_CITIES, N_PERSONAS, PERSONAS, PLATFORMS, PROMO_PERSONA,
                    hour_matrix, persona_array, persona_matrix)

EVENT_TYPES = ("view", "search", "favorite", "add_cart", "remove_cart", "checkout")
VIEW, SEARCH, FAVORITE, ADD_CART, REMOVE_CART, CHECKOUT = range(len(EVENT_TYPES))
PAGES = ("home", "search_result", "category", "product_detail", "cart", "checkout", "promo")
EVENT_ID_WIDTH = 11
SESSION_ID_WIDTH = 10
DEVICE_ID_WIDTH = 9
VIEW_BOUGHT_PROB = 0.75
PROMO_REPEAT_VIEWS = 1.5  # Poisson mean of extra views per bought line for promo hunters
EXTRA_VIEWS = 1.2
SEARCHES = 0.6
ADD_REMOVE_PROB = 0.12
FAVORITE_PROB = 0.06
COMPARISON_VIEW_PROB = 0.9
COMPARISON_LEAD = (3600, 5 * 3600)
BROWSE_EVENTS = 3.0
BROWSE_TYPE_PROBS = np.array([[0.62, 0.2, 0.05, 0.1, 0.03, 0.0]])
BROWSE_SECONDS = 900
ANON_PER_ACTIVE = 0.02
ANON_EVENTS = 2.5
ANON_PLATFORM_PROBS = np.array([[0.2, 0.5, 0.3]])  # app, web, mini_program
# (start, end) share of the session span in which each event type happens
TYPE_SPAN = np.array([[0.1, 0.7], [0.0, 0.3], [0.3, 0.8], [0.5, 0.95], [0.9, 0.99], [1.0, 1.0]])
WEB = PLATFORMS.index("web")
APP = PLATFORMS.index("app")


@dataclass
class Batch:
    """Events under construction (parallel arrays)."""

    secs: np.ndarray
    etype: np.ndarray
    cust: np.ndarray  # -1 anonymous
    session: np.ndarray
    device: np.ndarray
    device_type: np.ndarray
    platform: np.ndarray
    product: np.ndarray  # -1 none
    l2: np.ndarray  # category of the searched text (search events), -1 otherwise


def _concat(batches: list[Batch]) -> Batch:
    return Batch(*(np.concatenate([getattr(b, f) for b in batches]) for f in Batch.__dataclass_fields__))


def customer_devices(pop: Population, customers: np.ndarray, platform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(device number, device type) of customers on a platform: their phone, or their PC on the web."""
    ios = (pop.device_no[customers] * 7919 % 1000) / 1000 < persona_array("ios_share")[pop.persona[customers]]
    web = platform == WEB
    device = pop.device_no[customers] * 2 + web
    device_type = np.where(web, DEVICE_TYPES.index("pc"), np.where(ios, DEVICE_TYPES.index("ios"),
                                                                   DEVICE_TYPES.index("android")))
    return device, device_type


def _spread(rng: np.random.Generator, etype: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Event times inside [start, end] by the type's share of the session span."""
    lo, hi = TYPE_SPAN[etype, 0], TYPE_SPAN[etype, 1]
    frac = lo + (hi - lo) * rng.random(len(etype))
    return start + np.floor(frac * (end - start)).astype(np.int64)


def purchase_sessions(rng: np.random.Generator, pop: Population, catalog: Catalog, ctx: DayContext,
                      orders: Orders, lines: Lines, keys: np.ndarray, first_session: int) -> Batch:
    """Sessions ending in each online order's checkout."""
    online = np.flatnonzero(np.isin(orders.channel, [CHANNELS.index(c) for c in PLATFORMS]))
    platform = np.array([PLATFORMS.index(c) if c in PLATFORMS else 0 for c in CHANNELS])[orders.channel[online]]
    counts = np.bincount(lines.order, minlength=orders.size)
    end = orders.secs[online]
    start = np.maximum(ctx.start, end - 240 - 60 * counts[online] - rng.exponential(600, len(online)).astype(np.int64))
    position = np.full(orders.size, -1)
    position[online] = np.arange(len(online))
    is_online = position[lines.order] >= 0
    line_session = position[lines.order[is_online]]
    bought = lines.product[is_online]
    promo_hunter = orders.persona[online] == PROMO_PERSONA
    parts_session, parts_type, parts_product = [], [], []

    def add(session: np.ndarray, etype: int | np.ndarray, product: np.ndarray) -> None:
        parts_session.append(session)
        parts_type.append(np.broadcast_to(etype, session.shape).astype(np.int64))
        parts_product.append(product)

    viewed = rng.random(len(bought)) < VIEW_BOUGHT_PROB
    add(line_session[viewed], VIEW, bought[viewed])
    add(line_session, ADD_CART, bought)
    repeats = rng.poisson(PROMO_REPEAT_VIEWS, len(bought)) * promo_hunter[line_session]
    add(np.repeat(line_session, repeats), VIEW, np.repeat(bought, repeats))
    extra = np.repeat(np.arange(len(online)), rng.poisson(EXTRA_VIEWS, len(online)))
    extra_product = _browse_products(rng, pop, catalog, keys, orders.customer[online][extra])
    add(extra, VIEW, extra_product)
    swap = rng.random(len(extra)) < ADD_REMOVE_PROB
    add(extra[swap], ADD_CART, extra_product[swap])
    add(extra[swap], REMOVE_CART, extra_product[swap])
    favourite = _first_line_per_session(line_session, rng.random(len(line_session)) < FAVORITE_PROB)
    add(line_session[favourite], FAVORITE, bought[favourite])
    searches = np.repeat(np.arange(len(online)), rng.poisson(SEARCHES, len(online)))
    add(searches, SEARCH, np.full(len(searches), -1))
    add(np.arange(len(online)), CHECKOUT, np.full(len(online), -1))
    session = np.concatenate(parts_session)
    etype = np.concatenate(parts_type)
    product = np.concatenate(parts_product)
    search_l2 = _search_categories(rng, catalog, line_session, bought, session, etype, len(online))
    cust = orders.customer[online][session]
    device, device_type = customer_devices(pop, cust, platform[session])
    purchase = Batch(secs=_spread(rng, etype, start[session], end[session]), etype=etype, cust=cust,
                     session=first_session + session, device=device, device_type=device_type,
                     platform=platform[session], product=product, l2=search_l2)
    comparison = _comparison_sessions(rng, pop, catalog, ctx, orders.customer[online], platform, end, line_session,
                                      bought, promo_hunter, first_session + len(online))
    return _concat([purchase, comparison])


def _first_line_per_session(session: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Keep at most one flagged line per session (the first)."""
    chosen = np.flatnonzero(flag)
    _, first = np.unique(session[chosen], return_index=True)
    mask = np.zeros(len(session), dtype=bool)
    mask[chosen[first]] = True
    return mask


def _search_categories(rng: np.random.Generator, catalog: Catalog, line_session: np.ndarray, bought: np.ndarray,
                       session: np.ndarray, etype: np.ndarray, n_sessions: int) -> np.ndarray:
    """Category searched by each search event: that of a random bought line of its session."""
    counts = np.bincount(line_session, minlength=n_sessions)
    starts = np.cumsum(counts) - counts
    l2 = np.full(len(session), -1)
    search = np.flatnonzero(etype == SEARCH)
    s = session[search]
    pick = starts[s] + (rng.random(len(search)) * counts[s]).astype(np.int64)
    l2[search] = catalog.l2[bought[pick]]
    return l2


def _comparison_sessions(rng: np.random.Generator, pop: Population, catalog: Catalog, ctx: DayContext,
                         customers: np.ndarray,
                         platform: np.ndarray, end: np.ndarray, line_session: np.ndarray, bought: np.ndarray,
                         promo_hunter: np.ndarray, first_session: int) -> Batch:
    """Promo hunters look at the same items on another platform an hour or more before buying."""
    hunters = np.flatnonzero(promo_hunter)
    number = np.full(len(customers), -1)
    number[hunters] = np.arange(len(hunters))
    alternate = np.where(platform == WEB, APP, WEB)
    start = np.maximum(ctx.start, end - rng.integers(*COMPARISON_LEAD, len(customers)))
    keep = promo_hunter[line_session] & (rng.random(len(line_session)) < COMPARISON_VIEW_PROB)
    session = np.concatenate([line_session[keep], hunters])
    etype = np.concatenate([np.full(int(keep.sum()), VIEW), np.full(len(hunters), SEARCH)])
    product = np.concatenate([bought[keep], np.full(len(hunters), -1)])
    cust = customers[session]
    device, device_type = customer_devices(pop, cust, alternate[session])
    secs = start[session] + rng.integers(0, BROWSE_SECONDS, len(session))
    secs = np.maximum(np.minimum(secs, end[session] - 1), ctx.start)
    l2 = _search_categories(rng, catalog, line_session, bought, session, etype, len(customers))
    return Batch(secs=secs, etype=etype, cust=cust, session=first_session + number[session], device=device,
                 device_type=device_type, platform=alternate[session], product=product, l2=l2)


def _browse_products(rng: np.random.Generator, pop: Population, catalog: Catalog, keys: np.ndarray,
                     customers: np.ndarray) -> np.ndarray:
    """Products a customer looks at, from their persona/city category mix."""
    rows = pop.persona[customers] * N_CITIES + pop.city[customers]
    l2 = sample_categories(keys, rows, rng.random(len(customers)))
    return catalog.sample_in_l2(l2, rng.random(len(customers)))


def _session_events(rng: np.random.Generator, catalog: Catalog, keys: np.ndarray, rows: np.ndarray,
                    start: np.ndarray, n_events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(session position, type, product, search l2) of browsing sessions."""
    session = np.repeat(np.arange(len(start)), n_events)
    etype = choose(rng, BROWSE_TYPE_PROBS, np.zeros(len(session), dtype=np.int64))
    l2 = sample_categories(keys, rows[session], rng.random(len(session)))
    product = catalog.sample_in_l2(l2, rng.random(len(session)))
    search = etype == SEARCH
    return session, etype, np.where(search, -1, product), np.where(search, l2, -1)


def browsing_sessions(rng: np.random.Generator, pop: Population, catalog: Catalog, ctx: DayContext,
                      keys: np.ndarray, first_session: int) -> Batch:
    """Customers' sessions that do not end in an order (churned customers nearly stop)."""
    prob = persona_array("browse_prob")[pop.persona] * browse_mult(pop, ctx.index)
    customers = np.flatnonzero(rng.random(pop.size) < prob)
    online = np.array([c in PLATFORMS for c in CHANNELS])
    channel_probs = persona_matrix("channels", CHANNELS) * online
    channel_probs[channel_probs.sum(axis=1) == 0, CHANNELS.index("app")] = 1.0
    channel_probs /= channel_probs.sum(axis=1, keepdims=True)
    platform = np.array([PLATFORMS.index(c) if c in PLATFORMS else 0 for c in CHANNELS])[
        choose(rng, channel_probs, pop.persona[customers])]
    hour = choose(rng, hour_matrix(ctx.off), pop.persona[customers])
    start = ctx.start + hour * 3600 + rng.integers(0, 3600 - BROWSE_SECONDS, len(customers))
    rows = pop.persona[customers] * N_CITIES + pop.city[customers]
    session, etype, product, l2 = _session_events(rng, catalog, keys, rows, start,
                                                  1 + rng.poisson(BROWSE_EVENTS, len(customers)))
    device, device_type = customer_devices(pop, customers[session], platform[session])
    return Batch(secs=start[session] + rng.integers(0, BROWSE_SECONDS, len(session)), etype=etype,
                 cust=customers[session], session=first_session + session, device=device, device_type=device_type,
                 platform=platform[session], product=product, l2=l2)


def anonymous_sessions(rng: np.random.Generator, pop: Population, catalog: Catalog, ctx: DayContext,
                       keys: np.ndarray, first_session: int) -> Batch:
    """Visitors who are not logged in (customer_id empty)."""
    active = int(((pop.signup_day <= ctx.index) & ~pop.churned).sum())
    n = int(rng.poisson(ANON_PER_ACTIVE * active))
    shares = np.array([p.share for p in PERSONAS])
    rows = (rng.choice(N_PERSONAS, n, p=shares / shares.sum()) * N_CITIES
            + rng.choice(N_CITIES, n, p=CITY_WEIGHT / CITY_WEIGHT.sum()))
    start = ctx.start + rng.integers(7 * 3600, 24 * 3600 - BROWSE_SECONDS, n)
    session, etype, product, l2 = _session_events(rng, catalog, keys, rows, start,
                                                  1 + rng.poisson(ANON_EVENTS, n))
    platform = choose(rng, ANON_PLATFORM_PROBS, np.zeros(n, dtype=np.int64))
    device = 2 * pop.size + rng.integers(0, 10 ** 8, n)
    device_type = np.where(platform == WEB, DEVICE_TYPES.index("pc"), rng.integers(0, 2, n))
    return Batch(secs=start[session] + rng.integers(0, BROWSE_SECONDS, len(session)), etype=etype,
                 cust=np.full(len(session), -1), session=first_session + session, device=device[session],
                 device_type=device_type[session], platform=platform[session], product=product, l2=l2)


def day_events(rng: np.random.Generator, pop: Population, catalog: Catalog, ctx: DayContext, orders: Orders,
               lines: Lines, first_session: int) -> tuple[Batch, int]:
    """All of today's events sorted by time, and the number of sessions used."""
    keys = category_keys(ctx)
    purchase = purchase_sessions(rng, pop, catalog, ctx, orders, lines, keys, first_session)
    next_session = int(purchase.session.max()) + 1 if len(purchase.session) else first_session
    browsing = browsing_sessions(rng, pop, catalog, ctx, keys, next_session)
    next_session = int(browsing.session.max()) + 1 if len(browsing.session) else next_session
    anonymous = anonymous_sessions(rng, pop, catalog, ctx, keys, next_session)
    next_session = int(anonymous.session.max()) + 1 if len(anonymous.session) else next_session
    events = _concat([purchase, browsing, anonymous])
    order = np.lexsort((events.etype == CHECKOUT, events.session, events.secs))
    events = Batch(*(getattr(events, f)[order] for f in Batch.__dataclass_fields__))
    return events, next_session - first_session


def _queries(rng: np.random.Generator, l2: np.ndarray) -> pl.Series:
    """Search text for search events (null elsewhere)."""
    flat = [q for c in CATEGORIES for q in c.queries]
    counts = np.array([len(c.queries) for c in CATEGORIES])
    offsets = np.cumsum(counts) - counts
    safe = np.maximum(l2, 0)
    index = offsets[safe] + (rng.random(len(l2)) * counts[safe]).astype(np.int64)
    return formats.lookup(flat, np.where(l2 >= 0, index, -1))


def _pages(rng: np.random.Generator, etype: np.ndarray) -> np.ndarray:
    """Page of each event."""
    u = rng.random(len(etype))
    view_page = np.select([u < 0.1, u < 0.2, u < 0.3], [PAGES.index("home"), PAGES.index("promo"),
                                                         PAGES.index("category")], PAGES.index("product_detail"))
    by_type = np.array([0, PAGES.index("search_result"), PAGES.index("product_detail"), PAGES.index("product_detail"),
                        PAGES.index("cart"), PAGES.index("checkout")])
    return np.where(etype == VIEW, view_page, by_type[etype])


def events_frame(rng: np.random.Generator, events: Batch, catalog: Catalog, customer_id: pl.Series,
                 first_event: int) -> pl.DataFrame:
    """Rows of the events export (contract keys)."""
    n = len(events.secs)
    numbers = pl.DataFrame({"event": first_event + np.arange(n), "secs": events.secs, "session": events.session,
                            "device": events.device})
    ids = numbers.select(
        formats.id_expr("event", "E", EVENT_ID_WIDTH).alias("event_id"),
        formats.timestamp_expr("secs").alias("event_time"),
        formats.id_expr("session", "S", SESSION_ID_WIDTH).alias("session_id"),
        formats.id_expr("device", "D", DEVICE_ID_WIDTH).alias("device_id"))
    return pl.DataFrame({
        "event_id": ids["event_id"],
        "event_time": ids["event_time"],
        "event_type": formats.lookup(EVENT_TYPES, events.etype),
        "customer_id": formats.gather_or_null(customer_id, events.cust),
        "session_id": ids["session_id"],
        "device_id": ids["device_id"],
        "device_type": formats.lookup(DEVICE_TYPES, events.device_type),
        "platform": formats.lookup(PLATFORMS, events.platform),
        "product_id": formats.gather_or_null(catalog.product_id, events.product),
        "query": _queries(rng, events.l2),
        "page": formats.lookup(PAGES, _pages(rng, events.etype)),
    })
