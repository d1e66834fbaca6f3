"""Gold tables for the cockpit, read straight from their Delta folders with delta-rs (no JVM).

A dashboard must answer in about two seconds; a Spark session takes 10-17 s to start and the SQL
endpoint needs a JVM running beside it. The `deltalake` package (delta-rs, Rust) reads the Delta log
and the Parquet files of a table slice in tens of milliseconds, so the cockpit reads gold tables
directly by path (`Settings.table_path("gold", name)`: the same paths the catalog writes).

Caching: every read is cached by (table, Delta version, as-of slice, columns). Whether a table has a
newer version is asked of its Delta log at most once per `ttl` seconds, so a daily run's new slice
shows up within seconds and an unchanged table is never read twice. A table that does not exist
(yet) is `None`, never an exception: the pages show a "not available yet" panel for it.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd

from habitlake.settings import Settings, is_local, local_path

AS_OF = "as_of_date"


@dataclass
class _Handle:
    table: object  # deltalake.DeltaTable
    checked: float  # monotonic time of the last version check


class GoldReader:
    """Reads gold tables (and other layers' tables) of one habitlake root through delta-rs."""

    def __init__(self, settings: Settings, ttl: float = 5.0, max_cached: int = 96):
        self.settings = settings
        self.ttl = ttl
        self.max_cached = max_cached
        self._handles: dict[str, _Handle] = {}
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.RLock()

    # --- tables -----------------------------------------------------------------------------------

    def uri(self, name: str) -> str:
        """The Delta folder of a logical name `layer.table` (gold if no layer is given)."""
        layer, _, table = name.rpartition(".")
        path = self.settings.table_path(layer or "gold", table)
        if is_local(path):
            return str(local_path(path))
        return path.replace("s3a://", "s3://", 1)  # delta-rs speaks s3://, Hadoop s3a://

    def _handle(self, name: str):
        """The open DeltaTable of `name` brought up to date at most every `ttl` seconds; None when
        the table does not exist."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        now = time.monotonic()
        with self._lock:
            handle = self._handles.get(name)
            if handle is not None and now - handle.checked < self.ttl:
                return handle.table
            try:
                if handle is None:
                    handle = _Handle(DeltaTable(self.uri(name)), now)
                    self._handles[name] = handle
                else:
                    handle.table.update_incremental()
                    handle.checked = now
            except (TableNotFoundError, FileNotFoundError, OSError):
                self._handles.pop(name, None)
                return None
            return handle.table

    def exists(self, name: str) -> bool:
        return self._handle(name) is not None

    def version(self, name: str) -> int | None:
        table = self._handle(name)
        return None if table is None else table.version()

    def _cached(self, key: tuple, compute):
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return value

    def columns(self, name: str) -> list[str]:
        table = self._handle(name)
        return [] if table is None else [f.name for f in table.schema().fields]

    # --- reads ------------------------------------------------------------------------------------

    def as_of_dates(self, name: str) -> list[str]:
        """The as-of dates (YYYY-MM-DD, ascending) a snapshot table has slices of."""
        table = self._handle(name)
        if table is None:
            return []

        def compute():
            return sorted({p[AS_OF] for p in table.partitions() if p.get(AS_OF)})

        return self._cached((name, table.version(), "dates"), compute)

    def read(self, name: str, columns: list[str] | None = None, as_of: str | None = None,
             filters: list[tuple] | None = None) -> pd.DataFrame | None:
        """Rows of a table as a pandas frame (None when the table does not exist). `as_of` reads one
        slice of a snapshot table (a partition: only its files are opened); `columns` that the table
        lacks are left out; `filters` are pyarrow-style (column, op, value) row filters."""
        table = self._handle(name)
        if table is None:
            return None
        have = [f.name for f in table.schema().fields]
        wanted = None if columns is None else [c for c in columns if c in have]
        key = (name, table.version(), as_of, tuple(wanted or ()), repr(filters))

        def compute():
            partitions = [(AS_OF, "=", as_of)] if as_of is not None else None
            arrow = table.to_pyarrow_table(partitions=partitions, columns=wanted,
                                           filters=filters or None)
            frame = arrow.to_pandas()
            return frame

        return self._cached(key, compute)

    def latest_as_of(self, name: str, on_or_before: str | None = None) -> str | None:
        """The latest slice of a snapshot table, on or before a date if given."""
        dates = [d for d in self.as_of_dates(name) if on_or_before is None or d <= on_or_before]
        return dates[-1] if dates else None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._handles.clear()
