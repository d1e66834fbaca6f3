"""The demo: a synthetic retailer generated (once) and run through the pipeline on embedded defaults."""
from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

from habitlake.settings import Settings, is_local, join, local_path


def _generated_with(settings: Settings) -> dict | None:
    manifest = local_path(join(settings.truth, "manifest.json"))
    if not is_local(settings.truth) or not manifest.exists():
        return None
    return json.loads(manifest.read_text()).get("parameters")


def run(settings: Settings, customers: int, days: int, start: str, seed: int) -> int:
    from habitlake import catalog
    from habitlake.spark import get_spark
    from jobs.bronze import ingest
    from jobs.landing.generator import generate

    t0 = time.monotonic()
    wanted = {"customers": customers, "days": days, "start": start, "seed": seed}
    have = _generated_with(settings) or {}
    if all(have.get(k) == v for k, v in wanted.items()):
        print(f"[1/3] landing data already generated ({customers} customers x {days} days): skipped")
    else:
        print(f"[1/3] generating {customers} customers x {days} days from {start} ...")
        generate(settings.landing, settings.truth, customers=customers, days=days, start=start, seed=seed)
    last = (date.fromisoformat(start) + timedelta(days=days - 1)).isoformat()
    print(f"[2/3] starting Spark and ingesting {start} .. {last} into bronze ...")
    spark = get_spark(settings, "habitlake-demo")
    log = ingest.run(spark, settings, start, last)
    print(f"      {sum(r['status'] == 'ingested' for r in log)} new files, "
          f"{sum(r['rows'] for r in log)} rows, {sum(r['status'] == 'rejected' for r in log)} rejected")
    print("[3/3] bronze tables:")
    for name, tbl in catalog.catalog().items():
        if tbl.layer == "bronze" and catalog.exists(spark, settings, tbl):
            n = catalog.read(spark, settings, name).count()
            print(f"      {name:<28} {n:>12,} rows")
    print(f"done in {time.monotonic() - t0:.0f}s. Look around: habitlake sql \"SHOW TABLES IN bronze\"")
    return 0
