"""Bronze ingestion on hand-made landing files: every line accounted for, encodings detected,
malformed lines kept with reasons, unreadable files recorded (not fatal), re-runs add nothing."""
import csv
import io
import json
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from habitlake import catalog
from habitlake.contract import load_contract
from jobs.bronze import ingest

DAY1, DAY2 = "2025-01-01", "2025-01-02"
CONTRACT = load_contract()


def _csv(source: str, rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CONTRACT[source].columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _bronze(spark, settings, source: str):
    """This module's rows only: the suite shares one lakehouse."""
    return catalog.read(spark, settings, f"bronze.{source}").filter(F.col("_dt").isin(DAY1, DAY2))


def _write(landing: Path, source: str, day: str, content: bytes, name: str | None = None) -> str:
    folder = landing / CONTRACT[source].day_dir(day)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or CONTRACT[source].file_name(day)
    (folder / name).write_bytes(content)
    return f"{CONTRACT[source].day_dir(day)}/{name}"


@pytest.fixture(scope="module")
def landed(spark, settings):
    landing = Path(settings.landing)
    files = {}
    customers = _csv("customers", [
        {"customer_id": "C0000001", "name": "张伟", "city": "成都", "updated_at": "2025-01-01 08:00:00"},
        {"customer_id": "C0000002", "name": "李娜", "city": "绵阳", "updated_at": "2025-01-01 08:00:00",
         "address": '绵阳市"涪城区", 临园路1号'},
    ])
    files["customers"] = _write(landing, "customers", DAY1, customers.encode("gbk"))
    orders = _csv("orders", [
        {"order_id": "O000000001", "customer_id": "C0000001", "status": "paid", "total_amount": "88.50"},
        {"order_id": "O000000003", "customer_id": "C0000002", "status": "paid", "total_amount": "12.00"},
    ])
    header, first, third = orders.splitlines()
    broken = "O000000002,C0000001,2025-01-01 09:00:00,app"  # 4 of 15 fields
    files["orders"] = _write(landing, "orders", DAY1, "\n".join([header, first, broken, third, ""]).encode())
    events = [
        json.dumps({"event_id": "E1", "event_type": "view", "customer_id": "C0000001", "product_id": "P00001"}),
        '{"event_id": "E2", "event_ty',
        json.dumps({"event_id": "E3", "event_type": "search", "query": "火锅底料", "rating": 5}, ensure_ascii=False),
    ]
    files["events"] = _write(landing, "events", DAY1, ("\n".join(events) + "\n").encode(),
                             CONTRACT["events"].file_name(DAY1, part=0))
    files["order_lines"] = _write(landing, "order_lines", DAY1, b"\x1f\x8b\x08\x00\x00\x00garbage\x00\xff")
    files["products"] = _write(landing, "products", DAY1, b"sku,title,price\nP1,milk,3.5\n")
    review = {"review_id": "R1", "customer_id": "C0000001", "rating": 4, "review_text": "很新鲜"}
    files["reviews"] = _write(landing, "reviews", DAY2, (json.dumps(review, ensure_ascii=False) + "\n").encode())
    log = ingest.run(spark, settings, DAY1, DAY2)
    return files, log


def test_log_accounts_for_every_file(landed):
    files, log = landed
    got = sorted((r["file"], r["status"], r["rows"], r["malformed_rows"], r["encoding"]) for r in log)
    assert got == sorted([
        (files["customers"], "ingested", 2, 0, "GB18030"),
        (files["orders"], "ingested", 3, 1, "UTF-8"),
        (files["events"], "ingested", 3, 1, "UTF-8"),
        (files["order_lines"], "rejected", 0, 0, None),
        (files["products"], "rejected", 0, 0, "UTF-8"),
        (files["reviews"], "ingested", 1, 0, "UTF-8"),
    ])


def test_unreadable_files_are_recorded_with_reasons_and_kept(landed, settings):
    files, log = landed
    reasons = {r["file"]: r["reason"] for r in log if r["status"] == "rejected"}
    assert reasons == {
        files["order_lines"]: "not a text file: it contains NUL bytes (binary content)",
        files["products"]: "CSV header does not match the contract: missing ['product_id', 'product_name', "
                           "'category_l1', 'category_l2', 'brand', 'list_price', 'unit_cost', 'shelf_life_days', "
                           "'storage_type', 'updated_at'], unexpected ['sku', 'title', 'price']",
    }
    kept = Path(settings.lake) / "bronze" / "_rejected_files" / files["order_lines"]
    assert kept.read_bytes() == b"\x1f\x8b\x08\x00\x00\x00garbage\x00\xff"


def test_malformed_csv_line_is_kept_with_its_line_number(landed, spark, settings):
    files, _ = landed
    got = _bronze(spark, settings, "orders").select(
        "order_id", "customer_id", "total_amount", "_source_file", "_line", "_dt", "_error", "_raw")
    reason = "malformed CSV line: wrong number of fields or bad quoting"
    assertDataFrameEqual(got, spark.createDataFrame([
        ("O000000001", "C0000001", "88.50", files["orders"], 1, DAY1, None, None),
        ("O000000002", "C0000001", None, files["orders"], 2, DAY1, reason,
         "O000000002,C0000001,2025-01-01 09:00:00,app"),
        ("O000000003", "C0000002", "12.00", files["orders"], 3, DAY1, None, None),
    ], got.schema))


def test_gbk_file_is_decoded_with_rfc4180_quotes(landed, spark, settings):
    got = _bronze(spark, settings, "customers").select("customer_id", "name", "city", "address", "_encoding")
    assertDataFrameEqual(got, spark.createDataFrame(
        [("C0000001", "张伟", "成都", None, "GB18030"),
         ("C0000002", "李娜", "绵阳", '绵阳市"涪城区", 临园路1号', "GB18030")], got.schema))


def test_malformed_json_line_is_kept_and_values_stay_raw_strings(landed, spark, settings):
    got = _bronze(spark, settings, "events").select("event_id", "event_type", "query", "_line", "_error", "_raw")
    assertDataFrameEqual(got, spark.createDataFrame([
        ("E1", "view", None, 1, None, None),
        (None, None, None, 2, "malformed JSONL line: not a JSON object", '{"event_id": "E2", "event_ty'),
        ("E3", "search", "火锅底料", 3, None, None),
    ], got.schema))
    review = _bronze(spark, settings, "reviews").select("rating", "_dt").collect()
    assert [tuple(r) for r in review] == [("4", DAY2)]


def test_reingest_adds_nothing_and_late_files_are_picked_up(landed, spark, settings):
    versions = {s: DeltaTable.forPath(spark, catalog.table(f"bronze.{s}").path(settings)).history().count()
                for s in ("orders", "events", "customers")}
    assert ingest.run(spark, settings, DAY1, DAY2) == []
    for source, version_count in versions.items():
        assert DeltaTable.forPath(spark, catalog.table(f"bronze.{source}").path(settings)).history().count() == version_count

    late = _csv("orders", [{"order_id": "O000000009", "customer_id": "C0000002", "status": "paid"}])
    late_file = _write(Path(settings.landing), "orders", DAY1, late.encode(), "orders_20250101_late.csv")
    log = ingest.run(spark, settings, DAY1)
    assert [(r["file"], r["rows"]) for r in log] == [(late_file, 1)]
    orders = _bronze(spark, settings, "orders")
    assert sorted(r.order_id for r in orders.select("order_id").collect()) == [
        "O000000001", "O000000002", "O000000003", "O000000009"]


def test_bad_range_and_unknown_source_are_clear_errors(spark, settings):
    with pytest.raises(ValueError, match="--to 2025-01-01 is before --date 2025-01-05"):
        ingest.run(spark, settings, "2025-01-05", "2025-01-01")
    with pytest.raises(ValueError, match=r"unknown source\(s\) \['tweets'\]"):
        ingest.run(spark, settings, DAY1, sources=["tweets"])
