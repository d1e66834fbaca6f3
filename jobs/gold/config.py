"""conf/gold.yaml: the gold layer's business definitions (windows, thresholds, regions, buckets)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pyspark.sql import Column
from pyspark.sql import functions as F

from habitlake.contract import CONF_DIR

GOLD_CONF = CONF_DIR / "gold.yaml"


@cache
def load(path: Path = GOLD_CONF) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def region_of(city: Column, province: Column, conf: dict | None = None) -> Column:
    """The customer's region from conf/gold.yaml `regions` (Sichuan sub-regions), else
    `sichuan_other` for other Sichuan cities and `outside_sichuan` for everything else."""
    conf = conf or load()
    pairs = [x for region, cities in conf["regions"].items() for c in cities for x in (F.lit(c), F.lit(region))]
    fallback = F.when(province == F.lit(conf["sichuan_province"]), F.lit("sichuan_other")).otherwise(
        F.lit("outside_sichuan"))
    return F.coalesce(F.element_at(F.create_map(*pairs), city), fallback)


def hour_band(hour: Column, conf: dict | None = None) -> Column:
    """The band of conf/gold.yaml `hour_bands` a local hour (0-23) falls in."""
    conf = conf or load()
    out = F.lit(None).cast("string")
    for band, (start, end) in reversed(list(conf["hour_bands"].items())):
        h = F.when(hour < start % 24, hour + 24).otherwise(hour) if end > 24 else hour
        out = F.when((h >= start) & (h < end), F.lit(band)).otherwise(out)
    return out
