"""Promotions and campaign sends (marketing): announcements, tier targeting, A/B coupon campaigns
with a planted uplift, and the bookkeeping that measures each campaign's true effect.

Each announcement is one campaign (CMP0001) with one promotion (PR00001). Discount and bundle
promotions cut line prices of a category_l1 for the targeted tier. Coupon promotions are sent to
a random sample of the targeted tier, split at random into arm A (coupon) and arm B (control, no
coupon). An A customer who has not converted yet may buy *because of* the coupon (daily hazard
from the planted redemption probability); the true uplift is the share of A customers whose only
purchases in the window were such coupon-driven ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import formats
from .catalog import CATEGORIES, L1_NAMES
from .customers import Population
from .world import TIERS

ANNOUNCE_PROB = 0.25
LEAD_DAYS = (0, 4)
LENGTH_DAYS = (3, 9)
PROMO_TYPES = ("discount", "coupon", "bundle")
PROMO_TYPE_PROBS = (0.55, 0.35, 0.10)
DEPTHS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
DEPTH_PROBS = (0.1, 0.2, 0.15, 0.2, 0.1, 0.12, 0.08, 0.05)
CHANNELS = ("sms", "app_push", "wechat")
TARGETS = ("all", *TIERS)
TARGET_PROBS = (0.25, 0.15, 0.2, 0.2, 0.2)
COUPON_VALUES_YUAN = (5, 10, 15, 20, 30, 50)
COUPON_THRESHOLD_MULTIPLES = (2, 3, 4, 5, 10)
SEND_SHARE = (0.15, 0.35)  # share of the targeted tier that receives a send
REDEEM_PROB = (0.1, 0.3)  # planted campaign redemption probability (mean over customers)
PURCHASE_GAIN = 6.0  # order-rate gain = 1 + PURCHASE_GAIN * sensitivity^2 * depth
SWITCH_GAIN = 1.5  # a basket line moves to the promoted category with prob SWITCH_GAIN * sens * depth
SWITCH_MAX = 0.6
L1_ZH = {"vegetables": "蔬菜", "fruit": "水果", "meat": "肉类", "seafood": "海鲜", "dairy_eggs": "乳品蛋类",
         "bakery": "烘焙", "frozen": "冻品", "grains_oils": "粮油", "snacks": "零食饮料", "condiments": "调味品"}
NEW_USER_COUPON = ("CPNNEW10", 1000, 3000)  # coupon id, value and threshold in fen
L1_OF_L2 = np.array([L1_NAMES.index(c.l1) for c in CATEGORIES])


@dataclass
class Promotion:
    """One promotion of one campaign, with its A/B bookkeeping when it is a coupon campaign."""

    number: int
    promo_type: str
    depth: float
    l1: int  # -1 = all categories (coupons)
    target: int  # index into TARGETS
    channel: str
    announced: int  # day index
    start: int
    end: int  # inclusive
    coupon_fen: int = 0
    threshold_fen: int = 0
    redeem_prob: float = 0.0
    arm: np.ndarray | None = None  # per customer: -1 not sent, 0 = A, 1 = B
    hazard: np.ndarray | None = None  # per customer daily coupon-driven purchase hazard (arm A)
    natural: np.ndarray | None = None  # converted by an ordinary purchase in the window
    driven: np.ndarray | None = None  # bought because of the coupon
    used: np.ndarray | None = None  # coupon redeemed on an order

    @property
    def promo_id(self) -> str:
        return f"PR{self.number:05d}"

    @property
    def campaign_id(self) -> str:
        return f"CMP{self.number:04d}"

    @property
    def coupon_id(self) -> str:
        return f"CPN{self.number:04d}"

    def is_active(self, day: int) -> bool:
        return self.start <= day <= self.end

    def tier_ok(self, level: np.ndarray) -> np.ndarray:
        """Whether customers of the given member levels are targeted."""
        if self.target == 0:
            return np.ones(len(level), dtype=bool)
        return level == self.target - 1

    @property
    def name(self) -> str:
        if self.promo_type == "coupon":
            return f"满{self.threshold_fen // 100}减{self.coupon_fen // 100}优惠券"
        label = L1_ZH[L1_NAMES[self.l1]]
        if self.promo_type == "bundle":
            return f"{label}组合套餐立减{round(self.depth * 100)}%"
        return f"{label}限时{_zhe(self.depth)}折"


def _zhe(depth: float) -> str:
    """Chinese discount notation: 0.2 off -> '8', 0.15 off -> '8.5'."""
    tenths = round((1 - depth) * 100)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"


def announce(rng: np.random.Generator, day: int, pop: Population, next_number: int) -> list[Promotion]:
    """Today's new promotions (zero or one campaign)."""
    if rng.random() >= ANNOUNCE_PROB:
        return []
    promo_type = PROMO_TYPES[rng.choice(len(PROMO_TYPES), p=PROMO_TYPE_PROBS)]
    start = day + int(rng.integers(*LEAD_DAYS))
    promo = Promotion(
        number=next_number, promo_type=promo_type, depth=float(DEPTHS[rng.choice(len(DEPTHS), p=DEPTH_PROBS)]),
        l1=-1 if promo_type == "coupon" else int(rng.integers(0, len(L1_NAMES))),
        target=int(rng.choice(len(TARGETS), p=TARGET_PROBS)), channel=CHANNELS[rng.integers(0, len(CHANNELS))],
        announced=day, start=start, end=start + int(rng.integers(*LENGTH_DAYS)) - 1,
    )
    if promo_type == "coupon":
        _setup_coupon(promo, rng, day, pop)
    return [promo]


def _setup_coupon(promo: Promotion, rng: np.random.Generator, day: int, pop: Population) -> None:
    """Pick the send list, split it into arms and plant the redemption hazard."""
    value = int(rng.choice(COUPON_VALUES_YUAN)) * 100
    multiple = int(rng.choice(COUPON_THRESHOLD_MULTIPLES))
    promo.coupon_fen, promo.threshold_fen = value, value * multiple
    promo.depth = round(1.0 / multiple, 2)
    promo.redeem_prob = round(float(rng.uniform(*REDEEM_PROB)), 4)
    eligible = (pop.signup_day <= day) & promo.tier_ok(pop.level)
    sent = eligible & (rng.random(pop.size) < rng.uniform(*SEND_SHARE))
    promo.arm = np.where(sent, (rng.random(pop.size) < 0.5).astype(np.int8), np.int8(-1)).astype(np.int8)
    personal = np.minimum(promo.redeem_prob * (0.5 + pop.sensitivity), 0.9)
    window = promo.end - promo.start + 1
    promo.hazard = np.where(promo.arm == 0, 1 - (1 - personal) ** (1.0 / window), 0.0)
    promo.natural = np.zeros(pop.size, dtype=bool)
    promo.driven = np.zeros(pop.size, dtype=bool)
    promo.used = np.zeros(pop.size, dtype=bool)


def promotions_frame(promos: list[Promotion], first_day: int) -> pl.DataFrame:
    """Rows of the promotions export for promotions announced today."""
    return pl.DataFrame({
        "promo_id": [p.promo_id for p in promos],
        "campaign_id": [p.campaign_id for p in promos],
        "name": [p.name for p in promos],
        "promo_type": [p.promo_type for p in promos],
        "discount_depth": [f"{p.depth:.2f}" for p in promos],
        "category_l1": ["all" if p.l1 < 0 else L1_NAMES[p.l1] for p in promos],
        "target_tier": [TARGETS[p.target] for p in promos],
        "channel": [p.channel for p in promos],
        "start_date": [formats.date_str(first_day + p.start) for p in promos],
        "end_date": [formats.date_str(first_day + p.end) for p in promos],
    }, schema={c: pl.String for c in ("promo_id", "campaign_id", "name", "promo_type", "discount_depth",
                                      "category_l1", "target_tier", "channel", "start_date", "end_date")})


def sends_frame(promo: Promotion, customer_id: pl.Series, rng: np.random.Generator, day_start: int) -> pl.DataFrame:
    """Rows of the campaign_sends export of one coupon campaign (sent on its announcement day)."""
    members = np.flatnonzero(promo.arm >= 0)
    arm = promo.arm[members]
    sent_at = day_start + rng.integers(9 * 3600, 21 * 3600, len(members))
    order = np.argsort(sent_at, kind="stable")
    members, arm, sent_at = members[order], arm[order], sent_at[order]
    return pl.DataFrame({
        "campaign_id": formats.constant(promo.campaign_id, len(members)),
        "customer_id": customer_id.gather(members),
        "arm": formats.lookup(("A", "B"), arm),
        "channel": formats.constant(promo.channel, len(members)),
        "coupon_value": formats.lookup((f"{promo.coupon_fen // 100}.00", None), arm),
        "sent_at": formats.timestamps(sent_at),
    })


def discount_exposure(active: list[Promotion], level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(deepest relevant discount depth, its promotion position in `active` or -1) per customer."""
    depth = np.zeros(len(level))
    which = np.full(len(level), -1)
    for position, promo in enumerate(active):
        if promo.promo_type == "coupon":
            continue
        better = promo.tier_ok(level) & (promo.depth > depth)
        depth = np.where(better, promo.depth, depth)
        which = np.where(better, position, which)
    return depth, which


def purchase_mult(depth: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    """Order-rate multiplier from the deepest relevant discount (price-sensitive customers respond)."""
    return 1.0 + PURCHASE_GAIN * sensitivity ** 2 * depth


def coupon_driven(active: list[Promotion], natural_buyer: np.ndarray, alive: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Customers who buy today only because of a coupon (A arm, not yet converted, not buying anyway)."""
    driven = np.zeros(len(alive), dtype=bool)
    for promo in active:
        if promo.promo_type != "coupon":
            continue
        open_ = alive & ~natural_buyer & ~promo.natural & ~promo.driven
        hit = open_ & (rng.random(len(alive)) < promo.hazard)
        promo.driven |= hit
        driven |= hit
    return driven


def record_natural(active: list[Promotion], natural_buyer: np.ndarray) -> None:
    """Mark ordinary purchases of targeted customers inside each coupon window."""
    for promo in active:
        if promo.promo_type == "coupon":
            promo.natural |= natural_buyer & (promo.arm >= 0)


def campaigns_truth(promos: list[Promotion], first_day: int) -> pl.DataFrame:
    """Truth rows: each campaign with its planted redemption probability and realised A/B figures."""
    rows = []
    for p in promos:
        row = {"campaign_id": p.campaign_id, "promo_id": p.promo_id, "promo_type": p.promo_type,
               "category_l1": "all" if p.l1 < 0 else L1_NAMES[p.l1], "discount_depth": p.depth,
               "target_tier": TARGETS[p.target], "channel": p.channel,
               "announced_date": formats.date_str(first_day + p.announced),
               "start_date": formats.date_str(first_day + p.start), "end_date": formats.date_str(first_day + p.end),
               "coupon_value": p.coupon_fen / 100, "redeem_prob": p.redeem_prob,
               "n_a": 0, "n_b": 0, "conversion_a": None, "conversion_b": None, "natural_conversion_a": None,
               "true_uplift": None}
        if p.arm is not None:
            a, b = p.arm == 0, p.arm == 1
            converted = p.natural | p.driven
            row.update(n_a=int(a.sum()), n_b=int(b.sum()),
                       conversion_a=_share(converted, a), conversion_b=_share(converted, b),
                       natural_conversion_a=_share(p.natural, a), true_uplift=_share(p.driven & ~p.natural, a))
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _share(flag: np.ndarray, group: np.ndarray) -> float | None:
    """Rounded share of `group` with `flag`."""
    n = int(group.sum())
    return round(float(flag[group].sum()) / n, 6) if n else None
