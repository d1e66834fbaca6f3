"""Audiences: the customers of gold.customer_profile matching an expression, counted, listed or saved.

An audience is an expression of docs/expressions.md over the profile's columns, in which every online
tag id is also a condition (true when the customer holds the tag):

    hotpot_fan AND tier = 'Gold' AND NOT is_churned
    west_sichuan AND prefers_cat_beef AND last_order_date >= DATE '2025-03-01'

It is evaluated on one as-of slice of the profile (default: the latest). A tag id compiles to
`array_contains(tags, id)`; the known tag ids are the current online ones of gold.tag_registry (or,
before it exists, the registry of conf/tags.yaml expanded on the slice). Errors in the expression are
`ExprError` (raised before any data is read beyond the schema).

`save` writes gold.audiences (partitioned by audience; a save replaces that audience's rows only):
audience, customer_id, as_of_date, expression, saved_at, saved_from_tags_version (the Delta version of
gold.tag_registry the tag ids were read from, null when none) and tag_versions (tag id -> version of
the tags the expression uses).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from habitlake import catalog
from habitlake.settings import Settings
from jobs.gold import expr as E
from jobs.gold import tags as tagging
from jobs.gold.asof import parse_day

PROFILE = "gold.customer_profile"
REGISTRY = "gold.tag_registry"
AUDIENCES = "gold.audiences"
AS_OF = "as_of_date"
NAME_PATTERN = re.compile(r"^[\w\-]{1,64}$")  # letters (any script), digits, _ and -: safe in a condition


def source_of(expression: str) -> str:
    short = expression if len(expression) <= 60 else expression[:57] + "..."
    return f"audience {short!r}"


def latest_as_of(spark: SparkSession, settings: Settings) -> dt.date:
    df = _profile_table(spark, settings)
    day = df.agg(F.max(AS_OF)).collect()[0][0]
    if day is None:
        raise LookupError(f"{PROFILE} is empty: run `habitlake gold --date D` first")
    return day


def _profile_table(spark: SparkSession, settings: Settings) -> DataFrame:
    tbl = catalog.table(PROFILE)
    if not catalog.exists(spark, settings, tbl):
        raise LookupError(f"{PROFILE} does not exist yet: run `habitlake gold --date D` first")
    return catalog.read(spark, settings, PROFILE)


def profile_slice(spark: SparkSession, settings: Settings, as_of: str | dt.date | None = None) -> tuple[DataFrame, dt.date]:
    """The profile's rows of one as-of date (default: the latest) and that date."""
    df = _profile_table(spark, settings)
    if as_of is None:
        day = df.agg(F.max(AS_OF)).collect()[0][0]
        if day is None:
            raise LookupError(f"{PROFILE} is empty: run `habitlake gold --date D` first")
    else:
        day = parse_day(as_of)
    rows = df.filter(F.col(AS_OF) == F.lit(day))
    if as_of is not None and not rows.limit(1).collect():
        raise LookupError(f"{PROFILE} has no slice for {day}; latest is {latest_as_of(spark, settings)}")
    return rows, day


def tag_versions(spark: SparkSession, settings: Settings, profile: DataFrame) -> tuple[dict[str, int], int | None]:
    """Online tag id -> version, and the Delta version of gold.tag_registry they come from (None when
    the registry is not published yet: then conf/tags.yaml expanded on `profile`)."""
    tbl = catalog.table(REGISTRY)
    if catalog.exists(spark, settings, tbl):
        from delta.tables import DeltaTable

        path = tbl.path(settings)
        version = DeltaTable.forPath(spark, path).history(1).select("version").collect()[0][0]
        rows = (spark.read.format("delta").option("versionAsOf", version).load(path)
                .filter(F.col("is_current") & (F.col("status") == "online"))
                .select("tag_id", "version").collect())
        return {r.tag_id: r.version for r in rows}, version
    registry = tagging.load()
    tags = tagging.expand(registry, tagging.discover(profile, registry))
    return {t.id: t.version for t in tagging.online(tags)}, None


def condition(expression: str, profile: DataFrame, tag_ids: Mapping[str, int] | list[str]) -> Column:
    """The audience's condition over `profile`: tag ids are booleans (`array_contains(tags, id)`)."""
    if tagging.TAGS_COLUMN not in profile.columns:
        tag_ids = []
    extra = {t: (E.BOOLEAN, _holds(t)) for t in tag_ids if t not in profile.columns}
    return E.compile(expression, profile.schema, source=source_of(expression), extra=extra)


def _holds(tag_id: str):
    # built only for the tag ids the expression reads (there are hundreds of tags)
    return lambda: F.array_contains(F.col(tagging.TAGS_COLUMN), F.lit(tag_id))


def _select(spark, settings, expression, as_of):
    if not isinstance(expression, str) or not expression.strip():
        raise E.ExprError("the audience expression is empty", source="audience")
    node = E.parse(expression, source_of(expression))  # syntax errors before touching any table
    profile, day = profile_slice(spark, settings, as_of)
    tags, registry_version = tag_versions(spark, settings, profile)
    cond = condition(expression, profile, tags)
    used = E.referenced_fields(node)
    return profile.filter(cond), day, used, {t: v for t, v in tags.items() if t in used}, registry_version


def count(spark: SparkSession, settings: Settings, expression: str, as_of: str | dt.date | None = None) -> int:
    """How many customers of the as-of slice match `expression`."""
    rows, *_ = _select(spark, settings, expression, as_of)
    return rows.count()


def members(spark: SparkSession, settings: Settings, expression: str, as_of: str | dt.date | None = None,
            columns: list[str] | None = None) -> DataFrame:
    """The matching customers: as_of_date, customer_id and (by default) the profile fields the
    expression reads, ordered by customer_id."""
    rows, _, used, _, _ = _select(spark, settings, expression, as_of)
    if columns is None:
        columns = [c for c in rows.columns if c in used and c not in (AS_OF, "customer_id")]
    return rows.select(AS_OF, "customer_id", *columns).orderBy("customer_id")


def save(spark: SparkSession, settings: Settings, name: str, expression: str,
         as_of: str | dt.date | None = None) -> int:
    """Write the audience `name` to gold.audiences (replacing its previous rows); returns its size."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"audience name {name!r}: use 1-64 letters, digits, _ or -")
    rows, day, _, versions, registry_version = _select(spark, settings, expression, as_of)
    tag_map = F.create_map(*[x for t, v in sorted(versions.items()) for x in (F.lit(t), F.lit(v))]) if versions \
        else F.create_map().cast("map<string,int>")
    out = rows.select(
        F.lit(name).alias("audience"),
        "customer_id",
        F.lit(day).alias(AS_OF),
        F.lit(expression).alias("expression"),
        F.current_timestamp().alias("saved_at"),
        F.lit(registry_version).cast("long").alias("saved_from_tags_version"),
        tag_map.cast("map<string,int>").alias("tag_versions"),
    ).cache()
    try:
        n = out.count()
        catalog.replace_where(out, spark, settings, AUDIENCES, f"audience = '{name}'")
    finally:
        out.unpersist()
    return n
