"""gold.campaign_targeting: who to send a tier campaign to, with what coupon, where and when, as of D.

Grain: one row per targeted customer per as-of date D: every customer of the gold.customer_profile
slice of D, except churned ones (`is_churned`) unless conf `campaign.target_churned: true`.

Columns
- customer_id; phone_hash: the keyed hash of the phone from silver.customers (the version valid at
  D), never the phone itself, so a marketing tool matches it against its own hashed contact list.
- tier (as in the profile); coupon_value: the face value for the tier, conf
  `campaign.coupon_by_tier` (tier names matched case-insensitively; null for a tier not listed).
- channel: the profile's preferred_push_channel (sms | app_push | wechat), else conf
  `push.default_channel`. push_hour: the profile's best_push_hour (local hour 0-23, one hour before
  the usual ordering hour), else conf `push.default_hour` (default 10) for customers with no usual
  ordering hour yet.
- lifecycle_stage, preferred_channel (ordering channel), price_sensitivity: from the profile, for
  tuning the message.
- priority (1 = first) and reason, the first rule that matches:
    1 vip_retention       tier Platinum or Gold and lifecycle_stage at_risk
    2 vip_reward          tier Platinum or Gold
    3 at_risk_retention   lifecycle_stage at_risk
    4 new_customer_nurture lifecycle_stage new
    5 first_purchase      lifecycle_stage prospect (never bought)
    6 winback             churned (only with target_churned)
    7 regular             everyone else (active Silver / Potential customers)
  reason_zh is the same in Chinese for the marketing staff.

Export: `export_csv` (CLI `habitlake export targeting --date D --out FILE`) writes the slice of D as
ONE CSV file, UTF-8 with a byte-order mark (BOM) by default: Excel, which marketing staff open
these files with, reads a BOM-less UTF-8 CSV as the local ANSI code page and garbles Chinese
(reason_zh); the BOM makes it read UTF-8. Marketing tools and pandas read the BOM as an encoding
mark when told `utf-8-sig`; pass bom=False (`--no-bom`) for a loader that wants plain UTF-8.
Rows are ordered by priority, then customer_id; an empty value is a null.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from habitlake.settings import Settings
from jobs.gold import config
from jobs.gold.asof import AsOf, parse_day
from jobs.gold.framework import GoldJob, read_gold

DEFAULT_PUSH_HOUR = 10
VIP_TIERS = ("platinum", "gold")
REASONS = {  # reason -> (priority, Chinese label)
    "vip_retention": (1, "高价值客户流失预警"),
    "vip_reward": (2, "高价值客户回馈"),
    "at_risk_retention": (3, "流失风险挽留"),
    "new_customer_nurture": (4, "新客培育"),
    "first_purchase": (5, "首单转化"),
    "winback": (6, "流失客户召回"),
    "regular": (7, "常规触达"),
}
EXPORT_COLUMNS = ("customer_id", "phone_hash", "tier", "coupon_value", "channel", "push_hour", "priority",
                  "reason", "reason_zh", "lifecycle_stage", "as_of_date")


def reason(tier: F.Column, stage: F.Column, churned: F.Column) -> F.Column:
    vip = F.lower(tier).isin(*VIP_TIERS)
    return (F.when(churned, F.lit("winback"))
            .when(vip & (stage == "at_risk"), F.lit("vip_retention"))
            .when(vip, F.lit("vip_reward"))
            .when(stage == "at_risk", F.lit("at_risk_retention"))
            .when(stage == "new", F.lit("new_customer_nurture"))
            .when(stage == "prospect", F.lit("first_purchase"))
            .otherwise(F.lit("regular")))


def _lookup(mapping: dict, key: F.Column, cast: str) -> F.Column:
    pairs = [x for k, v in mapping.items() for x in (F.lit(k), F.lit(v))]
    return F.element_at(F.create_map(*pairs), key).cast(cast)


def transform(profile: DataFrame, customers: DataFrame, conf: dict) -> DataFrame:
    """Rows of gold.campaign_targeting from the profile slice of D and silver.customers as of D."""
    camp, push = conf["campaign"], conf["push"]
    churned = F.coalesce(F.col("is_churned"), F.lit(False))
    rows = profile if camp.get("target_churned", False) else profile.filter(~churned)
    coupons = {str(k).lower(): float(v) for k, v in camp["coupon_by_tier"].items()}
    why = reason(F.col("tier"), F.col("lifecycle_stage"), churned)
    phones = customers.select("customer_id", "phone_hash")
    return rows.join(phones, on="customer_id", how="left").select(
        "customer_id", "phone_hash", "tier",
        _lookup(coupons, F.lower("tier"), "decimal(14,2)").alias("coupon_value"),
        F.coalesce("preferred_push_channel", F.lit(push["default_channel"])).alias("channel"),
        F.coalesce(F.col("best_push_hour").cast("int"),
                   F.lit(int(push.get("default_hour", DEFAULT_PUSH_HOUR)))).alias("push_hour"),
        "lifecycle_stage", "preferred_channel", F.col("price_sensitivity").cast("double").alias("price_sensitivity"),
        _lookup({k: p for k, (p, _) in REASONS.items()}, why, "int").alias("priority"),
        why.alias("reason"),
        _lookup({k: zh for k, (_, zh) in REASONS.items()}, why, "string").alias("reason_zh"),
    )


def build(asof: AsOf) -> DataFrame:
    return transform(read_gold(asof, "customer_profile"), asof.customers(), config.load())


JOB = GoldJob(table="gold.campaign_targeting", build=build, needs=("customer_profile",))


# --- export ------------------------------------------------------------------------------------

def write_csv(rows: DataFrame, path: str | Path, bom: bool = True) -> int:
    """Write `rows` (EXPORT_COLUMNS) ordered by priority and customer_id to ONE local CSV file, with
    a header; streamed to the driver partition by partition, written to a temporary file and moved
    into place, so a reader never sees half a file. Returns the number of data rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = rows.select(*EXPORT_COLUMNS).orderBy("priority", "customer_id")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
            out = csv.writer(f, lineterminator="\r\n")
            out.writerow(EXPORT_COLUMNS)
            for row in ordered.toLocalIterator():
                out.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row])
                n += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def export_csv(spark: SparkSession, settings: Settings, as_of: str | dt.date, path: str | Path,
               bom: bool = True) -> int:
    """Export the gold.campaign_targeting slice of `as_of` to ONE CSV file (see the module docstring);
    returns the number of customers written. Raises LookupError when the slice was not built."""
    asof = AsOf(spark, settings, parse_day(as_of))
    rows = read_gold(asof, JOB.table).cache()
    try:
        if rows.isEmpty():
            raise LookupError(f"{JOB.table} has no rows for {asof.date}: run `habitlake gold --date {asof.date}`")
        return write_csv(rows, path, bom)
    finally:
        rows.unpersist()
