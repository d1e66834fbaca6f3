"""Benchmark: `habitlake audience --count` on a synthetic 1M-customer profile, on this machine.

Builds a synthetic gold.customer_profile slice of `--customers` customers in a throw-away root (the
columns audiences typically read, and a `tags` array drawn from the 300+ tag ids of conf/tags.yaml
expanded on the generator's vocabularies), publishes the matching gold.tag_registry, then times
`audience.count` for a few expressions, each twice (cold: first read of the files; warm: OS page
cache and Delta log cached). Spark start-up is reported separately. Prints the figures; asserts nothing.

    python -m bench audience [--customers=1000000] [--keep=DIR]

(`python -m bench` takes options as --name=value: a bare word is a benchmark name.)

Figures, 1M customers, local[2] on the shared 2-core machine (other Spark jobs running): start-up
8.9 s; writing the synthetic profile 41 s; each count (max as-of date, tag registry, compile,
filtered count) 1.5 - 2.8 s warm, the first one 9.6 s cold.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time

from bench import scratch_root

AS_OF = dt.date(2025, 6, 30)
EXPRESSIONS = (
    "hotpot_fan AND tier = 'Gold' AND NOT is_churned",
    "west_sichuan AND monthly_spend > 2000 AND repurchase_rate >= 0.4",
    "category_share['hotpot_base'] + category_share['beef'] >= 0.3 AND city IN ('成都市', '绵阳市')",
    "(prefers_cat_beef OR prefers_cat_frozen_meat) AND NOT restaurant_buyer AND recency_days <= 30",
)
TAG_SHARE = 0.07  # each customer holds ~7% of the tag ids (~25 of ~360)


def tag_pool():
    """The online tags of conf/tags.yaml expanded on the generator's vocabularies (categories,
    cities, channels, payments, levels, ...): what a realistic profile holds."""
    from jobs.gold import tags as tagging
    from jobs.landing.generator.catalog import CATEGORIES
    from jobs.landing.generator.world import ACQUISITION, CITIES

    registry = tagging.load()
    l2 = tuple(c.l2 for c in CATEGORIES)
    values = {
        "category_l2": l2, "top_category": l2, "category_l1": tuple(dict.fromkeys(c.l1 for c in CATEGORIES)),
        "region": tuple(sorted({c.region for c in CITIES})), "city": tuple(c.name_zh for c in CITIES),
        "city_tier": tuple(sorted({c.tier for c in CITIES})),
        "climate_zone": tuple(sorted({c.climate_zone for c in CITIES})),
        "preferred_hour_band": ("early_morning", "morning", "midday", "afternoon", "evening", "late_night"),
        "preferred_channel": ("app", "web", "mini_program", "store", "wholesale"),
        "channel": ("app", "web", "mini_program", "store", "wholesale"),
        "preferred_payment": ("wechat_pay", "alipay", "card", "cash_on_delivery", "bank_transfer"),
        "payment": ("wechat_pay", "alipay", "card", "cash_on_delivery", "bank_transfer"),
        "preferred_push_channel": ("sms", "app_push", "wechat"),
        "member_level": ("regular", "silver", "gold", "diamond"),
        "household_type": ("single", "couple", "family_of_three", "family_with_elders", "restaurant"),
        "acquisition_channel": ACQUISITION, "tier": ("Platinum", "Gold", "Silver", "Potential", "Churned"),
        "lifecycle_stage": ("prospect", "new", "active", "at_risk", "churned"), "segment": (), "churn_band": (),
    }
    percentiles = {key: 1000.0 for key in registry.percentiles()}
    return tagging.online(tagging.expand(registry, tagging.Values(values, percentiles)))


def build_profile(spark, settings, customers: int, tags=None) -> int:
    """Write a synthetic one-slice gold.customer_profile and its gold.tag_registry; returns the
    number of tag ids in the pool."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from habitlake import catalog
    from jobs.gold import tags as tagging
    from jobs.landing.generator.world import CITIES

    tags = tags or tag_pool()
    ids = [t.id for t in tags]
    fields = {f.name: f for f in tagging.contract_schema().fields}
    cities = F.array(*[F.lit(c.name_zh) for c in CITIES])
    regions = F.create_map(*[x for c in CITIES for x in (F.lit(c.name_zh), F.lit(c.region))])
    tiers = F.array(*[F.lit(t) for t in ("Platinum", "Gold", "Silver", "Silver", "Potential", "Churned")])
    u = lambda salt: (F.abs(F.xxhash64("id", F.lit(salt))) % 10_000) / 10_000.0  # noqa: E731  uniform [0, 1)
    city = F.element_at(cities, (F.abs(F.xxhash64("id", F.lit("city"))) % len(CITIES) + 1).cast("int"))
    held = F.filter(F.array(*[F.lit(i) for i in ids]),
                    lambda t: (F.abs(F.xxhash64(F.col("id"), t)) % 10_000) < int(TAG_SHARE * 10_000))
    df = spark.range(customers).select(
        F.lit(AS_OF).alias("as_of_date"),
        F.format_string("C%08d", "id").alias("customer_id"),
        city.alias("city"),
        F.element_at(regions, city).alias("region"),
        F.when(u("type") < 0.05, "restaurant").otherwise("consumer").alias("customer_type"),
        F.element_at(tiers, (F.abs(F.xxhash64("id", F.lit("tier"))) % 6 + 1).cast("int")).alias("tier"),
        (u("churn") < 0.15).alias("is_churned"),
        F.round(u("spend") * 6000, 2).alias("monthly_spend"),
        F.round(u("rep"), 3).alias("repurchase_rate"),
        (u("rec") * 120).cast("int").alias("recency_days"),
        (u("o90") * 20).cast("long").alias("orders_90d"),
        F.create_map(F.lit("hotpot_base"), F.round(u("hp") * 0.3, 3), F.lit("beef"), F.round(u("bf") * 0.3, 3),
                     F.lit("leafy"), F.round(u("lf") * 0.4, 3)).alias("category_share"),
        held.alias("tags"),
    )
    present = set(df.columns)
    df = df.select(*df.columns, *[F.lit(None).cast(f.dataType).alias(n) for n, f in fields.items()
                                  if n not in present])
    catalog.overwrite(df, spark, settings, "gold.customer_profile")
    catalog.overwrite(tagging.registry_frame(spark, tags, AS_OF), spark, settings, "gold.tag_registry")
    return len(ids)


def time_counts(spark, settings, expressions=EXPRESSIONS, repeat: int = 2) -> list[tuple[str, int, list[float]]]:
    """(expression, count, seconds of each repetition) of `audience.count` on the latest slice."""
    from jobs.gold import audience

    out = []
    for expression in expressions:
        seconds, n = [], None
        for _ in range(repeat):
            t = time.monotonic()
            n = audience.count(spark, settings, expression)
            seconds.append(time.monotonic() - t)
        out.append((expression, n, seconds))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench audience")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--keep", help="root folder to use and keep (default: a temp folder, deleted)")
    args = parser.parse_args(argv)
    with scratch_root(args.keep):
        run(args.customers)


def run(customers: int) -> None:
    from habitlake.settings import Settings
    from habitlake.spark import get_spark

    settings = Settings.from_env()
    t = time.monotonic()
    spark = get_spark(settings, "habitlake-bench")
    print(f"spark start-up (incl. metastore): {time.monotonic() - t:.1f}s")
    t = time.monotonic()
    pool = build_profile(spark, settings, customers)
    print(f"synthetic profile: {customers:,} customers, tags drawn from {pool} tag ids, written in "
          f"{time.monotonic() - t:.1f}s")
    for expression, n, seconds in time_counts(spark, settings):
        print(f"  {n:>10,} customers  cold {seconds[0]:5.1f}s  warm {seconds[1]:5.1f}s   {expression}")
