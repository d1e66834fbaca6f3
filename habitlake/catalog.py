"""The table catalog: logical names (`bronze.orders`) -> layer, Delta path, keys.

Code refers to tables by logical name only; the path comes from the settings' root, so the same
code writes a laptop folder or object storage. Every Delta table is also registered in the shared
metastore as `<layer>.<table>`, so the SQL endpoint, notebooks and `habitlake sql` see it by name.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

import yaml

from habitlake.contract import CONF_DIR, load_contract
from habitlake.settings import Settings

TABLES_CONF = CONF_DIR / "tables.yaml"

LAYERS = ("bronze", "silver", "gold")

# Delta computes min / max / null-count statistics of every written row for the first 32 columns
# of a table, by default. Silver is written every day and read by its keys and partitions, so its
# tables keep statistics only on their keys (and on any `stats:` columns of tables.yaml): row
# processing for those statistics was ~20% of silver's CPU time (JFR, 2026-12-03). Gold and bronze
# keep Delta's default: gold is what BI users filter on any column.
KEY_STATS_LAYERS = ("silver",)
STATS_PROPERTY = "delta.dataSkippingStatsColumns"


@dataclass(frozen=True)
class Table:
    layer: str
    name: str
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    description: str = ""
    stats: tuple[str, ...] = ()  # columns Delta keeps file statistics on; () = Delta's default

    @property
    def properties(self) -> dict[str, str]:
        """Delta table properties this table is created with (and brought to when it exists)."""
        return {STATS_PROPERTY: ",".join(f"`{c}`" for c in self.stats)} if self.stats else {}

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


def _configured_tables() -> dict[str, Table]:
    raw = yaml.safe_load(TABLES_CONF.read_text(encoding="utf-8"))
    return {
        f"{layer}.{name}": Table(layer, name, keys=tuple(spec.get("keys", ())),
                                 partition_by=tuple(spec.get("partition_by", ())),
                                 description=spec.get("grain", ""), stats=_stats(layer, spec))
        for layer, tables in raw.items()
        for name, spec in tables.items()
    }


def _stats(layer: str, spec: dict) -> tuple[str, ...]:
    """The statistics columns of a configured table: its keys and `stats:` columns, in a layer of
    KEY_STATS_LAYERS; partition columns never carry statistics (each file has one value)."""
    if layer not in KEY_STATS_LAYERS and "stats" not in spec:
        return ()
    wanted = [*spec.get("keys", ()), *spec.get("stats", ())]
    return tuple(dict.fromkeys(c for c in wanted if c not in spec.get("partition_by", ())))


def catalog() -> dict[str, Table]:
    return {**_bronze_tables(), **_configured_tables()}


def table(name: str) -> Table:
    try:
        return catalog()[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(catalog()))}") from None


_REGISTERED: set[tuple[int, str, str]] = set()
_REGISTER_LOCK = threading.RLock()  # jobs write tables from several threads; the metastore DDL is not atomic


def register(spark: SparkSession, settings: Settings, tbl: Table) -> None:
    """Make `layer.table` point at the table's Delta folder in the metastore (idempotent; asked of
    the metastore once per session and table)."""
    memo = (id(spark), settings.root, tbl.full_name)
    if memo in _REGISTERED:
        return
    with _REGISTER_LOCK:
        open_database(spark, settings, tbl.layer)
        spark.sql(f"CREATE TABLE IF NOT EXISTS {tbl.full_name} USING DELTA LOCATION '{tbl.path(settings)}'")
        _REGISTERED.add(memo)


def open_database(spark: SparkSession, settings: Settings, layer: str) -> None:
    """Create a layer's database in the metastore unless it is there. A process's first metastore
    call starts Spark's Hive client (~11 s in a new process), so a run that will register tables
    can make this call in the background while its first tables compute (jobs/silver/run.py)."""
    memo = (id(spark), settings.root, layer)
    if memo in _REGISTERED:
        return
    with _REGISTER_LOCK:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer} LOCATION '{settings.lake}/{layer}'")
        _REGISTERED.add(memo)


def register_all(spark: SparkSession, settings: Settings) -> list[str]:
    """Register in the metastore every catalog table whose Delta folder exists under the root (after
    a lake was restored, copied or moved, or on a new metastore). Returns the names registered."""
    found = [tbl for tbl in catalog().values() if exists(spark, settings, tbl)]
    for tbl in found:
        open_database(spark, settings, tbl.layer)
        with _REGISTER_LOCK:
            spark.sql(f"DROP TABLE IF EXISTS {tbl.full_name}")  # it may point at an old location
            spark.sql(f"CREATE TABLE {tbl.full_name} USING DELTA LOCATION '{tbl.path(settings)}'")
            _REGISTERED.add((id(spark), settings.root, tbl.full_name))
    return sorted(t.full_name for t in found)


def exists(spark: SparkSession, settings: Settings, tbl: Table) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, tbl.path(settings))


_ALIGNED: set[tuple[int, str, str]] = set()


def existing(spark: SparkSession, settings: Settings, tbl: Table) -> bool:
    """Whether the table exists; if it does, first bring its Delta properties to the catalog's
    (once per session and table). Call it before writing to a table: a lake written before a
    property was introduced gets it on its next write; a new table gets them from the writer's
    options (`_writer`)."""
    if not exists(spark, settings, tbl):
        return False
    memo = (id(spark), settings.root, tbl.full_name)
    if tbl.properties and memo not in _ALIGNED:
        from delta.tables import DeltaTable

        path = tbl.path(settings)
        have = DeltaTable.forPath(spark, path).detail().select("properties").head()[0] or {}
        differ = {k: v for k, v in tbl.properties.items() if have.get(k) != v}
        if differ:
            listed = ", ".join(f"'{k}' = '{v}'" for k, v in differ.items())
            spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({listed})")
    _ALIGNED.add(memo)
    return True


def read(spark: SparkSession, settings: Settings, name: str) -> DataFrame:
    return spark.read.format("delta").load(table(name).path(settings))


def _writer(df: DataFrame, tbl: Table, mode: str):
    """A Delta writer for the table; its properties are options, which Delta keeps on creation."""
    writer = df.write.format("delta").mode(mode).options(**tbl.properties)
    return writer.partitionBy(*tbl.partition_by) if tbl.partition_by else writer


def overwrite(df: DataFrame, spark: SparkSession, settings: Settings, name: str) -> None:
    """Replace a whole table (small dimensions rebuilt from their full history)."""
    tbl = table(name)
    existing(spark, settings, tbl)
    _writer(df, tbl, "overwrite").option("overwriteSchema", "true").save(tbl.path(settings))
    register(spark, settings, tbl)


def replace_where(df: DataFrame, spark: SparkSession, settings: Settings, name: str, condition: str) -> None:
    """Atomically replace the rows matching `condition` (a partition window) with `df`."""
    tbl = table(name)
    if not existing(spark, settings, tbl):
        _writer(df, tbl, "overwrite").save(tbl.path(settings))
    else:
        _writer(df, tbl, "overwrite").option("replaceWhere", condition).save(tbl.path(settings))
    register(spark, settings, tbl)


def upsert(df: DataFrame, spark: SparkSession, settings: Settings, name: str,
           newer: str | None = None, keys: tuple[str, ...] | None = None) -> None:
    """MERGE on the table's business key: insert new keys, update existing ones (only when
    `newer`, a SQL condition over t. and s., holds). Creates the table on first use."""
    from delta.tables import DeltaTable

    tbl = table(name)
    keys = keys or tbl.keys
    if not existing(spark, settings, tbl):
        _writer(df, tbl, "append").save(tbl.path(settings))
        register(spark, settings, tbl)
        return
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys) + _partition_pruning(df, tbl)
    merge = DeltaTable.forPath(spark, tbl.path(settings)).alias("t").merge(df.alias("s"), on)
    if newer != "false":  # "false": insert-only, existing rows never change
        merge = merge.whenMatchedUpdateAll(condition=newer)
    merge.whenNotMatchedInsertAll().execute()
    register(spark, settings, tbl)


def _partition_pruning(df: DataFrame, tbl: Table) -> str:
    """`AND t.<partition> IN (...)` for the partitions the incoming rows touch, so a MERGE reads
    only those partitions of a large table. Only valid when a key's rows never change partition
    (true here: partitions are derived from the business date of the record itself)."""
    if len(tbl.partition_by) != 1:
        return ""
    column = tbl.partition_by[0]
    values = [r[0] for r in df.select(column).distinct().collect()]
    if not values or any(v is None for v in values):
        return ""
    listed = ", ".join(f"'{v}'" for v in sorted(str(v) for v in values))
    return f" AND t.`{column}` IN ({listed})"


def append(df: DataFrame, spark: SparkSession, settings: Settings, name: str) -> None:
    """Append rows to a Delta table (bronze is append-only) and register it."""
    tbl = table(name)
    existing(spark, settings, tbl)
    _writer(df, tbl, "append").save(tbl.path(settings))
    register(spark, settings, tbl)
