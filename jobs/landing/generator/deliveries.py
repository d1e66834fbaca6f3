"""Deliveries (TMS): one per non-store order, in the promised slot; late or failed more often in the
evening, on holidays, outside Sichuan and in rain or snow.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats
from .almanac import Calendar, Weather
from .orders import Orders
from .world import CITIES, CITY_IN_SICHUAN, SLOT_HOURS, SLOT_START_HOUR, SLOTS, STORE, WAREHOUSES

DELIVERY_ID_WIDTH = 9
LATE_BASE = 0.03
LATE_BY_SLOT = np.array([0.0, 0.0, 0.01, 0.05, 0.08])  # aligned with world.SLOTS
LATE_HOLIDAY = 0.08
LATE_OUTSIDE_SICHUAN = 0.05
LATE_RAIN = 0.08  # >= 10 mm
LATE_HEAVY_RAIN = 0.18  # >= 25 mm
LATE_SNOW = 0.10
FAIL_BASE = 0.008
FAIL_HEAVY_RAIN = 0.02
LATE_MIN_SECONDS = 600
LATE_MEAN_SECONDS = 3000
LATE_MAX_SECONDS = 6 * 3600
RAIN_MM = 10.0
HEAVY_RAIN_MM = 25.0
SNOW_MAX_TEMP = 1.0


@dataclass
class Deliveries:
    """Deliveries of today's orders (order = position in Orders)."""

    number: np.ndarray
    order: np.ndarray
    day: np.ndarray  # epoch day of the slot (file day)
    promised_start: np.ndarray
    promised_end: np.ndarray
    delivered: np.ndarray  # local seconds, -1 when failed
    late: np.ndarray  # delivered after promised_end
    failed: np.ndarray

    @property
    def size(self) -> int:
        return len(self.number)

    @property
    def bad(self) -> np.ndarray:
        """Late or failed: what a customer experiences as a bad delivery."""
        return self.late | self.failed


def _weather_at(values: np.ndarray, index: np.ndarray, city: np.ndarray) -> np.ndarray:
    """values[day index, city] with indices clamped to the range (later days are never written)."""
    return values[np.minimum(index, len(values) - 1), city]


def plan_deliveries(rng: np.random.Generator, orders: Orders, calendar: Calendar, weather: Weather,
                    first_day: int, next_number: int) -> Deliveries:
    """Slot, outcome and delivery time of every non-store order of the day."""
    order = np.flatnonzero(orders.channel != STORE)
    slot = orders.slot[order]
    day = orders.delivery_day[order]
    index = day - first_day
    city = orders.city[order]
    precip = _weather_at(weather.precip, index, city)
    high = _weather_at(weather.high, index, city)
    holiday = calendar.holiday[np.minimum(index, len(calendar.holiday) - 1)]
    late_prob = (LATE_BASE + LATE_BY_SLOT[slot] + LATE_HOLIDAY * holiday + LATE_OUTSIDE_SICHUAN * ~CITY_IN_SICHUAN[city]
                 + np.select([precip >= HEAVY_RAIN_MM, precip >= RAIN_MM], [LATE_HEAVY_RAIN, LATE_RAIN], 0.0)
                 + LATE_SNOW * ((precip > 0) & (high <= SNOW_MAX_TEMP)))
    failed = rng.random(len(order)) < FAIL_BASE + FAIL_HEAVY_RAIN * (precip >= HEAVY_RAIN_MM)
    late = ~failed & (rng.random(len(order)) < late_prob)
    start = day * formats.SECONDS_PER_DAY + SLOT_START_HOUR[slot] * 3600
    end = start + SLOT_HOURS * 3600
    delay = np.minimum(LATE_MIN_SECONDS + rng.exponential(LATE_MEAN_SECONDS, len(order)), LATE_MAX_SECONDS)
    on_time = start + rng.integers(0, SLOT_HOURS * 3600, len(order))
    delivered = np.where(failed, -1, np.where(late, end + delay.astype(np.int64), on_time))
    return Deliveries(number=next_number + np.arange(len(order)), order=order, day=day, promised_start=start,
                      promised_end=end, delivered=delivered, late=late, failed=failed)


def deliveries_frame(d: Deliveries, orders: Orders, order_id: pl.Series) -> pl.DataFrame:
    """Rows of the deliveries export (contract columns)."""
    failed = pl.Series(d.failed)
    return pl.DataFrame({
        "delivery_id": formats.ids("DL", d.number, DELIVERY_ID_WIDTH),
        "order_id": order_id.gather(d.order),
        "warehouse_id": formats.lookup([w.warehouse_id for w in WAREHOUSES], orders.warehouse[d.order]),
        "city": formats.lookup([c.name_zh for c in CITIES], orders.city[d.order]),
        "slot": formats.lookup(SLOTS, orders.slot[d.order]),
        "promised_start": formats.timestamps(d.promised_start),
        "promised_end": formats.timestamps(d.promised_end),
        "delivered_at": pl.select(pl.when(~pl.lit(failed)).then(
            pl.lit(formats.timestamps(np.maximum(d.delivered, 0))))).to_series(),
        "status": formats.lookup(("delivered", "failed"), d.failed.astype(np.int64)),
    })


def receipt_secs(orders: Orders, d: Deliveries) -> np.ndarray:
    """When each order reached the customer: delivery time, order time for store purchases, -1 if failed."""
    received = orders.secs.copy()
    received[d.order] = d.delivered
    return received


def order_is_bad_delivery(orders: Orders, d: Deliveries) -> tuple[np.ndarray, np.ndarray]:
    """(late, failed) flags per order (False for store purchases)."""
    late = np.zeros(orders.size, dtype=bool)
    failed = np.zeros(orders.size, dtype=bool)
    late[d.order] = d.late
    failed[d.order] = d.failed
    return late, failed

