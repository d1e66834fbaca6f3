"""Bronze ingestion: landing files of a business date (or range) -> `bronze.<source>`.

Grain: one row per landing line (a CSV record or a JSON line), every value kept as the raw string the
source wrote, plus ingestion metadata: `_source_file` (relative to the landing root), `_line`
(1-based record number in that file, header excluded), `_dt` (business date of the file's folder,
the partition), `_file_mtime`, `_encoding` (detected), `_batch_id`, `_ingested_at`, and for a line
that cannot be parsed `_error` (the reason) and `_raw` (the line as written). Malformed lines are
kept, never dropped; silver routes them to quarantine.

Every source shares this one module: the landing contract (conf/landing.yaml) says what differs
(format, columns), so there is no per-source copy of the same code.

Files are tracked in `bronze.ingest_files` by (file, size, mtime): ingesting the same date again
skips files already taken, a late file for an earlier date is picked up, and an unreadable file is
recorded as `rejected` with its reason (and a copy kept under the lake) without stopping the batch.
Appends are insert-only MERGEs on (_dt, _source_file, _file_mtime, _line), so even a run that died
between writing rows and logging its files adds nothing the second time.
"""
from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from habitlake import catalog, fs
from habitlake.contract import Source, load_contract
from habitlake.settings import Settings, join
from jobs.bronze.encoding import Sniff, sniff

SNIFF_BYTES = 1 << 16
CORRUPT = "_corrupt_record"
INGEST_LOG = "bronze.ingest_files"
REL_PATH_PATTERN = r"([^/]+/dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+)$"
DT_PATTERN = re.compile(r"/dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/")
# Give every file its own read partition and never split one, so that rows keep file order and the
# line number can be computed from the scan order (files up to this size).
WHOLE_FILE_BYTES = str(2 * 1024**3)
STATUS_INGESTED, STATUS_REJECTED = "ingested", "rejected"
METADATA_COLUMNS = ("_source_file", "_line", "_dt", "_file_mtime", "_encoding", "_error", "_raw",
                    "_batch_id", "_ingested_at")


@dataclass(frozen=True)
class LandingFile:
    source: str
    uri: str
    rel: str  # path relative to the landing root: <source>/dt=<day>/<name>
    dt: str
    size: int
    mtime: int


INGEST_LOG_SCHEMA = T.StructType([
    T.StructField("file", T.StringType(), False),
    T.StructField("source", T.StringType(), False),
    T.StructField("dt", T.StringType(), False),
    T.StructField("file_size", T.LongType(), False),
    T.StructField("file_mtime", T.LongType(), False),
    T.StructField("encoding", T.StringType(), True),
    T.StructField("status", T.StringType(), False),
    T.StructField("rows", T.LongType(), False),
    T.StructField("malformed_rows", T.LongType(), False),
    T.StructField("reason", T.StringType(), True),
    T.StructField("batch_id", T.StringType(), False),
    T.StructField("ingested_at", T.TimestampType(), False),
])


def days_between(first: str, last: str | None = None) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    if end < start:
        raise ValueError(f"--to {last} is before --date {first}")
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


# --- pure transforms ----------------------------------------------------------------------------

def raw_schema(source: Source) -> T.StructType:
    """Every contract column as a nullable string, plus the reader's corrupt-record column."""
    fields = [T.StructField(c, T.StringType(), True) for c in source.columns]
    return T.StructType(fields + [T.StructField(CORRUPT, T.StringType(), True)])


def with_scan_order(raw: DataFrame, file_path: str = "_metadata.file_path") -> DataFrame:
    """Tag rows with their file and scan position; must be applied directly on the file scan."""
    return raw.select(
        "*",
        F.regexp_extract(F.col(file_path), REL_PATH_PATTERN, 1).alias("_source_file"),
        F.monotonically_increasing_id().alias("_scan_pos"),
    )


def to_bronze(scanned: DataFrame, files: DataFrame, source: Source, batch_id: str) -> DataFrame:
    """Raw rows -> bronze rows: line numbers, file metadata, error reasons; the contract's columns."""
    by_file = Window.partitionBy("_source_file").orderBy("_scan_pos")
    malformed = F.col(CORRUPT).isNotNull()
    reason = (
        f"malformed {source.format.upper()} line: "
        + ("not a JSON object" if source.format == "jsonl" else "wrong number of fields or bad quoting")
    )
    return (
        scanned.join(F.broadcast(files), on="_source_file", how="inner")
        .withColumn("_line", F.row_number().over(by_file))
        .select(
            *[F.col(c) for c in source.columns],
            F.col("_source_file"),
            F.col("_line").cast("int").alias("_line"),
            F.col("_dt"),
            F.col("_file_mtime"),
            F.col("_encoding"),
            F.when(malformed, F.lit(reason)).alias("_error"),
            F.col(CORRUPT).alias("_raw"),
            F.lit(batch_id).alias("_batch_id"),
            F.current_timestamp().alias("_ingested_at"),
        )
    )


# --- I/O ------------------------------------------------------------------------------------------

def landing_files(spark: SparkSession, settings: Settings, source: Source, days: list[str]) -> list[LandingFile]:
    found = []
    for day in days:
        for info in fs.list_files(spark, join(settings.landing, source.day_dir(day))):
            name = info.path.rsplit("/", 1)[-1]
            if name.startswith((".", "_")):
                continue  # hidden and marker files (_SUCCESS, .crc) are not data
            found.append(LandingFile(source.name, info.path, f"{source.day_dir(day)}/{name}", day,
                                     info.size, info.mtime))
    return found


def taken_files(spark: SparkSession, settings: Settings) -> set[tuple[str, int, int]]:
    if not catalog.exists(spark, settings, catalog.table(INGEST_LOG)):
        return set()
    rows = catalog.read(spark, settings, INGEST_LOG).select("file", "file_size", "file_mtime").collect()
    return {(r.file, r.file_size, r.file_mtime) for r in rows}


def check_file(spark: SparkSession, source: Source, lf: LandingFile) -> Sniff:
    """Sniff the encoding and, for CSV, check the header against the contract."""
    sample = fs.head(spark, lf.uri, SNIFF_BYTES)
    found = sniff(sample, truncated=lf.size > len(sample))
    if found.problem or source.format != "csv":
        return found
    header = [h.strip().strip('"') for h in found.first_line.split(",")]
    if header != list(source.columns):
        missing = [c for c in source.columns if c not in header]
        extra = [c for c in header if c not in source.columns]
        detail = f"missing {missing}, unexpected {extra}" if missing or extra else "columns out of order"
        return Sniff(found.encoding, found.first_line, f"CSV header does not match the contract: {detail}")
    return found


def _read(spark: SparkSession, source: Source, encoding: str, uris: list[str]) -> DataFrame:
    reader = (
        spark.read.schema(raw_schema(source))
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("encoding", encoding)
    )
    if source.format == "csv":
        # RFC 4180: a quote inside a quoted field is doubled (""), as spreadsheets and ERPs write it.
        return reader.option("header", True).option("multiLine", False).option("escape", '"').csv(uris)
    return reader.json(uris)


def _files_frame(spark: SparkSession, files: list[LandingFile], encoding: str) -> DataFrame:
    rows = [(f.rel, f.dt, f.mtime, encoding) for f in files]
    schema = "_source_file string, _dt string, _file_mtime long, _encoding string"
    return spark.createDataFrame(rows, schema)


def _log_rows(files: list[LandingFile], status: str, batch_id: str, now, encoding=None,
              counts=None, reason=None) -> list[tuple]:
    counts = counts or {}
    return [
        (f.rel, f.source, f.dt, f.size, f.mtime, encoding, status,
         counts.get(f.rel, (0, 0))[0], counts.get(f.rel, (0, 0))[1], reason, batch_id, now)
        for f in files
    ]


def insert_new(spark: SparkSession, settings: Settings, name: str, rows: DataFrame, days: list[str]) -> None:
    """Insert-only MERGE: append the rows not already in the table (bronze stays append-only)."""
    from delta.tables import DeltaTable

    tbl = catalog.table(name)
    if not catalog.exists(spark, settings, tbl):
        catalog.append(rows, spark, settings, name)
        return
    day_list = ", ".join(f"'{d}'" for d in sorted(set(days)))
    cond = (f"t._dt IN ({day_list}) AND t._dt = s._dt AND t._source_file = s._source_file "
            "AND t._file_mtime = s._file_mtime AND t._line = s._line")
    (DeltaTable.forPath(spark, tbl.path(settings)).alias("t")
     .merge(rows.alias("s"), cond).whenNotMatchedInsertAll().execute())
    catalog.register(spark, settings, tbl)


def _ingest_group(spark, settings, source, encoding, files, batch_id) -> dict[str, tuple[int, int]]:
    """Read files of one encoding in one scan, write them, return {file: (rows, malformed)}."""
    raw = with_scan_order(_read(spark, source, encoding, [f.uri for f in files]))
    rows = to_bronze(raw, _files_frame(spark, files, encoding), source, batch_id).cache()
    try:
        counts = {
            r["_source_file"]: (r["rows"], r["malformed"])
            for r in rows.groupBy("_source_file")
            .agg(F.count("*").alias("rows"), F.count("_error").alias("malformed")).collect()
        }
        insert_new(spark, settings, f"bronze.{source.name}", rows, [f.dt for f in files])
    finally:
        rows.unpersist()
    return counts


def _reject(spark, settings, files, reason, batch_id, now, encoding=None) -> list[tuple]:
    for f in files:  # keep a copy of what could not be read next to the lake, with the log row
        fs.copy(spark, f.uri, join(settings.lake, "bronze", "_rejected_files", f.rel))
    return _log_rows(files, STATUS_REJECTED, batch_id, now, encoding, reason=reason)


def ingest_source(spark, settings, source: Source, days: list[str], batch_id: str, now) -> list[tuple]:
    """Ingest the not-yet-taken files of one source; return their ingest-log rows."""
    taken = taken_files(spark, settings)
    todo = [f for f in landing_files(spark, settings, source, days)
            if (f.rel, f.size, f.mtime) not in taken]
    log: list[tuple] = []
    groups: dict[str, list[LandingFile]] = defaultdict(list)
    for f in todo:
        found = check_file(spark, source, f)
        if found.problem:
            log += _reject(spark, settings, [f], found.problem, batch_id, now, found.encoding)
        else:
            groups[found.encoding].append(f)
    for encoding, files in sorted(groups.items()):
        try:
            counts = _ingest_group(spark, settings, source, encoding, files, batch_id)
        except Exception as exc:  # one bad file must not stop the batch: isolate it
            if len(files) == 1:
                reason = f"unreadable: {type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
                log += _reject(spark, settings, files, reason, batch_id, now, encoding)
                continue
            for f in files:
                log += ingest_source_files(spark, settings, source, encoding, [f], batch_id, now)
            continue
        log += _log_rows(files, STATUS_INGESTED, batch_id, now, encoding, counts)
    return log


def ingest_source_files(spark, settings, source, encoding, files, batch_id, now) -> list[tuple]:
    try:
        counts = _ingest_group(spark, settings, source, encoding, files, batch_id)
    except Exception as exc:
        reason = f"unreadable: {type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
        return _reject(spark, settings, files, reason, batch_id, now, encoding)
    return _log_rows(files, STATUS_INGESTED, batch_id, now, encoding, counts)


def run(spark: SparkSession, settings: Settings, first_day: str, last_day: str | None = None,
        sources: list[str] | None = None) -> list[dict]:
    """Ingest every source (or the named ones) for a date or an inclusive date range."""
    from datetime import datetime, timezone

    days = days_between(first_day, last_day)
    contract = load_contract()
    unknown = sorted(set(sources or []) - set(contract))
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; the landing contract has {sorted(contract)}")
    batch_id = f"{first_day}_{last_day or first_day}_{uuid.uuid4().hex[:8]}"
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    conf = spark.conf
    saved = {k: conf.get(k) for k in ("spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes")}
    conf.set("spark.sql.files.maxPartitionBytes", WHOLE_FILE_BYTES)
    conf.set("spark.sql.files.openCostInBytes", WHOLE_FILE_BYTES)
    log: list[tuple] = []
    try:
        for name in sources or list(contract):
            log += ingest_source(spark, settings, contract[name], days, batch_id, now)
    finally:
        for key, value in saved.items():
            conf.set(key, value)
    record_files(spark, settings, log)
    return [dict(zip(INGEST_LOG_SCHEMA.fieldNames(), row)) for row in log]


def record_files(spark: SparkSession, settings: Settings, log: list[tuple]) -> None:
    """Add rows to the ingest log, once per (file, size, mtime)."""
    if log:
        rows = spark.createDataFrame(log, INGEST_LOG_SCHEMA)
        catalog.upsert(rows, spark, settings, INGEST_LOG, newer="false")
