"""Weather and holidays: the official Chinese holiday calendar, the planted holiday demand spikes and
a seasonal weather model per city.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats
from .catalog import L2_NAMES, N_L2
from .rng import stream
from .world import CITIES, N_CITIES

DAYS_PER_YEAR = 365.25
COLDEST_DAY_OF_YEAR = 15  # mid January
ANOMALY_PERSISTENCE = 0.7
ANOMALY_SD = 2.5
NOISE_SD = 1.0
RAIN_SHAPE = 0.8
MODERATE_RAIN_MM = 10.0
HEAVY_RAIN_MM = 25.0
STORM_MM = 50.0
SNOW_MAX_TEMP = 1.0


@dataclass(frozen=True)
class Holiday:
    """One official holiday of one year: festival day, days off and adjusted working days."""

    code: str
    name_en: str
    name_zh: str
    festival: str  # the festival date itself, anchor of the demand spike
    days_off: tuple[str, str]  # first and last day off (inclusive)
    workdays: tuple[str, ...] = ()  # adjusted working days (weekend days that are worked)


# State Council holiday arrangements (国务院办公厅关于节假日安排的通知) for 2024, 2025 and 2026.
HOLIDAYS: tuple[Holiday, ...] = (
    Holiday("new_year", "New Year's Day", "元旦", "2024-01-01", ("2024-01-01", "2024-01-01")),
    Holiday("spring_festival", "Spring Festival", "春节", "2024-02-10", ("2024-02-10", "2024-02-17"),
            ("2024-02-04", "2024-02-18")),
    Holiday("qingming", "Qingming Festival", "清明节", "2024-04-04", ("2024-04-04", "2024-04-06"), ("2024-04-07",)),
    Holiday("labour_day", "Labour Day", "劳动节", "2024-05-01", ("2024-05-01", "2024-05-05"),
            ("2024-04-28", "2024-05-11")),
    Holiday("dragon_boat", "Dragon Boat Festival", "端午节", "2024-06-10", ("2024-06-08", "2024-06-10")),
    Holiday("mid_autumn", "Mid-Autumn Festival", "中秋节", "2024-09-17", ("2024-09-15", "2024-09-17"), ("2024-09-14",)),
    Holiday("national_day", "National Day", "国庆节", "2024-10-01", ("2024-10-01", "2024-10-07"),
            ("2024-09-29", "2024-10-12")),
    Holiday("new_year", "New Year's Day", "元旦", "2025-01-01", ("2025-01-01", "2025-01-01")),
    Holiday("spring_festival", "Spring Festival", "春节", "2025-01-29", ("2025-01-28", "2025-02-04"),
            ("2025-01-26", "2025-02-08")),
    Holiday("qingming", "Qingming Festival", "清明节", "2025-04-04", ("2025-04-04", "2025-04-06")),
    Holiday("labour_day", "Labour Day", "劳动节", "2025-05-01", ("2025-05-01", "2025-05-05"), ("2025-04-27",)),
    Holiday("dragon_boat", "Dragon Boat Festival", "端午节", "2025-05-31", ("2025-05-31", "2025-06-02")),
    Holiday("national_day", "National Day", "国庆节", "2025-10-01", ("2025-10-01", "2025-10-08"),
            ("2025-09-28", "2025-10-11")),
    Holiday("mid_autumn", "Mid-Autumn Festival", "中秋节", "2025-10-06", ("2025-10-06", "2025-10-06")),
    Holiday("new_year", "New Year's Day", "元旦", "2026-01-01", ("2026-01-01", "2026-01-03"), ("2026-01-04",)),
    Holiday("spring_festival", "Spring Festival", "春节", "2026-02-17", ("2026-02-15", "2026-02-23"),
            ("2026-02-14", "2026-02-28")),
    Holiday("qingming", "Qingming Festival", "清明节", "2026-04-05", ("2026-04-04", "2026-04-06")),
    Holiday("labour_day", "Labour Day", "劳动节", "2026-05-01", ("2026-05-01", "2026-05-05"), ("2026-05-09",)),
    Holiday("dragon_boat", "Dragon Boat Festival", "端午节", "2026-06-19", ("2026-06-19", "2026-06-21")),
    Holiday("mid_autumn", "Mid-Autumn Festival", "中秋节", "2026-09-25", ("2026-09-25", "2026-09-27")),
    Holiday("national_day", "National Day", "国庆节", "2026-10-01", ("2026-10-01", "2026-10-07"),
            ("2026-09-20", "2026-10-10")),
)
CALENDAR_YEARS = (2024, 2025, 2026)


@dataclass(frozen=True)
class Spike:
    """Planted holiday demand: days [first, last] relative to the festival day; per category_l2 the
    multiplier of its expected lines per basket (extra lines are added), '*' = the multiplier of every
    customer's daily order rate."""

    holiday_code: str
    first: int
    last: int
    multipliers: dict[str, float]


SPIKES: tuple[Spike, ...] = (
    Spike("spring_festival", -14, -1, {"*": 1.4, "dumplings": 3.0, "tangyuan": 3.0, "frozen_meat": 2.5, "pork": 2.5,
                                        "hotpot_base": 2.0, "beef": 2.0, "poultry": 2.0, "fish": 2.0, "nuts": 2.0,
                                        "beverages": 1.8}),
    Spike("spring_festival", 0, 5, {"*": 0.75, "dumplings": 2.0, "tangyuan": 2.0}),
    Spike("mid_autumn", -10, 0, {"*": 1.15, "mooncake": 12.0, "citrus": 1.5, "apple_pear": 1.5,
                                  "shrimp_shell": 2.0}),
    Spike("national_day", -3, 6, {"*": 1.1, "hotpot_base": 1.8, "frozen_meat": 1.8, "beverages": 1.5, "chips": 1.5}),
    Spike("new_year", -2, 0, {"*": 1.1, "hotpot_base": 1.5, "frozen_meat": 1.5}),
    Spike("labour_day", -2, 4, {"hotpot_base": 1.4, "beverages": 1.4, "tropical": 1.3}),
    Spike("dragon_boat", -5, 0, {"eggs": 1.5}),
)


def check_range(first_day: int, last_day: int) -> None:
    """The simulated range must lie inside the years of the official calendar table."""
    first_year = int(formats.date_str(first_day)[:4])
    last_year = int(formats.date_str(last_day)[:4])
    if first_year < CALENDAR_YEARS[0] or last_year > CALENDAR_YEARS[-1]:
        raise ValueError(f"holiday calendar covers {CALENDAR_YEARS[0]}-{CALENDAR_YEARS[-1]}; "
                         f"the simulated range spans {first_year}-{last_year}")


@dataclass(frozen=True)
class Calendar:
    """Per simulated day: day off, holiday, order-rate and category multipliers."""

    off: np.ndarray  # weekend or official day off, not an adjusted working day
    holiday: np.ndarray  # official holiday day off
    rate_mult: np.ndarray  # (days,)
    category_mult: np.ndarray  # (days, N_L2)
    spikes: pl.DataFrame  # truth rows


def build_calendar(first_day: int, days: int) -> Calendar:
    """Day-off flags and planted spikes over the simulated range."""
    epoch = first_day + np.arange(days)
    weekday = (epoch + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    off = weekday >= 5
    holiday = np.zeros(days, dtype=bool)
    for h in HOLIDAYS:
        first, last = (formats.epoch_day(d) for d in h.days_off)
        holiday |= (epoch >= first) & (epoch <= last)
        for workday in h.workdays:
            off &= epoch != formats.epoch_day(workday)
    off |= holiday
    rate_mult, category_mult, spikes = _spike_effects(epoch)
    return Calendar(off=off, holiday=holiday, rate_mult=rate_mult, category_mult=category_mult, spikes=spikes)


def _spike_effects(epoch: np.ndarray) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    """Multipliers of every planted spike falling in the range, and their truth rows."""
    rate = np.ones(len(epoch))
    category = np.ones((len(epoch), N_L2))
    rows = []
    for spike in SPIKES:
        for h in (h for h in HOLIDAYS if h.code == spike.holiday_code):
            anchor = formats.epoch_day(h.festival)
            window = (epoch >= anchor + spike.first) & (epoch <= anchor + spike.last)
            if not window.any():
                continue
            for target, multiplier in spike.multipliers.items():
                if target == "*":
                    rate[window] *= multiplier
                else:
                    category[window, L2_NAMES.index(target)] *= multiplier
                rows.append((spike.holiday_code, formats.date_str(anchor + spike.first),
                             formats.date_str(anchor + spike.last), target, multiplier))
    spikes = pl.DataFrame(rows, schema=["holiday_code", "start_date", "end_date", "category_l2", "multiplier"],
                          orient="row")
    return rate, category, spikes


def holidays_frame(first_day: int, last_day: int) -> pl.DataFrame:
    """The reference holidays export: every day off and adjusted working day of the range's years."""
    first_year = formats.date_str(first_day)[:4]
    last_year = formats.date_str(last_day)[:4]
    rows = []
    for h in HOLIDAYS:
        if not first_year <= h.festival[:4] <= last_year:
            continue
        first, last = (formats.epoch_day(d) for d in h.days_off)
        for day in range(first, last + 1):
            rows.append((formats.date_str(day), h.code, h.name_en, h.name_zh, "1"))
        for workday in h.workdays:
            rows.append((workday, h.code, f"{h.name_en} (adjusted working day)", f"{h.name_zh}调休上班", "0"))
    frame = pl.DataFrame(rows, schema=["date", "holiday_code", "name_en", "name_zh", "is_day_off"], orient="row")
    return frame.sort("date", maintain_order=True)


@dataclass(frozen=True)
class Weather:
    """Daily weather per city over the range: arrays (days, N_CITIES)."""

    high: np.ndarray  # degC, one decimal
    low: np.ndarray
    precip: np.ndarray  # mm, one decimal
    condition: np.ndarray  # index into CONDITIONS


CONDITIONS = ("sunny", "cloudy", "overcast", "fog", "light_rain", "moderate_rain", "heavy_rain", "storm", "snow")


def _city_param(name: str) -> np.ndarray:
    return np.array([getattr(c, name) for c in CITIES], dtype=np.float64)


def build_weather(seed: int, first_day: int, days: int) -> Weather:
    """Seasonal temperatures with persistent anomalies, and seasonal rain, per city and day."""
    rng = stream(seed, "weather")
    epoch = first_day + np.arange(days)
    calendar_days = epoch.astype("datetime64[D]")
    day_of_year = (calendar_days - calendar_days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    season = (1 - np.cos(2 * np.pi * (day_of_year - COLDEST_DAY_OF_YEAR) / DAYS_PER_YEAR)) / 2  # 0 Jan .. 1 Jul
    mean = _city_param("temp_mean")[None, :] + _city_param("temp_amplitude")[None, :] * (2 * season[:, None] - 1)
    anomaly = np.zeros((days, N_CITIES))
    shocks = rng.normal(0.0, ANOMALY_SD * np.sqrt(1 - ANOMALY_PERSISTENCE ** 2), (days, N_CITIES))
    anomaly[0] = rng.normal(0.0, ANOMALY_SD, N_CITIES)
    for d in range(1, days):
        anomaly[d] = ANOMALY_PERSISTENCE * anomaly[d - 1] + shocks[d]
    half_range = _city_param("diurnal")[None, :] / 2
    high = np.round((mean + anomaly + half_range + rng.normal(0, NOISE_SD, (days, N_CITIES))) * 10) / 10
    low = np.round((mean + anomaly - half_range + rng.normal(0, NOISE_SD, (days, N_CITIES))) * 10) / 10
    low = np.minimum(low, high - 1.0)
    wet_prob = (_city_param("rain_winter")[None, :]
                + (_city_param("rain_summer") - _city_param("rain_winter"))[None, :] * season[:, None])
    wet = rng.random((days, N_CITIES)) < wet_prob
    amount = rng.gamma(RAIN_SHAPE, _city_param("rain_mm")[None, :] * (0.6 + 0.8 * season[:, None]) / RAIN_SHAPE)
    precip = np.where(wet, np.maximum(np.round(amount * 10) / 10, 0.1), 0.0)
    return Weather(high=high, low=low, precip=precip, condition=_conditions(rng, high, precip))


def _conditions(rng: np.random.Generator, high: np.ndarray, precip: np.ndarray) -> np.ndarray:
    """Condition code from temperature and precipitation (dry days: sunny/cloudy/overcast/fog)."""
    dry = rng.choice(4, size=high.shape, p=[0.3, 0.35, 0.3, 0.05])
    rain = np.select([precip >= STORM_MM, precip >= HEAVY_RAIN_MM, precip >= MODERATE_RAIN_MM], [7, 6, 5], 4)
    condition = np.where(precip > 0, rain, dry)
    return np.where((precip > 0) & (high <= SNOW_MAX_TEMP), CONDITIONS.index("snow"), condition)


def weather_frame(weather: Weather, day_index: int, epoch_day: int) -> pl.DataFrame:
    """The weather feed rows of one day (one per city)."""
    return pl.DataFrame({
        "date": formats.constant(formats.date_str(epoch_day), N_CITIES),
        "city": pl.Series([c.name_zh for c in CITIES], dtype=pl.String),
        "temp_high_c": formats.decimal1(np.round(weather.high[day_index] * 10)),
        "temp_low_c": formats.decimal1(np.round(weather.low[day_index] * 10)),
        "precipitation_mm": formats.decimal1(np.round(weather.precip[day_index] * 10)),
        "condition": formats.lookup(CONDITIONS, weather.condition[day_index]),
    })


COLD_REFERENCE_C = 15.0  # below this daily high, hot-pot demand rises
COLD_SCALE_C = 10.0
COLD_MAX = 2.0
HEAVY_RAIN_DAY_MM = 10.0


@dataclass(frozen=True)
class DayContext:
    """Everything behaviour depends on for one simulated day."""

    index: int
    epoch_day: int
    off: bool
    holiday: bool
    rate_mult: float
    category_mult: np.ndarray  # (N_L2,)
    high: np.ndarray  # (N_CITIES,)
    precip: np.ndarray  # (N_CITIES,)

    @property
    def start(self) -> int:
        """Local epoch seconds at 00:00."""
        return self.epoch_day * formats.SECONDS_PER_DAY

    @property
    def date(self) -> str:
        return formats.date_str(self.epoch_day)

    @property
    def coldness(self) -> np.ndarray:
        """0 (warm) .. COLD_MAX (freezing) per city."""
        return np.clip((COLD_REFERENCE_C - self.high) / COLD_SCALE_C, 0.0, COLD_MAX)

    @property
    def rainy(self) -> np.ndarray:
        return self.precip >= HEAVY_RAIN_DAY_MM


def day_context(calendar: Calendar, weather: Weather, first_day: int, index: int) -> DayContext:
    """The context of day `index` of the range."""
    return DayContext(index=index, epoch_day=first_day + index, off=bool(calendar.off[index]),
                      holiday=bool(calendar.holiday[index]), rate_mult=float(calendar.rate_mult[index]),
                      category_mult=calendar.category_mult[index], high=weather.high[index],
                      precip=weather.precip[index])
