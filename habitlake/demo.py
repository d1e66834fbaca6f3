"""The demo: a synthetic retailer generated (once) and run through the pipeline on embedded defaults.

Idempotent: data already generated with the same parameters is not generated again, files already
ingested are skipped, and silver re-runs give the same tables.
"""
from __future__ import annotations

import json
import time
from datetime import date, timedelta

from habitlake.settings import Settings, is_local, join, local_path

STEPS = 5


def _generated_with(settings: Settings) -> dict | None:
    manifest = local_path(join(settings.truth, "manifest.json"))
    if not is_local(settings.truth) or not manifest.exists():
        return None
    return json.loads(manifest.read_text()).get("parameters")


def _step(n: int, text: str) -> None:
    print(f"[{n}/{STEPS}] {text}", flush=True)


def run(settings: Settings, customers: int, days: int, start: str, seed: int) -> int:
    from habitlake.spark import get_spark
    from jobs.bronze import ingest
    from jobs.landing.generator import generate
    from jobs.gold import run as gold
    from jobs.silver import run as silver

    t0 = time.monotonic()
    wanted = {"customers": customers, "days": days, "start": start, "seed": seed}
    have = _generated_with(settings) or {}
    if all(have.get(k) == v for k, v in wanted.items()):
        _step(1, f"landing data already generated ({customers} customers x {days} days): skipped")
    else:
        _step(1, f"generating {customers} customers x {days} days from {start} into {settings.landing}")
        generate(settings.landing, settings.truth, customers=customers, days=days, start=start, seed=seed)
    last = (date.fromisoformat(start) + timedelta(days=days - 1)).isoformat()
    _step(2, f"starting Spark; ingesting {start} .. {last} into bronze")
    spark = get_spark(settings, "habitlake-demo")
    log = ingest.run(spark, settings, start, last)
    print(f"      {sum(r['status'] == 'ingested' for r in log)} new files, {sum(r['rows'] for r in log):,} rows, "
          f"{sum(r['status'] == 'rejected' for r in log)} rejected files", flush=True)
    _step(3, f"silver {start} .. {last}")
    silver.run(spark, settings, start, last)
    month_before = (date.fromisoformat(last) - timedelta(days=30)).isoformat()
    _step(4, f"gold as of {month_before} (profile, for tier history) and {last} (every table)")
    gold.run(spark, settings, month_before, tables=["customer_profile"], checks=False)
    gold.run(spark, settings, last)
    _step(5, "summary")
    print_summary(spark, settings)
    print_gold_summary(spark, settings, last)
    print(f"\ndone in {time.monotonic() - t0:.0f}s. Next:\n"
          f"  habitlake sql \"SELECT * FROM silver.reconciliation\"\n"
          f"  habitlake audience \"hotpot_fan AND NOT is_churned\" --count --date {last}\n"
          f"  habitlake sql \"SELECT * FROM gold.tier_migration ORDER BY month, from_tier\"")
    return 0


def print_gold_summary(spark, settings: Settings, day: str) -> None:
    from pyspark.sql import functions as F

    from habitlake import catalog

    profile = catalog.read(spark, settings, "gold.customer_profile").filter(F.col("as_of_date") == day)
    print(f"  tiers as of {day}:")
    for r in profile.groupBy("tier").count().orderBy(F.desc("count")).collect():
        print(f"    {r['tier']:<12} {r['count']:>9,}")
    checks = catalog.read(spark, settings, "gold.check_results").filter(F.col("run_id") == f"gold_{day}")
    passed = checks.filter("success").count()
    print(f"  gold data checks: {passed} of {checks.count()} expectations passed")


def print_summary(spark, settings: Settings) -> None:
    from habitlake import catalog

    for layer in ("bronze", "silver", "gold"):
        print(f"  {layer}:")
        for name, tbl in catalog.catalog().items():
            if tbl.layer == layer and catalog.exists(spark, settings, tbl):
                print(f"    {name:<28} {catalog.read(spark, settings, name).count():>12,} rows")
    quarantine = catalog.table("silver.quarantine")
    if catalog.exists(spark, settings, quarantine):
        print("  quarantine by source and rule:")
        rows = (catalog.read(spark, settings, quarantine.full_name).groupBy("source", "rule").count()
                .orderBy("source", "rule").collect())
        for r in rows:
            print(f"    {r['source']:<16} {r['rule']:<24} {r['count']:>9,}")
