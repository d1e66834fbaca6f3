"""gold.customer_tags: one row per customer x tag held on the as-of date (the long form of the tags).

Grain: one row per (as_of_date, customer_id, tag_id) for every online tag in
gold.customer_profile.tags of the date, with the tag's version, group, subgroup and kind from the
registry expanded for that date (conf/tags.yaml, jobs/gold/tags.py), so BI tools can count and filter
tags with a plain GROUP BY. Snapshot table: a run replaces its date's slice.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold import tags as tagging
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold

META_DDL = "tag_id string, tag_version int, `group` string, subgroup string, kind string"


def build(asof: AsOf) -> DataFrame:
    registry = tagging.online(tagging.registry_as_of(asof))
    meta = asof.spark.createDataFrame([(t.id, t.version, t.group, t.subgroup, t.kind) for t in registry], META_DDL)
    held = read_gold(asof, "customer_profile").select(
        "customer_id", F.explode(tagging.TAGS_COLUMN).alias("tag_id"))
    return held.join(F.broadcast(meta), "tag_id", "left").select(
        "customer_id", "tag_id", "tag_version", "group", "subgroup", "kind")


JOB = GoldJob(table="gold.customer_tags", build=build, needs=("customer_profile",))
