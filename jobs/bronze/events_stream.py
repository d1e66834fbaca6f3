"""Streaming ingestion of app / web / mini-program events: landing/events -> `bronze.events`.

Spark Structured Streaming's file source watches `<landing>/events/dt=*/`; each micro-batch goes
through the same transform as batch ingestion (`ingest.to_bronze`), so a row is the same whichever
path took it. Exactly once across restarts: the checkpoint records which files each micro-batch
took, and the write is an insert-only MERGE on (_dt, _source_file, _file_mtime, _line), so a batch
replayed after a crash between the write and the checkpoint commit adds nothing twice.

Modes: `available_now` takes everything that has landed and stops (for scheduled runs);
`continuous` keeps running, polling for new files every `interval` (for live use).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from habitlake.contract import load_contract
from habitlake.settings import Settings, join
from jobs.bronze import ingest

SOURCE = "events"
FILE_PATH, FILE_MTIME, FILE_SIZE = "_file_path", "_file_mtime_ts", "_file_size"
UTF8 = "UTF-8"


def checkpoint_dir(settings: Settings) -> str:
    return join(settings.root, "checkpoints", "bronze_events")


def _stream(spark: SparkSession, settings: Settings, max_files: int | None) -> DataFrame:
    source = load_contract()[SOURCE]
    reader = (
        spark.readStream.schema(ingest.raw_schema(source))
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", ingest.CORRUPT)
    )
    if max_files:
        reader = reader.option("maxFilesPerTrigger", max_files)
    raw = reader.json(join(settings.landing, SOURCE, "dt=*"))
    return raw.select("*", F.col("_metadata.file_path").alias(FILE_PATH),
                      F.col("_metadata.file_modification_time").alias(FILE_MTIME),
                      F.col("_metadata.file_size").alias(FILE_SIZE))


def process_batch(spark: SparkSession, settings: Settings, batch: DataFrame, batch_id: int) -> list[tuple]:
    """One micro-batch -> bronze.events and the ingest log; returns the log rows."""
    source = load_contract()[SOURCE]
    scanned = ingest.with_scan_order(batch, FILE_PATH).cache()
    try:
        files = (
            scanned.select(
                "_source_file",
                F.regexp_extract("_source_file", r"dt=([0-9-]{10})/", 1).alias("_dt"),
                F.unix_millis(F.col(FILE_MTIME)).alias("_file_mtime"),
                F.lit(UTF8).alias("_encoding"),
                F.col(FILE_SIZE),
            ).distinct()
        ).collect()
        if not files:
            return []
        files_df = spark.createDataFrame([f[:4] for f in files],
                                         "_source_file string, _dt string, _file_mtime long, _encoding string")
        rows = ingest.to_bronze(scanned.drop(FILE_PATH, FILE_MTIME, FILE_SIZE), files_df, source,
                                f"stream-{batch_id}").cache()
        counts = {r["_source_file"]: (r["n"], r["bad"]) for r in rows.groupBy("_source_file").agg(
            F.count("*").alias("n"), F.count("_error").alias("bad")).collect()}
        ingest.insert_new(spark, settings, f"bronze.{SOURCE}", rows, [f["_dt"] for f in files])
        rows.unpersist()
    finally:
        scanned.unpersist()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    log = [(f["_source_file"], SOURCE, f["_dt"], f[FILE_SIZE], f["_file_mtime"], UTF8, ingest.STATUS_INGESTED,
            counts.get(f["_source_file"], (0, 0))[0], counts.get(f["_source_file"], (0, 0))[1],
            "streamed", f"stream-{batch_id}", now) for f in files]
    ingest.record_files(spark, settings, log)
    return log


def start(spark: SparkSession, settings: Settings, mode: str = "available_now", interval: str = "10 seconds",
          max_files_per_trigger: int | None = None,
          after_batch: Callable[[int], None] | None = None) -> StreamingQuery:
    """Start the stream; `after_batch(batch_id)` runs after each batch is written (tests use it)."""
    if mode not in ("available_now", "continuous"):
        raise ValueError(f"mode must be available_now or continuous, not {mode!r}")
    for key in ("spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes"):
        spark.conf.set(key, ingest.WHOLE_FILE_BYTES)

    def handle(batch: DataFrame, batch_id: int) -> None:
        process_batch(spark, settings, batch, batch_id)
        if after_batch:
            after_batch(batch_id)

    writer = (_stream(spark, settings, max_files_per_trigger).writeStream
              .foreachBatch(handle).option("checkpointLocation", checkpoint_dir(settings))
              .queryName("bronze_events"))
    writer = writer.trigger(availableNow=True) if mode == "available_now" else writer.trigger(processingTime=interval)
    return writer.start()
