"""gold.tag_registry: what every tag means, one row per tag version, with the history of definitions.

Grain: one row per (tag_id, version): status, Chinese and English names, group > subgroup, kind
(rule | statistic | model), owner, definition (as registered; statistic tags keep their
`{p90:field}` placeholders), resolved_definition (with the thresholds of the latest as-of date it was
published on), description, expanded_from (the template id, or null) and template_value,
first_published / last_published (as-of dates) and is_current (the version the latest run's
conf/tags.yaml holds; false for older versions and for data-driven tags whose value has gone).

The registry is expanded for the as-of date (data-driven families from that date's profile). The
table is rewritten whole ("replace"), but versions already published are kept: the stored table is
unioned with the new rows, so a definition once published is never lost. Changing a definition
without bumping its version fails the run (jobs/gold/tags.py `validate`).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold import tags as tagging
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold

KEY = ["tag_id", "version"]


def build(asof: AsOf) -> DataFrame:
    current = tagging.registry_frame(asof.spark, tagging.registry_as_of(asof), asof.day)
    stored = read_gold(asof, "tag_registry", required=False)
    if stored is None:
        return current
    return merge_history(current, stored)


def merge_history(current: DataFrame, stored: DataFrame) -> DataFrame:
    """Current rows (keeping the first date a version was published) plus every stored version the
    current registry no longer holds, marked not current."""
    columns = current.columns
    stored = stored.select(*columns)
    first = stored.select(*KEY, F.col("first_published").alias("_first"))
    now = current.join(first, KEY, "left").withColumn(
        "first_published", F.least("first_published", F.coalesce("_first", "first_published"))).select(*columns)
    old = stored.join(current.select(*KEY), KEY, "left_anti").withColumn("is_current", F.lit(False))
    return now.unionByName(old.select(*columns))


JOB = GoldJob(table="gold.tag_registry", build=build, write="replace", needs=("customer_profile",))
