"""The daily loop: builds the world, then for each day draws behaviour for all customers at once,
schedules what happens later (deliveries, reviews, complaints, returns, status updates), injects
dirt and writes every source's files for the day.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from . import aftersales, almanac, catalog as catalog_mod, customers as customers_mod, deliveries as deliveries_mod
from . import dirt as dirt_mod, events as events_mod, feedback, inventory, lifecycle, orders as orders_mod
from . import promotions as promotions_mod
from .almanac import Calendar, DayContext, Weather
from .catalog import Catalog
from .customers import Population
from .orders import Lines, Orders
from .promotions import Promotion
from .rng import stream
from .writers import LandingWriter

HIDDEN_PREFIX = "_"


@dataclass
class Counters:
    """Running numbers of every id sequence."""

    order: int = 1
    delivery: int = 1
    review: int = 1
    complaint: int = 1
    event: int = 1
    session: int = 1
    promo: int = 1


@dataclass
class Pending:
    """Rows already drawn that belong to a later day's file, by (source, epoch day)."""

    rows: dict = field(default_factory=lambda: defaultdict(list))

    def add(self, source: str, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        for (day,), part in frame.partition_by("_day", maintain_order=True, as_dict=True).items():
            self.rows[(source, int(day))].append(part)

    def take(self, source: str, day: int) -> pl.DataFrame | None:
        parts = self.rows.pop((source, day), [])
        return pl.concat(parts, how="diagonal") if parts else None


@dataclass
class World:
    """Everything fixed or evolving over the run."""

    seed: int
    days: int
    first_day: int
    dirt: float
    catalog: Catalog
    pop: Population
    calendar: Calendar
    weather: Weather
    stock: inventory.Stock
    writer: LandingWriter
    counters: Counters = field(default_factory=Counters)
    pending: Pending = field(default_factory=Pending)
    promos: list[Promotion] = field(default_factory=list)
    test_recorded: np.ndarray | None = None

    def rng(self, name: str, day: int) -> np.random.Generator:
        return stream(self.seed, name, day)


def build_world(seed: int, customers: int, days: int, first_day: int, dirt: float, writer: LandingWriter) -> World:
    """Draw the catalogue, population, calendar and weather of a run."""
    almanac.check_range(first_day, first_day + days - 1)
    catalog = catalog_mod.build_catalog(seed, first_day * 86_400)
    pop = customers_mod.build_population(seed, customers, days, first_day, dirt, catalog, orders_mod.BASE_WEIGHTS)
    return World(seed=seed, days=days, first_day=first_day, dirt=dirt, catalog=catalog, pop=pop,
                 calendar=almanac.build_calendar(first_day, days), weather=almanac.build_weather(seed, first_day, days),
                 stock=inventory.new_stock(catalog), writer=writer, test_recorded=np.zeros(customers, dtype=bool))


def _strip_day(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    return None if frame is None else frame.drop([c for c in ("_day", "_cust") if c in frame.columns])


def snapshot_rows(world: World, ctx: DayContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Today's customers and products export rows (full on day 0, then new and changed rows)."""
    pop, cat = world.pop, world.catalog
    if ctx.index == 0:
        who = np.flatnonzero(pop.signup_day <= 0)
        products = np.arange(cat.size)
    else:
        changed = customers_mod.daily_changes(pop, world.rng("crm", ctx.index), ctx.index, ctx.start)
        who = np.union1d(changed, np.flatnonzero(pop.signup_day == ctx.index))
        products = catalog_mod.change_prices(cat, world.rng("prices", ctx.index), ctx.start)
    who = who[np.argsort(pop.updated_secs[who], kind="stable")]
    rows = customers_mod.customers_frame(pop, who)
    first_test = pop.is_test[who] & ~world.test_recorded[who]
    world.test_recorded[who[first_test]] = True
    rows = dirt_mod.customers_dirt(rows, world.rng("dirt:customers", ctx.index), world.dirt, np.flatnonzero(first_test))
    return rows, catalog_mod.products_frame(cat, products)


def marketing(world: World, ctx: DayContext) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Announce today's promotions; rows of the promotions and campaign_sends exports."""
    new = promotions_mod.announce(world.rng("promotions", ctx.index), ctx.index, world.pop, world.counters.promo)
    world.counters.promo += len(new)
    world.promos.extend(new)
    sends = [promotions_mod.sends_frame(p, world.pop.customer_id, world.rng("sends", ctx.index), ctx.start)
             for p in new if p.arm is not None]
    return promotions_mod.promotions_frame(new, world.first_day), (pl.concat(sends) if sends else None)


def sell(world: World, ctx: DayContext, active: list[Promotion]) -> tuple[Orders, Lines]:
    """Draw today's buyers (natural and coupon-driven) and build their orders."""
    pop = world.pop
    exposure = promotions_mod.discount_exposure(active, pop.level)
    prob = orders_mod.daily_probability(pop, ctx, lifecycle.order_mult(pop, ctx.index), exposure[0])
    natural = world.rng("purchase", ctx.index).random(pop.size) < prob
    alive = (pop.signup_day <= ctx.index) & ~pop.churned
    driven = promotions_mod.coupon_driven(active, natural, alive, world.rng("coupons", ctx.index))
    promotions_mod.record_natural(active, natural)
    buyers = np.flatnonzero(natural | driven)
    orders, lines = orders_mod.make_orders(world.rng("orders", ctx.index), pop, world.catalog, ctx, buyers,
                                           driven[buyers], active, world.counters.order)
    world.counters.order += orders.size
    return orders, lines


def schedule_after_sale(world: World, ctx: DayContext, orders: Orders, lines: Lines,
                        orders_rows: pl.DataFrame) -> None:
    """Draw deliveries, reviews, complaints, returns and status updates; queue them by file day."""
    pop, cat, counters, pending = world.pop, world.catalog, world.counters, world.pending
    rng = world.rng("aftersales", ctx.index)
    d = deliveries_mod.plan_deliveries(rng, orders, world.calendar, world.weather, world.first_day, counters.delivery)
    counters.delivery += d.size
    order_id = orders_rows["order_id"]
    pending.add("deliveries", deliveries_mod.deliveries_frame(d, orders, order_id).with_columns(
        _day=pl.Series(d.day, dtype=pl.Int64), _cust=pl.Series(orders.customer[d.order], dtype=pl.Int64),
        _bad=pl.Series(d.bad)))
    received = deliveries_mod.receipt_secs(orders, d)
    late, failed = deliveries_mod.order_is_bad_delivery(orders, d)
    promised_end = np.zeros(orders.size, dtype=np.int64)
    promised_end[d.order] = d.promised_end
    bad = feedback.bad_lines(rng, lines, cat)
    reviews = feedback.reviews(rng, orders, lines, cat, received, late, bad, order_id, pop.customer_id, counters.review)
    counters.review += reviews.height
    pending.add("reviews", reviews)
    complaints = feedback.complaints(rng, orders, lines, received, late, failed, bad, promised_end, order_id,
                                     pop.customer_id, counters.complaint)
    counters.complaint += complaints.height
    pending.add("complaints", complaints)
    head, body, used = aftersales.returns(rng, orders, lines, cat, received, failed, promised_end, bad,
                                          pop.customer_id, counters.order)
    counters.order += used
    pending.add("orders", head)
    pending.add("order_lines", body)
    if world.dirt > 0:
        pending.add("orders", aftersales.status_updates(rng, orders, orders_rows, received, world.dirt))


def experience(world: World, ctx: DayContext) -> dict[str, pl.DataFrame | None]:
    """Take today's queued rows; count late deliveries and complaints customers experience today."""
    pop, pending = world.pop, world.pending
    taken = {s: pending.take(s, ctx.epoch_day) for s in ("deliveries", "reviews", "complaints", "orders", "order_lines")}
    deliveries = taken["deliveries"]
    if deliveries is not None:
        bad = deliveries.filter(pl.col("_bad"))["_cust"].to_numpy()
        np.add.at(pop.late, bad, 1)
        np.add.at(pop.recent_late, bad, 1.0)
        taken["deliveries"] = deliveries.drop("_bad")
    complaints = taken["complaints"]
    if complaints is not None:
        filed = complaints.filter(pl.col("kind") == "complaint")["_cust"].to_numpy()
        np.add.at(pop.complaints, filed, 1)
        np.add.at(pop.recent_complaints, filed, 1.0)
    for source in ("reviews", "complaints"):
        if taken[source] is not None:
            taken[source] = taken[source].sort("created_at", maintain_order=True)
    return {s: _strip_day(f) for s, f in taken.items()}


def _orders_file(today: pl.DataFrame, later: pl.DataFrame | None) -> pl.DataFrame:
    """Today's sales, then returns and status updates sorted by updated_at."""
    if later is None:
        return today
    later = later.sort("updated_at", maintain_order=True)
    return pl.concat([dirt_mod.with_marks(today), dirt_mod.with_marks(later)], how="diagonal")


def simulate_day(world: World, index: int) -> None:
    """Simulate and write one day."""
    ctx = almanac.day_context(world.calendar, world.weather, world.first_day, index)
    pop, cat, counters, rate = world.pop, world.catalog, world.counters, world.dirt
    customers_rows, products_rows = snapshot_rows(world, ctx)
    promotions_rows, sends_rows = marketing(world, ctx)
    active = [p for p in world.promos if p.is_active(index)]
    orders, lines = sell(world, ctx, active)
    orders_rows = orders_mod.orders_frame(orders, active, pop.customer_id)
    lines_rows = orders_mod.lines_frame(lines, orders, cat)
    schedule_after_sale(world, ctx, orders, lines, orders_rows)
    batch, sessions = events_mod.day_events(world.rng("events", index), pop, cat, ctx, orders, lines, counters.session)
    counters.session += sessions
    events_rows = events_mod.events_frame(world.rng("event_rows", index), batch, cat, pop.customer_id, counters.event)
    counters.event += events_rows.height
    later = experience(world, ctx)
    lifecycle.advance(pop, world.rng("churn", index), index)
    shipped = inventory.shipped_today(orders.warehouse[lines.order], lines.product, lines.qty, cat.size)
    stock = inventory.day_inventory(world.stock, world.rng("inventory", index), shipped, ctx.epoch_day)
    frames = {
        "customers": customers_rows,
        "products": products_rows,
        "orders": _orders_file(dirt_mod.orders_dirt(orders_rows, world.rng("dirt:orders", index), rate), later["orders"]),
        "order_lines": _orders_file(dirt_mod.lines_dirt(lines_rows, world.rng("dirt:lines", index), rate),
                                    later["order_lines"]),
        "events": dirt_mod.events_dirt(events_rows, world.rng("dirt:events", index), rate),
        "reviews": later["reviews"],
        "complaints": later["complaints"],
        "deliveries": later["deliveries"],
        "inventory": inventory.inventory_frame(stock, cat, ctx.epoch_day),
        "promotions": promotions_rows,
        "campaign_sends": sends_rows,
        "weather": almanac.weather_frame(world.weather, index, ctx.epoch_day),
        "holidays": almanac.holidays_frame(world.first_day, world.first_day + world.days - 1) if index == 0 else None,
    }
    for name in world.writer.contract:
        world.writer.write(name, index, ctx.date, frames.get(name))


def output_dirs(landing_dir: str | Path, truth_dir: str | Path) -> tuple[Path, Path]:
    """Create the output folders."""
    landing, truth = Path(landing_dir), Path(truth_dir)
    landing.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    return landing, truth
