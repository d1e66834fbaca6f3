"""Writers of landing files: CSV (header = contract columns, empty string for missing values, some
files GBK-encoded) and JSON lines (events split into parts of at most 1,000,000 lines, malformed
lines truncated). Each write records the file (files.csv), the dirt rows it holds (dirt.csv, 1-based
data line numbers) and the per-source summary.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl

from .dirt import MALFORMED_JSON, truncate_lines
from .rng import stream

MAX_JSON_LINES = 1_000_000
PARTITIONED_SOURCES = ("events",)  # written as <name>_YYYYMMDD_partNN.jsonl
GBK_SHARE_PER_DIRT = 10.0  # share of candidate CSV files written in GBK = 10 x dirt (20% at 0.02)
GBK_MAX_SHARE = 0.5
UTF8 = "utf-8"
GBK = "gbk"


class LandingWriter:
    """Writes one source-day at a time under landing_dir and keeps the bookkeeping for truth."""

    def __init__(self, landing_dir: Path, contract: dict, seed: int, dirt: float) -> None:
        self.landing_dir = landing_dir
        self.contract = contract
        self.seed = seed
        self.gbk_share = min(GBK_MAX_SHARE, GBK_SHARE_PER_DIRT * dirt)
        self.files: list[tuple[str, str, str, int]] = []
        self.dirt: list[pl.DataFrame] = []
        self.summary = {name: {"files": 0, "rows": 0, "bytes": 0} for name in contract}

    def write(self, name: str, day_index: int, date: str, frame: pl.DataFrame | None) -> None:
        """Write one source's rows of one day (nothing when there are none)."""
        if frame is None or frame.height == 0:
            return
        source = self.contract[name]
        if name in PARTITIONED_SOURCES:
            for part, offset in enumerate(range(0, frame.height, MAX_JSON_LINES)):
                chunk = frame.slice(offset, MAX_JSON_LINES)
                self._write_file(name, source.file_name(date, part), date, day_index, chunk)
        else:
            self._write_file(name, source.file_name(date), date, day_index, frame)

    def _write_file(self, name: str, file_name: str, date: str, day_index: int, frame: pl.DataFrame) -> None:
        source = self.contract[name]
        relative = f"{source.day_dir(date)}/{file_name}"
        marks = self._record_dirt(name, relative, frame)
        data = frame.select(source.columns)
        if source.format == "jsonl":
            payload, encoding = self._jsonl(data, marks, day_index, name), UTF8
        else:
            payload, encoding = self._csv(data, day_index, name)
        path = self.landing_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        self.files.append((relative, name, encoding, data.height))
        self.summary[name]["files"] += 1
        self.summary[name]["rows"] += data.height
        self.summary[name]["bytes"] += len(payload)

    def _record_dirt(self, name: str, relative: str, frame: pl.DataFrame) -> np.ndarray:
        """Store (kind, source, file, line, key) of the marked rows; return malformed row indices."""
        if "_dirt" not in frame.columns:
            return np.zeros(0, dtype=np.int64)
        marked = (frame.select(pl.col("_dirt").alias("kind"), pl.col("_key").alias("key"))
                  .with_row_index("line", offset=1).filter(pl.col("kind").is_not_null()))
        if marked.height:
            self.dirt.append(marked.select(
                "kind", pl.lit(name).alias("source"), pl.lit(relative).alias("file"),
                pl.col("line").cast(pl.Int64), "key"))
        malformed = marked.filter(pl.col("kind") == MALFORMED_JSON)["line"].to_numpy()
        return malformed.astype(np.int64) - 1

    def _jsonl(self, data: pl.DataFrame, malformed: np.ndarray, day_index: int, name: str) -> bytes:
        lines = data.select(pl.struct(pl.all()).struct.json_encode().alias("l")).to_series()
        lines = truncate_lines(lines, malformed, stream(self.seed, f"malformed:{name}", day_index))
        buffer = io.BytesIO()
        pl.DataFrame({"l": lines}).write_csv(buffer, include_header=False, quote_style="never")
        return buffer.getvalue()

    def _csv(self, data: pl.DataFrame, day_index: int, name: str) -> tuple[bytes, str]:
        buffer = io.BytesIO()
        data.write_csv(buffer, null_value="")
        payload = buffer.getvalue()
        chosen = stream(self.seed, f"encoding:{name}", day_index).random() < self.gbk_share
        if chosen and not payload.isascii():
            return payload.decode(UTF8).encode(GBK), GBK
        return payload, UTF8

    def files_frame(self) -> pl.DataFrame:
        """Truth rows of every file written."""
        return pl.DataFrame(self.files, schema=["file", "source", "encoding", "rows"], orient="row")

    def dirt_frame(self) -> pl.DataFrame:
        """Truth rows of every dirt instance written."""
        if not self.dirt:
            return pl.DataFrame(schema={"kind": pl.String, "source": pl.String, "file": pl.String,
                                        "line": pl.Int64, "key": pl.String})
        return pl.concat(self.dirt)
