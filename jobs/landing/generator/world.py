"""Reference data of the simulated world: cities, warehouses, personas and the code lists.

Everything here is a constant: the population, catalogue and behaviour are drawn from it by the
other modules. Persona parameters are the planted signal that later analytics must recover.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SICHUAN = "四川省"


@dataclass(frozen=True)
class Warehouse:
    """One distribution centre; every city is served by exactly one."""

    warehouse_id: str
    name_zh: str


WAREHOUSES: tuple[Warehouse, ...] = (
    Warehouse("WH_CD", "成都中心仓"),
    Warehouse("WH_MY", "绵阳仓"),
    Warehouse("WH_CQ", "重庆仓"),
    Warehouse("WH_SC", "华南仓(广州)"),
    Warehouse("WH_EC", "华东仓(上海)"),
)
WAREHOUSE_INDEX = {w.warehouse_id: i for i, w in enumerate(WAREHOUSES)}


@dataclass(frozen=True)
class City:
    """A city of the market with its climate (used by the weather model) and its warehouse."""

    name_zh: str
    name_en: str
    province: str
    region: str  # west_sichuan / south_sichuan / northeast_sichuan / outside_sichuan
    tier: str
    climate_zone: str
    warehouse_id: str
    weight: float  # share of customers
    temp_mean: float  # annual mean daily temperature, degC
    temp_amplitude: float  # half the difference between July and January means
    diurnal: float  # mean high-low difference
    rain_winter: float  # probability of a rainy day in January
    rain_summer: float  # probability of a rainy day in July
    rain_mm: float  # mean precipitation of a rainy day


BASIN = "Sichuan Basin humid subtropical"
PLATEAU = "Plateau"
NORTH = "North temperate"
NORTHEAST = "Northeast cold temperate"
YANGTZE = "Yangtze humid subtropical"
SOUTH = "South subtropical"

CITIES: tuple[City, ...] = (
    City("成都市", "Chengdu", SICHUAN, "west_sichuan", "new-1", BASIN, "WH_CD", 40, 16.5, 10.0, 7, 0.25, 0.55, 9),
    City("绵阳市", "Mianyang", SICHUAN, "west_sichuan", "3", BASIN, "WH_MY", 5, 16.5, 10.5, 7.5, 0.22, 0.50, 10),
    City("德阳市", "Deyang", SICHUAN, "west_sichuan", "3", BASIN, "WH_CD", 3, 16.3, 10.0, 7, 0.24, 0.52, 9),
    City("乐山市", "Leshan", SICHUAN, "west_sichuan", "4", BASIN, "WH_CD", 2, 17.2, 9.5, 7, 0.30, 0.58, 11),
    City("雅安市", "Ya'an", SICHUAN, "west_sichuan", "4", BASIN, "WH_CD", 1, 16.2, 9.5, 6.5, 0.40, 0.70, 12),
    City("眉山市", "Meishan", SICHUAN, "west_sichuan", "4", BASIN, "WH_CD", 2, 17.0, 9.8, 7, 0.27, 0.55, 9),
    City("宜宾市", "Yibin", SICHUAN, "south_sichuan", "3", BASIN, "WH_CQ", 3, 18.2, 9.6, 7, 0.30, 0.55, 9),
    City("泸州市", "Luzhou", SICHUAN, "south_sichuan", "4", BASIN, "WH_CQ", 2, 18.0, 9.8, 7, 0.30, 0.52, 9),
    City("自贡市", "Zigong", SICHUAN, "south_sichuan", "4", BASIN, "WH_CQ", 2, 17.8, 9.8, 7, 0.28, 0.50, 8),
    City("内江市", "Neijiang", SICHUAN, "south_sichuan", "4", BASIN, "WH_CQ", 1.5, 17.5, 9.8, 7, 0.28, 0.50, 8),
    City("南充市", "Nanchong", SICHUAN, "northeast_sichuan", "3", BASIN, "WH_MY", 3, 17.3, 10.5, 7.5, 0.22, 0.48, 10),
    City("达州市", "Dazhou", SICHUAN, "northeast_sichuan", "4", BASIN, "WH_MY", 2, 17.0, 10.5, 7.5, 0.25, 0.50, 11),
    City("广安市", "Guang'an", SICHUAN, "northeast_sichuan", "4", BASIN, "WH_MY", 1.5, 17.2, 10.5, 7.5, 0.25, 0.50, 10),
    City("重庆市", "Chongqing", "重庆市", "outside_sichuan", "new-1", BASIN, "WH_CQ", 10, 18.5, 10.5, 7.5, 0.28, 0.50, 10),
    City("西安市", "Xi'an", "陕西省", "outside_sichuan", "new-1", NORTH, "WH_MY", 3, 14.0, 13.5, 10, 0.10, 0.35, 7),
    City("昆明市", "Kunming", "云南省", "outside_sichuan", "2", PLATEAU, "WH_CD", 2, 15.5, 5.5, 10, 0.05, 0.60, 8),
    City("贵阳市", "Guiyang", "贵州省", "outside_sichuan", "2", PLATEAU, "WH_CQ", 2, 15.0, 9.0, 7, 0.35, 0.55, 9),
    City("武汉市", "Wuhan", "湖北省", "outside_sichuan", "new-1", YANGTZE, "WH_EC", 2.5, 17.0, 12.5, 8, 0.25, 0.40, 12),
    City("北京市", "Beijing", "北京市", "outside_sichuan", "1", NORTH, "WH_EC", 3, 12.5, 15.0, 11, 0.05, 0.35, 12),
    City("上海市", "Shanghai", "上海市", "outside_sichuan", "1", YANGTZE, "WH_EC", 3, 17.0, 11.5, 7, 0.30, 0.40, 10),
    City("广州市", "Guangzhou", "广东省", "outside_sichuan", "1", SOUTH, "WH_SC", 2.5, 22.5, 7.5, 7, 0.20, 0.60, 15),
    City("深圳市", "Shenzhen", "广东省", "outside_sichuan", "1", SOUTH, "WH_SC", 2.5, 23.0, 6.8, 6.5, 0.15, 0.55, 16),
    City("哈尔滨市", "Harbin", "黑龙江省", "outside_sichuan", "2", NORTHEAST, "WH_EC", 1.5, 5.0, 21.0, 11, 0.10, 0.40, 8),
)
N_CITIES = len(CITIES)
CITY_WAREHOUSE = np.array([WAREHOUSE_INDEX[c.warehouse_id] for c in CITIES], dtype=np.int64)
CITY_IN_SICHUAN = np.array([c.province == SICHUAN for c in CITIES])
CITY_WEIGHT = np.array([c.weight for c in CITIES], dtype=np.float64)

# Code lists as written in landing files.
CHANNELS = ("app", "web", "mini_program", "store", "wholesale")
STORE = CHANNELS.index("store")
WHOLESALE = CHANNELS.index("wholesale")
ONLINE_CHANNELS = np.array([True, True, True, False, False])
PAYMENTS = ("wechat_pay", "alipay", "card", "cash", "cash_on_delivery", "bank_transfer")
CASH = PAYMENTS.index("cash")
CASH_ON_DELIVERY = PAYMENTS.index("cash_on_delivery")
SLOTS = ("08-10", "10-12", "14-16", "18-20", "20-22")
SLOT_START_HOUR = np.array([8, 10, 14, 18, 20], dtype=np.int64)
SLOT_HOURS = 2
MEMBER_LEVELS = ("regular", "silver", "gold", "diamond")
LEVEL_POINTS = np.array([0.0, 1500.0, 6000.0, 20000.0])  # growth points (yuan spent) per level
TIERS = ("Potential", "Silver", "Gold", "Platinum")  # marketing tier of each member level
HOUSEHOLDS = ("single", "couple", "family_of_three", "family_with_elders", "restaurant")
GENDERS = ("female", "male")
CUSTOMER_TYPES = ("consumer", "restaurant")
ACQUISITION = ("app_store", "wechat_ad", "referral", "offline_store", "douyin", "sales_rep", "xiaohongshu")
DEVICE_TYPES = ("ios", "android", "pc")
PLATFORMS = ("app", "web", "mini_program")


@dataclass(frozen=True)
class Persona:
    """Hidden behaviour type of a customer (truth only): when, where, what and how much they buy."""

    name: str
    share: float
    rate: float  # daily purchase probability on an average day
    workday_mult: float
    offday_mult: float  # weekends and official days off
    hours_workday: tuple[float, ...]
    hours_offday: tuple[float, ...]
    channels: dict[str, float]
    payments: dict[str, float]
    lines_mean: float
    lines_range: tuple[int, int]
    qty_base: int
    qty_extra: float  # Poisson mean added to qty_base
    favourite_prob: float  # probability that a basket line is one of the customer's favourites
    sensitivity_beta: tuple[float, float]
    browse_prob: float  # daily probability of a non-converting browsing session
    households: dict[str, float]
    age_range: tuple[int, int]
    acquisition: dict[str, float]
    churn_hazard: float  # daily base hazard
    levels: dict[str, float]
    slots: dict[str, float]
    categories: dict[str, float]  # category_l2 -> basket weight
    cold_gain: float  # order-rate gain per unit of coldness
    rain_mult: float
    ios_share: float
    restaurant: bool = False
    city_weight_outside: float = 1.0  # multiplier of non-Sichuan city weights


def _hours(*pairs: tuple[int, float]) -> tuple[float, ...]:
    """24 hourly weights from (hour, weight) pairs; unnamed hours get 0."""
    weights = [0.0] * 24
    for hour, weight in pairs:
        weights[hour] = weight
    return tuple(weights)


_FAMILY_WORK = _hours((6, .5), (7, 1), (8, 2), (9, 2), (10, 1.5), (11, 1), (12, 1.5), (13, 1), (14, .8), (15, .8),
                      (16, 1), (17, 1.5), (18, 2), (19, 2.5), (20, 2), (21, 1.2), (22, .5), (23, .1))
_FAMILY_OFF = _hours((6, .5), (7, 2), (8, 5), (9, 6), (10, 5), (11, 3), (12, 1.5), (13, 1), (14, .8), (15, .8),
                     (16, 1), (17, 1), (18, 1), (19, 1), (20, .8), (21, .5), (22, .2), (23, .1))
_OFFICE_WORK = _hours((0, .3), (1, .1), (7, .2), (8, .4), (9, .2), (10, .2), (11, .3), (12, 1.2), (13, .8),
                      (14, .2), (15, .2), (16, .3), (17, .4), (18, .8), (19, 3), (20, 5), (21, 6), (22, 5), (23, 2))
_OFFICE_OFF = _hours((0, .5), (1, .2), (8, .2), (9, .8), (10, 1.5), (11, 2), (12, 2), (13, 1.5), (14, 1), (15, .8),
                     (16, 1), (17, 1), (18, 1.2), (19, 2), (20, 3), (21, 3), (22, 2), (23, 1))
_PROMO_WORK = _hours((0, 1.5), (1, .5), (2, .1), (6, .1), (7, .4), (8, .8), (9, 1.5), (10, 3), (11, 2), (12, 1.5),
                     (13, 1), (14, 1), (15, 1), (16, 1), (17, 1), (18, 1.2), (19, 1.5), (20, 3), (21, 2.5), (22, 1.5),
                     (23, .8))
_PROMO_OFF = _hours((0, 1.5), (1, .5), (2, .1), (7, .3), (8, .8), (9, 1.5), (10, 3), (11, 2.5), (12, 2), (13, 1.5),
                    (14, 1.5), (15, 1.5), (16, 1.2), (17, 1), (18, 1.2), (19, 1.5), (20, 3), (21, 2.5), (22, 1.5),
                    (23, .8))
_HOTPOT_WORK = _hours((0, .2), (1, .1), (7, .1), (8, .3), (9, .5), (10, .7), (11, 1), (12, 1.2), (13, .8), (14, .7),
                      (15, 1.2), (16, 2.5), (17, 3.5), (18, 3), (19, 1.5), (20, 1), (21, .8), (22, .5), (23, .3))
_HOTPOT_OFF = _hours((0, .2), (1, .1), (7, .1), (8, .3), (9, .8), (10, 1.5), (11, 2.5), (12, 2), (13, 1), (14, 1),
                     (15, 1.5), (16, 2.5), (17, 3), (18, 2.5), (19, 1.5), (20, 1), (21, .8), (22, .5), (23, .3))
_RESTAURANT = _hours((4, .5), (5, 3), (6, 6), (7, 6), (8, 4), (9, 2), (10, .6), (11, .3), (12, .1), (13, .1),
                     (14, .6), (15, .9), (16, .6), (17, .2), (21, .2), (22, .3), (23, .2))
_ELDERLY = _hours((5, .3), (6, 3), (7, 6), (8, 6), (9, 4), (10, 2), (11, .8), (12, .3), (13, .2), (14, .3),
                  (15, .8), (16, 1), (17, .6), (18, .2), (19, .1))

PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="family_weekly", share=0.25, rate=0.07, workday_mult=0.55, offday_mult=2.1,
        hours_workday=_FAMILY_WORK, hours_offday=_FAMILY_OFF,
        channels={"app": .7, "mini_program": .15, "web": .1, "store": .05},
        payments={"wechat_pay": .5, "alipay": .33, "card": .1, "cash_on_delivery": .07},
        lines_mean=10, lines_range=(6, 16), qty_base=1, qty_extra=0.7, favourite_prob=0.35,
        sensitivity_beta=(3, 4), browse_prob=0.05,
        households={"family_of_three": .6, "family_with_elders": .3, "couple": .1}, age_range=(28, 48),
        acquisition={"app_store": .3, "wechat_ad": .25, "referral": .2, "douyin": .15, "offline_store": .1},
        churn_hazard=0.0004, levels={"regular": .35, "silver": .35, "gold": .22, "diamond": .08},
        slots={"08-10": .15, "10-12": .35, "14-16": .25, "18-20": .2, "20-22": .05},
        categories={"leafy": 8, "root": 6, "fruiting_veg": 6, "mushroom": 3, "tofu": 2, "citrus": 3,
                    "apple_pear": 3, "berries": 3, "tropical": 3, "pork": 6, "beef": 3, "poultry": 4, "fish": 3,
                    "shrimp_shell": 2, "milk": 3, "yoghurt": 4, "eggs": 3, "bread": 1, "pastry": 1.5, "rice": 2,
                    "flour_noodles": 2, "oil": 1.5, "dumplings": 1, "frozen_seafood": 1.5, "chips": 1.5,
                    "nuts": 1.5, "beverages": 2, "soy_sauce": 1, "spices": 1, "tangyuan": .5, "hotpot_base": .4,
                    "frozen_meat": .6, "mooncake": .1, "vinegar": .5, "chili_sauce": 1, "spicy_snacks": 1},
        cold_gain=0.1, rain_mult=1.05, ios_share=0.45,
    ),
    Persona(
        name="office_evening", share=0.20, rate=0.1, workday_mult=1.2, offday_mult=0.5,
        hours_workday=_OFFICE_WORK, hours_offday=_OFFICE_OFF,
        channels={"app": .6, "mini_program": .35, "web": .05},
        payments={"wechat_pay": .45, "alipay": .5, "card": .05},
        lines_mean=3, lines_range=(1, 6), qty_base=1, qty_extra=0.2, favourite_prob=0.45,
        sensitivity_beta=(2, 5), browse_prob=0.07,
        households={"single": .65, "couple": .35}, age_range=(22, 36),
        acquisition={"app_store": .3, "wechat_ad": .2, "douyin": .3, "xiaohongshu": .15, "referral": .05},
        churn_hazard=0.0006, levels={"regular": .5, "silver": .35, "gold": .12, "diamond": .03},
        slots={"18-20": .45, "20-22": .45, "08-10": .1},
        categories={"dumplings": 5, "tangyuan": 1, "frozen_seafood": 1.5, "bread": .6, "milk": 1.5,
                    "yoghurt": 3, "citrus": 1.5, "tropical": 2, "berries": 1.5, "chips": 3, "spicy_snacks": 2.5,
                    "nuts": 1.5, "beverages": 3, "fruiting_veg": 1, "leafy": 1, "eggs": 1, "poultry": 1,
                    "hotpot_base": .3, "frozen_meat": .4, "flour_noodles": 2, "vinegar": .3, "pastry": 1.5,
                    "chili_sauce": .5, "pork": .5, "mushroom": .5, "tofu": .3},
        cold_gain=0.1, rain_mult=1.1, ios_share=0.55,
    ),
    Persona(
        name="promo_hunter", share=0.15, rate=0.03, workday_mult=1.0, offday_mult=1.0,
        hours_workday=_PROMO_WORK, hours_offday=_PROMO_OFF,
        channels={"web": .35, "app": .5, "mini_program": .15},
        payments={"alipay": .45, "wechat_pay": .35, "card": .2},
        lines_mean=5, lines_range=(2, 9), qty_base=1, qty_extra=1.0, favourite_prob=0.15,
        sensitivity_beta=(8, 2), browse_prob=0.12,
        households={"couple": .35, "family_of_three": .35, "single": .2, "family_with_elders": .1},
        age_range=(25, 55),
        acquisition={"wechat_ad": .3, "douyin": .3, "referral": .25, "app_store": .15},
        churn_hazard=0.0009, levels={"regular": .45, "silver": .35, "gold": .15, "diamond": .05},
        slots={"10-12": .3, "14-16": .3, "18-20": .25, "20-22": .15},
        categories={"rice": 3, "oil": 3, "flour_noodles": 2, "chips": 3, "nuts": 3, "beverages": 3,
                    "spicy_snacks": 2, "soy_sauce": 2, "spices": 1.5, "milk": 1.5, "yoghurt": 2, "eggs": 1.5,
                    "pork": 2, "poultry": 2, "citrus": 2, "apple_pear": 2, "tropical": 1.5, "leafy": 2,
                    "root": 2, "dumplings": 1, "frozen_seafood": 1.5, "hotpot_base": .5, "frozen_meat": .8,
                    "pastry": 1, "bread": .3, "vinegar": .3, "tofu": .3},
        cold_gain=0.1, rain_mult=1.05, ios_share=0.35,
    ),
    Persona(
        name="hotpot_fan", share=0.20, rate=0.06, workday_mult=0.85, offday_mult=1.4,
        hours_workday=_HOTPOT_WORK, hours_offday=_HOTPOT_OFF,
        channels={"app": .55, "mini_program": .3, "web": .05, "store": .1},
        payments={"wechat_pay": .55, "alipay": .35, "cash_on_delivery": .1},
        lines_mean=5, lines_range=(3, 9), qty_base=1, qty_extra=0.6, favourite_prob=0.4,
        sensitivity_beta=(3, 3), browse_prob=0.06,
        households={"couple": .3, "family_of_three": .3, "single": .3, "family_with_elders": .1},
        age_range=(20, 45),
        acquisition={"douyin": .3, "wechat_ad": .25, "app_store": .2, "referral": .15, "xiaohongshu": .1},
        churn_hazard=0.0005, levels={"regular": .4, "silver": .35, "gold": .18, "diamond": .07},
        slots={"14-16": .2, "18-20": .5, "10-12": .15, "20-22": .15},
        categories={"hotpot_base": 1.5, "frozen_meat": 4, "tofu": 2, "frozen_seafood": 4, "mushroom": 4,
                    "leafy": 4, "root": 3, "beverages": 5, "chili_sauce": 4, "beef": 3, "spicy_snacks": 2,
                    "shrimp_shell": 1.5, "fruiting_veg": 1, "dumplings": .5, "vinegar": .3, "milk": .5,
                    "bread": .3, "eggs": .5},
        cold_gain=0.5, rain_mult=1.05, ios_share=0.5,
    ),
    Persona(
        name="restaurant_buyer", share=0.05, rate=0.35, workday_mult=1.1, offday_mult=0.75,
        hours_workday=_RESTAURANT, hours_offday=_RESTAURANT,
        channels={"wholesale": .85, "app": .15},
        payments={"bank_transfer": .55, "cash_on_delivery": .35, "wechat_pay": .1},
        lines_mean=8, lines_range=(4, 14), qty_base=3, qty_extra=7.0, favourite_prob=0.6,
        sensitivity_beta=(1.5, 8), browse_prob=0.02,
        households={"restaurant": 1.0}, age_range=(28, 55),
        acquisition={"sales_rep": .7, "offline_store": .2, "referral": .1},
        churn_hazard=0.0002, levels={"regular": .1, "silver": .2, "gold": .35, "diamond": .35},
        slots={"08-10": .35, "10-12": .45, "14-16": .2},
        categories={"frozen_meat": 6, "hotpot_base": 1.5, "oil": 8, "chili_sauce": 7, "spices": 7, "pork": 7,
                    "beef": 5, "poultry": 5, "root": 5, "leafy": 4, "tofu": 1.5, "vinegar": 1, "soy_sauce": 4,
                    "rice": 4, "frozen_seafood": 3, "mushroom": 3, "eggs": 2, "flour_noodles": 2, "fish": 2},
        cold_gain=0.15, rain_mult=1.0, ios_share=0.2, restaurant=True, city_weight_outside=0.3,
    ),
    Persona(
        name="elderly_morning", share=0.15, rate=0.12, workday_mult=1.0, offday_mult=1.0,
        hours_workday=_ELDERLY, hours_offday=_ELDERLY,
        channels={"store": .6, "mini_program": .4},
        payments={"cash": .55, "wechat_pay": .4, "alipay": .05},
        lines_mean=4, lines_range=(2, 7), qty_base=1, qty_extra=0.5, favourite_prob=0.55,
        sensitivity_beta=(5, 3), browse_prob=0.02,
        households={"family_with_elders": .45, "couple": .45, "single": .1}, age_range=(58, 80),
        acquisition={"offline_store": .6, "referral": .3, "wechat_ad": .1},
        churn_hazard=0.0003, levels={"regular": .4, "silver": .35, "gold": .2, "diamond": .05},
        slots={"08-10": .55, "10-12": .35, "14-16": .1},
        categories={"leafy": 10, "root": 7, "fruiting_veg": 5, "eggs": 4, "tofu": 1.5, "rice": 3,
                    "flour_noodles": 4, "pork": 5, "fish": 3, "citrus": 2, "apple_pear": 2, "tropical": 1,
                    "milk": 1.5, "oil": 1.5, "soy_sauce": 1.5, "vinegar": .4, "spices": 1, "pastry": 1.5,
                    "mushroom": 2, "poultry": 2, "bread": .3},
        cold_gain=0.1, rain_mult=0.8, ios_share=0.2,
    ),
)
PERSONA_NAMES = tuple(p.name for p in PERSONAS)
RESTAURANT_PERSONA = PERSONA_NAMES.index("restaurant_buyer")
PROMO_PERSONA = PERSONA_NAMES.index("promo_hunter")
N_PERSONAS = len(PERSONAS)


def persona_array(attribute: str) -> np.ndarray:
    """One numeric attribute of every persona, indexed by persona."""
    return np.array([getattr(p, attribute) for p in PERSONAS], dtype=np.float64)


def distribution(weights: dict[str, float], codes: tuple[str, ...]) -> np.ndarray:
    """A probability vector over `codes` from a {code: weight} dict (unknown codes are an error)."""
    unknown = set(weights) - set(codes)
    if unknown:
        raise ValueError(f"unknown codes {sorted(unknown)}; expected some of {codes}")
    vector = np.array([weights.get(code, 0.0) for code in codes], dtype=np.float64)
    return vector / vector.sum()


def persona_matrix(attribute: str, codes: tuple[str, ...]) -> np.ndarray:
    """Per-persona probability rows over `codes` (N_PERSONAS x len(codes))."""
    return np.vstack([distribution(getattr(p, attribute), codes) for p in PERSONAS])


def hour_matrix(offday: bool) -> np.ndarray:
    """Per-persona probability over the 24 hours of a workday or an off day."""
    attribute = "hours_offday" if offday else "hours_workday"
    rows = np.array([getattr(p, attribute) for p in PERSONAS], dtype=np.float64)
    return rows / rows.sum(axis=1, keepdims=True)
