"""What every gold table module plugs into.

A module `jobs/gold/<table>.py` documents its grain in its docstring and declares
`JOB = GoldJob(table="gold.<table>", build=...)`. `build(asof)` returns the table's rows as of the
date (see `jobs/gold/asof.py`: it can only see silver up to that date). The framework then checks
the rows with the table's Great Expectations suite (`expectations/suites/gold_<table>.yaml`, when it
exists) and writes them idempotently:

- `snapshot` (default): the table holds one slice per `as_of_date`; a run replaces its date's slice,
  so running a date twice leaves the table as after the first run;
- `merge`: the rows carry their own business key (e.g. daily demand per day and product): MERGE on
  the catalog keys, replacing what a re-run recomputed;
- `replace`: the table is rebuilt whole (e.g. the tag registry, or a type-2 history recomputed
  from all snapshots).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from habitlake import catalog
from jobs.gold.asof import AsOf

AS_OF = "as_of_date"
CHECK_RESULTS = "gold.check_results"


@dataclass(frozen=True)
class GoldJob:
    table: str  # "gold.<name>", configured in conf/tables.yaml
    build: Callable[[AsOf], DataFrame]
    write: str = "snapshot"  # snapshot | merge | replace
    needs: tuple[str, ...] = ()  # gold tables this one reads (run first)

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]

    @property
    def suite(self) -> str:
        return f"gold_{self.name}"


def with_as_of(df: DataFrame, asof: AsOf) -> DataFrame:
    """`as_of_date` as the first column (snapshot tables are partitioned by it)."""
    return df.select(asof.date_lit.alias(AS_OF), *[c for c in df.columns if c != AS_OF])


def write(job: GoldJob, rows: DataFrame, asof: AsOf) -> None:
    spark, settings = asof.spark, asof.settings
    if job.write == "snapshot":
        rows = with_as_of(rows, asof)
        catalog.replace_where(rows, spark, settings, job.table, f"{AS_OF} = '{asof.date}'")
    elif job.write == "merge":
        catalog.upsert(rows, spark, settings, job.table)
    elif job.write == "replace":
        catalog.overwrite(rows, spark, settings, job.table)
    else:
        raise ValueError(f"{job.table}: unknown write mode {job.write!r}")


def _gold_table(asof: AsOf, name: str) -> tuple[catalog.Table, DataFrame | None]:
    tbl = catalog.table(name if "." in name else f"gold.{name}")
    if asof.given_gold is not None:  # an AsOf built from frames answers from them
        return tbl, asof.given_gold.get(tbl.name)
    if catalog.exists(asof.spark, asof.settings, tbl):
        return tbl, catalog.read(asof.spark, asof.settings, tbl.full_name)
    return tbl, None


def read_gold_history(asof: AsOf, name: str) -> DataFrame | None:
    """Every slice of a snapshot table up to the as-of date (never one after it); None when the
    table does not exist."""
    _, df = _gold_table(asof, name)
    return None if df is None else df.filter(F.col(AS_OF) <= asof.date_lit)


def read_gold(asof: AsOf, name: str, *, required: bool = True) -> DataFrame | None:
    """A gold table's slice for the as-of date (snapshot tables) or the whole table (others);
    None when it does not exist and is not required."""
    tbl, df = _gold_table(asof, name)
    if df is None:
        if required:
            raise LookupError(f"{tbl.full_name} does not exist yet: run `habitlake gold --date {asof.date}`")
        return None
    return df.filter(F.col(AS_OF) == asof.date_lit) if AS_OF in df.columns else df
