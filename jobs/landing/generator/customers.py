"""Customers (CRM): the population with its hidden persona, PII, profile attributes, mutable state
(member level, city, churn), and the rows of the customers snapshot export.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats, texts
from .catalog import Catalog
from .rng import stream
from .world import (ACQUISITION, CITIES, CITY_WEIGHT, CUSTOMER_TYPES, GENDERS, HOUSEHOLDS, LEVEL_POINTS,
                    MEMBER_LEVELS, N_PERSONAS, PERSONAS, persona_matrix)

CUSTOMER_ID_WIDTH = 7
SIGNUP_IN_RANGE_SHARE = 0.2  # customers who sign up during the simulated range
SIGNUP_HISTORY_DAYS = 3 * 365  # the others signed up within this many days before the start
TEST_ACCOUNT_RATE = 0.25  # test accounts per customer per unit of dirt (0.5% at dirt 0.02)
TEST_PHONE_PREFIX = "10000000"
MOBILE_PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "152", "158", "159", "182", "187", "188",
                   "130", "131", "132", "155", "156", "186", "133", "153", "180", "189", "177", "199")
FAVOURITES = 8  # favourite products per customer
RATE_HETEROGENEITY_SD = 0.5
MOVE_RATE = 0.0002  # daily probability of moving to another city
DAY_SECONDS = formats.SECONDS_PER_DAY


@dataclass
class Population:
    """Every customer of the run (index = customer number - 1): fixed traits and mutable state."""

    persona: np.ndarray
    is_test: np.ndarray
    signup_day: np.ndarray  # day index (negative = before the range)
    signup_secs: np.ndarray
    city: np.ndarray
    gender: np.ndarray  # -1 for restaurants
    birth_day: np.ndarray  # epoch day, -1 for restaurants
    household: np.ndarray
    acquisition: np.ndarray
    level: np.ndarray
    points: np.ndarray
    sensitivity: np.ndarray
    rate_mult: np.ndarray
    favourites: np.ndarray  # (n, FAVOURITES) product indices
    device_no: np.ndarray
    name: pl.Series
    phone: pl.Series
    address: pl.Series
    updated_secs: np.ndarray
    churned: np.ndarray
    churn_day: np.ndarray  # -1 when not churned
    churn_cause: np.ndarray  # -1 none, else index into lifecycle.CHURN_CAUSES
    late: np.ndarray  # late or failed deliveries experienced (cumulative)
    complaints: np.ndarray  # complaints filed (cumulative)
    recent_late: np.ndarray  # exponentially decayed counts that drive the churn hazard
    recent_complaints: np.ndarray
    lapse_until: np.ndarray  # day index until which the customer lapses (exclusive)
    lapses: np.ndarray
    has_ordered: np.ndarray
    customer_id: pl.Series  # C0000001-style ids of every customer

    @property
    def size(self) -> int:
        """Number of customers."""
        return len(self.persona)


def count_test_accounts(customers: int, dirt: float) -> int:
    """Number of test accounts: ~0.5% of customers at dirt 0.02, at least one when dirt > 0."""
    if dirt <= 0:
        return 0
    return max(1, int(round(customers * TEST_ACCOUNT_RATE * dirt)))


def _choice(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: one code per element, row probs[rows[i]]."""
    return formats.choose(rng, probs, rows)


def build_population(seed: int, n: int, days: int, first_day: int, dirt: float, catalog: Catalog,
                     category_weights: np.ndarray) -> Population:
    """Draw the whole population (customers who sign up later included)."""
    rng = stream(seed, "customers")
    shares = np.array([p.share for p in PERSONAS])
    persona = rng.choice(N_PERSONAS, size=n, p=shares / shares.sum())
    restaurant = np.array([p.restaurant for p in PERSONAS])[persona]
    signup_day = np.where(rng.random(n) < SIGNUP_IN_RANGE_SHARE, rng.integers(1, max(days, 2), n),
                          -rng.integers(1, SIGNUP_HISTORY_DAYS, n))
    signup_day[0] = min(signup_day[0], -1)  # at least one customer exists on the first day
    signup_secs = (first_day + signup_day) * DAY_SECONDS + rng.integers(8 * 3600, 23 * 3600, n)
    city = _draw_city(rng, persona)
    gender = np.where(restaurant, -1, rng.integers(0, 2, n))
    ages = np.array([p.age_range for p in PERSONAS])[persona]
    birth_day = np.where(restaurant, -1, first_day - rng.integers(ages[:, 0] * 365, ages[:, 1] * 365 + 1))
    level = _choice(rng, persona_matrix("levels", MEMBER_LEVELS), persona)
    level[signup_day > 0] = 0
    upper = np.append(LEVEL_POINTS[1:], LEVEL_POINTS[-1] * 2)
    points = LEVEL_POINTS[level] + rng.random(n) * (upper[level] - LEVEL_POINTS[level]) * 0.9
    beta = np.array([p.sensitivity_beta for p in PERSONAS])[persona]
    is_test = np.zeros(n, dtype=bool)
    is_test[rng.choice(n, size=count_test_accounts(n, dirt), replace=False)] = True
    return Population(
        persona=persona, is_test=is_test, signup_day=signup_day, signup_secs=signup_secs, city=city,
        gender=gender, birth_day=birth_day,
        household=_choice(rng, persona_matrix("households", HOUSEHOLDS), persona),
        acquisition=_choice(rng, persona_matrix("acquisition", ACQUISITION), persona),
        level=level, points=points,
        sensitivity=np.round(rng.beta(beta[:, 0], beta[:, 1]), 4),
        rate_mult=rng.lognormal(-RATE_HETEROGENEITY_SD ** 2 / 2, RATE_HETEROGENEITY_SD, n),
        favourites=_favourites(rng, persona, catalog, category_weights),
        device_no=rng.permutation(n),
        name=_names(rng, gender, restaurant, is_test),
        phone=_phones(rng, is_test),
        address=_addresses(rng, city),
        updated_secs=np.where(signup_day > 0, signup_secs,
                              np.maximum(signup_secs, first_day * DAY_SECONDS - rng.integers(3600, 200 * DAY_SECONDS, n))),
        churned=np.zeros(n, dtype=bool), churn_day=np.full(n, -1), churn_cause=np.full(n, -1),
        late=np.zeros(n, dtype=np.int64), complaints=np.zeros(n, dtype=np.int64),
        recent_late=np.zeros(n), recent_complaints=np.zeros(n),
        lapse_until=np.zeros(n, dtype=np.int64), lapses=np.zeros(n, dtype=np.int64),
        has_ordered=signup_day <= 0,
        customer_id=formats.ids("C", np.arange(1, n + 1), CUSTOMER_ID_WIDTH),
    )


def _draw_city(rng: np.random.Generator, persona: np.ndarray) -> np.ndarray:
    """Home city; restaurants concentrate in Sichuan and Chongqing."""
    outside = np.array([c.region == "outside_sichuan" and c.name_en != "Chongqing" for c in CITIES])
    rows = []
    for p in PERSONAS:
        weight = CITY_WEIGHT * np.where(outside, p.city_weight_outside, 1.0)
        rows.append(weight / weight.sum())
    return _choice(rng, np.vstack(rows), persona)


def _favourites(rng: np.random.Generator, persona: np.ndarray, catalog: Catalog,
                category_weights: np.ndarray) -> np.ndarray:
    """FAVOURITES products per customer, drawn from the persona's category mix."""
    n = len(persona)
    rows = np.repeat(persona, FAVOURITES)
    l2 = _choice(rng, category_weights / category_weights.sum(axis=1, keepdims=True), rows)
    return catalog.sample_in_l2(l2, rng.random(n * FAVOURITES)).reshape(n, FAVOURITES)


def _names(rng: np.random.Generator, gender: np.ndarray, restaurant: np.ndarray, is_test: np.ndarray) -> pl.Series:
    """Chinese personal names, restaurant names for B2B, 测试/test names for test accounts."""
    n = len(gender)
    surname = formats.lookup(texts.SURNAMES, rng.integers(0, len(texts.SURNAMES), n))
    female = formats.lookup(texts.GIVEN_FEMALE, rng.integers(0, len(texts.GIVEN_FEMALE), (2, n)).ravel())
    male = formats.lookup(texts.GIVEN_MALE, rng.integers(0, len(texts.GIVEN_MALE), (2, n)).ravel())
    two_chars = rng.random(n) < 0.7
    frame = pl.DataFrame({
        "surname": surname, "f1": female[:n], "f2": female[n:], "m1": male[:n], "m2": male[n:],
        "two": two_chars, "female": gender == 0, "restaurant": restaurant, "test": is_test,
        "shop": formats.lookup(texts.RESTAURANT_PREFIX, rng.integers(0, len(texts.RESTAURANT_PREFIX), n))
        + formats.lookup(texts.RESTAURANT_SUFFIX, rng.integers(0, len(texts.RESTAURANT_SUFFIX), n)),
        "test_prefix": formats.lookup(texts.TEST_NAME_PREFIXES, rng.integers(0, len(texts.TEST_NAME_PREFIXES), n)),
    })
    first = pl.when(pl.col("female")).then(pl.col("f1")).otherwise(pl.col("m1"))
    second = pl.when(pl.col("two")).then(
        pl.when(pl.col("female")).then(pl.col("f2")).otherwise(pl.col("m2"))).otherwise(pl.lit(""))
    person = pl.col("surname") + first + second
    name = pl.when(pl.col("restaurant")).then(pl.col("shop")).otherwise(person)
    name = pl.when(pl.col("test")).then(pl.col("test_prefix") + name).otherwise(name)
    return frame.select(name.alias("name")).to_series()


def _phones(rng: np.random.Generator, is_test: np.ndarray) -> pl.Series:
    """Unique mobile numbers; test accounts get 10000000xxx."""
    n = len(is_test)
    prefix = formats.lookup(MOBILE_PREFIXES, rng.integers(0, len(MOBILE_PREFIXES), n))
    number = prefix + formats.integers(rng.choice(10 ** 8, size=n, replace=False)).str.zfill(8)
    test_no = np.cumsum(is_test) - 1
    test = TEST_PHONE_PREFIX + formats.integers(test_no % 1000).str.zfill(3)
    return pl.select(pl.when(pl.lit(pl.Series(is_test))).then(pl.lit(test)).otherwise(pl.lit(number))).to_series()


def _addresses(rng: np.random.Generator, city: np.ndarray) -> pl.Series:
    """Street addresses in the customer's city."""
    n = len(city)
    districts = [texts.DISTRICTS[c.name_en] for c in CITIES]
    district_no = (rng.random(n) * np.array([len(d) for d in districts])[city]).astype(np.int64)
    flat = [d for ds in districts for d in ds]
    offsets = np.cumsum([0] + [len(d) for d in districts])[:-1]
    prefix = [("" if c.province == c.name_zh else c.province) + c.name_zh for c in CITIES]
    return (formats.lookup(prefix, city)
            + formats.lookup(flat, offsets[city] + district_no)
            + formats.lookup(texts.ROADS, rng.integers(0, len(texts.ROADS), n))
            + formats.integers(rng.integers(1, 400, n)) + "号"
            + formats.integers(rng.integers(1, 30, n)) + "栋"
            + formats.integers(rng.integers(1, 5, n)) + "单元"
            + formats.integers(rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)))


def level_from_points(points: np.ndarray) -> np.ndarray:
    """Member level reached with the given growth points."""
    return np.searchsorted(LEVEL_POINTS, points, side="right") - 1


def daily_changes(pop: Population, rng: np.random.Generator, day: int, day_start: int) -> np.ndarray:
    """Apply today's profile changes (upgrades earned by yesterday's spend, city moves) in place and
    return the indices of customers whose CRM row changed (new sign-ups excluded)."""
    existing = pop.signup_day < day
    new_level = level_from_points(pop.points)
    upgraded = existing & (new_level > pop.level)
    pop.level = np.where(upgraded, new_level, pop.level)
    moved = np.flatnonzero(existing & ~pop.churned & (rng.random(pop.size) < MOVE_RATE))
    if len(moved):
        new_city = _draw_city(rng, pop.persona[moved])
        new_city = np.where(new_city == pop.city[moved], (new_city + 1) % len(CITIES), new_city)
        pop.city[moved] = new_city
        pop.address = pop.address.scatter(moved, _addresses(rng, new_city))
    changed = np.union1d(np.flatnonzero(upgraded), moved)
    pop.updated_secs[changed] = day_start + rng.integers(6 * 3600, 23 * 3600, len(changed))
    return changed


def customers_frame(pop: Population, index: np.ndarray) -> pl.DataFrame:
    """Rows of the customers export (contract columns) for the given customer indices."""
    city = pop.city[index]
    return pl.DataFrame({
        "customer_id": pop.customer_id.gather(index),
        "name": pop.name.gather(index),
        "phone": pop.phone.gather(index),
        "address": pop.address.gather(index),
        "gender": formats.lookup(GENDERS, pop.gender[index]),
        "birth_date": pl.select(pl.when(pl.lit(pl.Series(pop.birth_day[index] >= 0)))
                                .then(pl.lit(formats.dates(np.maximum(pop.birth_day[index], 0))))).to_series(),
        "province": formats.lookup([c.province for c in CITIES], city),
        "city": formats.lookup([c.name_zh for c in CITIES], city),
        "city_tier": formats.lookup([c.tier for c in CITIES], city),
        "climate_zone": formats.lookup([c.climate_zone for c in CITIES], city),
        "member_level": formats.lookup(MEMBER_LEVELS, pop.level[index]),
        "household_type": formats.lookup(HOUSEHOLDS, pop.household[index]),
        "customer_type": formats.lookup(CUSTOMER_TYPES,
                                        np.array([p.restaurant for p in PERSONAS], dtype=np.int64)[pop.persona[index]]),
        "acquisition_channel": formats.lookup(ACQUISITION, pop.acquisition[index]),
        "signup_date": formats.dates(pop.signup_secs[index] // DAY_SECONDS),
        "updated_at": formats.timestamps(pop.updated_secs[index]),
    })
