"""The table catalog: logical names (`bronze.orders`) -> layer, Delta path, keys.

Code refers to tables by logical name only; the path comes from the settings' root, so the same
code writes a laptop folder or object storage. Every Delta table is also registered in the shared
metastore as `<layer>.<table>`, so the SQL endpoint, notebooks and `habitlake sql` see it by name.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from habitlake.contract import load_contract
from habitlake.settings import Settings

LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class Table:
    layer: str
    name: str
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    description: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.layer}.{self.name}"

    def path(self, settings: Settings) -> str:
        return settings.table_path(self.layer, self.name)


def _bronze_tables() -> dict[str, Table]:
    tables = {
        f"bronze.{src.name}": Table(
            "bronze", src.name, keys=("_source_file", "_line"), partition_by=("_dt",),
            description=f"raw {src.system} export of {src.name}: one row per landing line",
        )
        for src in load_contract().values()
    }
    tables["bronze.ingest_files"] = Table(
        "bronze", "ingest_files", keys=("file", "file_size", "file_mtime"),
        description="one row per landing file ingested or rejected, with its reason",
    )
    return tables


def catalog() -> dict[str, Table]:
    return {**_bronze_tables()}


def table(name: str) -> Table:
    try:
        return catalog()[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(catalog()))}") from None


def register(spark: SparkSession, settings: Settings, tbl: Table) -> None:
    """Make `layer.table` point at the table's Delta folder in the metastore (idempotent)."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {tbl.layer} LOCATION '{settings.lake}/{tbl.layer}'")
    spark.sql(f"CREATE TABLE IF NOT EXISTS {tbl.full_name} USING DELTA LOCATION '{tbl.path(settings)}'")


def exists(spark: SparkSession, settings: Settings, tbl: Table) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, tbl.path(settings))


def read(spark: SparkSession, settings: Settings, name: str) -> DataFrame:
    return spark.read.format("delta").load(table(name).path(settings))


def append(df: DataFrame, spark: SparkSession, settings: Settings, name: str) -> None:
    """Append rows to a Delta table (bronze is append-only) and register it."""
    tbl = table(name)
    writer = df.write.format("delta").mode("append")
    if tbl.partition_by:
        writer = writer.partitionBy(*tbl.partition_by)
    writer.save(tbl.path(settings))
    register(spark, settings, tbl)
