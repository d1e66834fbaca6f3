"""Streaming events into bronze exactly once: a crash after a micro-batch was written but before
its checkpoint commit, then a restart, leaves no duplicate and no missing event."""
import json
from pathlib import Path

import pytest
from pyspark.errors import StreamingQueryException
from pyspark.sql import functions as F

from habitlake import catalog
from habitlake.contract import load_contract
from jobs.bronze import events_stream

EVENTS = load_contract()["events"]


def _land(settings, day: str, lines: list[str]) -> None:
    folder = Path(settings.landing) / EVENTS.day_dir(day)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EVENTS.file_name(day, part=0)).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _event(event_id: str) -> str:
    return json.dumps({"event_id": event_id, "event_type": "view", "event_time": "2030-01-01 10:00:00"})


def _streamed(spark, settings):
    rows = (catalog.read(spark, settings, "bronze.events").filter(F.col("_dt").startswith("2030-"))
            .select("event_id", "_dt", "_line", "_error").collect())
    return sorted((r.event_id or "", r._dt, r._line, r._error is not None) for r in rows)


def test_restart_after_a_crash_gives_each_event_exactly_once(spark, settings):
    _land(settings, "2030-01-01", [_event("S1"), _event("S2"), _event("S3")])
    _land(settings, "2030-01-02", [_event("S4"), '{"event_id": "S5", "event_t'])

    def crash(batch_id: int) -> None:
        if batch_id == 0:
            raise RuntimeError("simulated crash after the write, before the checkpoint commit")

    query = events_stream.start(spark, settings, max_files_per_trigger=1, after_batch=crash)
    with pytest.raises(StreamingQueryException, match="simulated crash"):
        query.awaitTermination(240)

    events_stream.start(spark, settings, max_files_per_trigger=1).awaitTermination(240)
    expected = [("", "2030-01-02", 2, True), ("S1", "2030-01-01", 1, False), ("S2", "2030-01-01", 2, False),
                ("S3", "2030-01-01", 3, False), ("S4", "2030-01-02", 1, False)]
    assert _streamed(spark, settings) == expected

    _land(settings, "2030-01-03", [_event("S6")])
    events_stream.start(spark, settings).awaitTermination(240)
    assert _streamed(spark, settings) == sorted(expected + [("S6", "2030-01-03", 1, False)])
    logged = catalog.read(spark, settings, "bronze.ingest_files").filter(F.col("dt").startswith("2030-"))
    assert sorted((r.dt, r.rows, r.malformed_rows) for r in logged.collect()) == [
        ("2030-01-01", 3, 0), ("2030-01-02", 2, 1), ("2030-01-03", 1, 0)]


def test_unknown_mode_is_rejected(spark, settings):
    with pytest.raises(ValueError, match="mode must be available_now or continuous, not 'hourly'"):
        events_stream.start(spark, settings, mode="hourly")
