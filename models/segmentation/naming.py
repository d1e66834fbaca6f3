"""Readable names and descriptions of segments, from their standardised centroids, by fixed rules.

A centroid is read as z-scores: how many standard deviations (of the training customers) above or
below the average customer the segment sits on each feature. Each `Trait` is a named behaviour with
the features that show it, each with a sign (+1: more than average, -1: less); its score for a
centroid is the mean of sign x z over those features (features the model does not have count 0).

Assignment is deterministic and gives every segment a different name:
1. every (segment, trait) pair with a score of at least `MIN_TRAIT_SCORE` is a candidate;
2. candidates are taken best score first (ties: lower segment id, then the trait's position in
   `TRAITS`), each time the segment and the trait are both still free;
3. a segment left without a trait is named after its strongest feature ("more web orders" /
   "less order frequency"), or "everyday shoppers" when no feature is at least `MIN_FEATURE_Z` away
   from average; a name used twice gets " (segment N)" added.

The description says what the trait means and lists the segment's three strongest features with
their z-scores, so a reader can check the name against the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

MIN_TRAIT_SCORE = 0.5
MIN_FEATURE_Z = 0.5
STRONGEST = 3
AVERAGE_NAME = "everyday shoppers"


@dataclass(frozen=True)
class Trait:
    name: str
    meaning: str
    signs: dict[str, float]  # feature -> +1 (above average shows the trait) / -1 (below)


TRAITS: tuple[Trait, ...] = (
    Trait("restaurant wholesale buyers", "business accounts buying large wholesale orders",
          {"is_b2b": 1, "channel_wholesale": 1, "pay_bank_transfer": 1, "log_order_value": 1}),
    Trait("deal hunters", "buy seldom, and then mostly on promotion at a deep discount",
          {"promo_order_share": 1, "discount_rate": 1, "log_orders_per_month": -1}),
    Trait("early-morning store regulars", "shop early in the morning, often in store and in cash",
          {"hour_early_morning": 1, "channel_store": 1, "pay_cash": 1}),
    Trait("weekend family bulk buyers", "big baskets, mostly at weekends",
          {"weekend_share": 1, "log_order_value": 1}),
    Trait("evening office top-ups", "small orders late in the evening on workdays",
          {"hour_evening": 1, "log_order_value": -1, "weekend_share": -1}),
    Trait("hot-pot cooks", "frozen meat, seafood and hot-pot ingredients in the late afternoon",
          {"cat_frozen": 1, "cat_condiments": 1, "hour_afternoon": 1}),
)

FEATURE_LABELS = {
    "hour_early_morning": "orders 04:00-08:59", "hour_morning": "orders 09:00-11:59",
    "hour_midday": "orders 12:00-14:59", "hour_afternoon": "orders 15:00-18:59",
    "hour_evening": "orders 19:00-03:59", "weekend_share": "weekend orders",
    "log_order_value": "order value", "log_orders_per_month": "order frequency",
    "channel_store": "store orders", "channel_wholesale": "wholesale orders", "channel_web": "web orders",
    "pay_cash": "cash payments", "pay_bank_transfer": "bank transfers", "is_b2b": "business accounts",
    "promo_order_share": "promotion orders", "discount_rate": "discount taken",
}


def label(feature: str) -> str:
    if feature in FEATURE_LABELS:
        return FEATURE_LABELS[feature]
    if feature.startswith("cat_"):
        return f"{feature[4:].replace('_', ' ')} spend"
    return feature.replace("_", " ")


def trait_score(trait: Trait, z: dict[str, float]) -> float:
    return sum(sign * z.get(feature, 0.0) for feature, sign in trait.signs.items()) / len(trait.signs)


def strongest(z: dict[str, float], n: int = STRONGEST) -> list[tuple[str, float]]:
    """The n features furthest from average (ties: feature name)."""
    return sorted(z.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:n]


def _fallback(z: dict[str, float]) -> str:
    top = strongest(z, 1)
    if not top or abs(top[0][1]) < MIN_FEATURE_Z:
        return AVERAGE_NAME
    feature, value = top[0]
    return f"{'more' if value > 0 else 'less'} {label(feature)}"


def describe(meaning: str, z: dict[str, float]) -> str:
    parts = [f"{label(f)} {'above' if v > 0 else 'below'} average (z={v:+.1f})" for f, v in strongest(z)]
    return f"{meaning[0].upper()}{meaning[1:]}; " + ", ".join(parts) + "."


def name_segments(centroids: dict[int, dict[str, float]],
                  traits: tuple[Trait, ...] = TRAITS) -> dict[int, tuple[str, str]]:
    """{segment_id: (name, description)} for standardised centroids {segment_id: {feature: z}}."""
    candidates = sorted(
        ((trait_score(t, z), seg, pos) for seg, z in centroids.items() for pos, t in enumerate(traits)),
        key=lambda c: (-c[0], c[1], c[2]))
    chosen: dict[int, Trait] = {}
    used: set[int] = set()
    for score, seg, pos in candidates:
        if score < MIN_TRAIT_SCORE:
            break
        if seg not in chosen and pos not in used:
            chosen[seg] = traits[pos]
            used.add(pos)
    named: dict[int, tuple[str, str]] = {}
    for seg in sorted(centroids):
        z = centroids[seg]
        if seg in chosen:
            named[seg] = (chosen[seg].name, describe(chosen[seg].meaning, z))
        else:
            name = _fallback(z)
            meaning = "close to the average customer" if name == AVERAGE_NAME else f"stand out by {name}"
            named[seg] = (name, describe(meaning, z))
    counts: dict[str, int] = {}
    for name, _ in named.values():
        counts[name] = counts.get(name, 0) + 1
    return {seg: ((f"{name} (segment {seg})" if counts[name] > 1 else name), text)
            for seg, (name, text) in named.items()}
