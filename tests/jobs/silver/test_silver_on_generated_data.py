"""Silver on generated data, checked against the generator's planted truth: where each kind of
dirt ends up, balanced books, identical tables on a re-run, and late data merged correctly."""
import csv
import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from habitlake import catalog
from jobs.bronze import ingest
from jobs.landing.generator import generate
from jobs.silver import run as silver

START, LAST = "2025-03-01", "2025-03-08"
ALL = list(silver.TABLES)


@pytest.fixture(scope="module")
def world(spark, settings, tmp_path_factory):
    truth = tmp_path_factory.mktemp("truth")
    generate(settings.landing, truth, customers=300, days=8, start=START, seed=11, dirt=0.04, progress=False)
    ingest.run(spark, settings, START, LAST)
    results = silver.run(spark, settings, START, LAST, progress=None)
    with open(truth / "dirt.csv", encoding="utf-8") as f:
        dirt = list(csv.DictReader(f))
    return {"truth": truth, "dirt": dirt, "results": results}


def _silver(spark, settings, name):
    return catalog.read(spark, settings, f"silver.{name}")


def _quarantined(spark, settings, source):
    rows = (catalog.read(spark, settings, "silver.quarantine")
            .filter((F.col("source") == source) & F.col("dt").between(START, LAST))
            .select("source_file", "line", "rule").collect())
    return {(r.source_file, r.line): r.rule for r in rows}


def _planted(world, kind, source):
    """{(file, line): key} of the rows the generator made dirty with `kind`; never empty, or the
    test built on it would check nothing."""
    planted = {(d["file"], int(d["line"])): d["key"] for d in world["dirt"]
               if d["kind"] == kind and d["source"] == source}
    assert planted, f"the generator planted no {kind} rows in {source}: raise the dirt rate or days"
    return planted


def test_books_balance_for_every_table(world):
    for result in world["results"]:
        b = result.books
        assert b.rows_in == b.rows_to_silver + b.rows_quarantined + b.duplicates_removed, b


def test_order_dirt_goes_to_quarantine_with_its_rule(world, spark, settings):
    quarantined = _quarantined(spark, settings, "orders")
    for kind, rule in (("missing_customer_id", "missing_customer_id"), ("future_timestamp", "future_timestamp")):
        planted = _planted(world, kind, "orders")
        assert {pos: quarantined.get(pos) for pos in planted} == {pos: rule for pos in planted}


def test_mixed_date_formats_are_parsed_into_silver(world, spark, settings):
    planted = _planted(world, "mixed_date_format", "orders")
    orders = {r.order_id: r for r in _silver(spark, settings, "orders").collect()}
    quarantined = _quarantined(spark, settings, "orders")
    for (file, line), order_id in planted.items():
        if (file, line) in quarantined:  # e.g. the order belongs to a test account
            assert quarantined[(file, line)] == "test_account"
            continue
        day = file.split("dt=")[1][:10]
        assert str(orders[order_id].order_date) == day


def test_test_accounts_and_everything_they_did_stay_out_of_silver(world, spark, settings):
    planted = set(_planted(world, "test_account", "customers").values())
    customers = {r.customer_id for r in _silver(spark, settings, "customers").collect()}
    assert planted & customers == set()
    buyers = {r.customer_id for r in _silver(spark, settings, "orders").select("customer_id").collect()}
    assert planted & buyers == set()


def test_status_updates_leave_the_latest_status(world, spark, settings):
    planted = _planted(world, "status_update", "orders")
    landing = Path(settings.landing)
    latest = {}
    for (file, line), order_id in sorted(planted.items()):
        with open(landing / file, encoding="utf-8", errors="replace") as f:
            row = list(csv.DictReader(f))[line - 1]
        latest[order_id] = max(latest.get(order_id, ("", "")), (row["updated_at"], row["status"]))
    orders = {r.order_id: r.status for r in _silver(spark, settings, "orders").collect()}
    in_silver = {o: s for o, (_, s) in latest.items() if o in orders}
    assert in_silver, "no status-updated order reached silver: the comparison below would be empty"
    assert {o: orders[o] for o in in_silver} == in_silver


def test_line_dirt_ends_where_it_should(world, spark, settings):
    quarantined = _quarantined(spark, settings, "order_lines")
    lines = {(r.order_id, r.line_no): r for r in _silver(spark, settings, "order_lines").collect()}
    for kind, rule in (("negative_quantity", "negative_quantity"), ("unknown_product", "unknown_product")):
        planted = _planted(world, kind, "order_lines")
        # a line of a rejected order is quarantined for that first: the order's rule wins
        assert {pos: quarantined.get(pos) for pos in planted} == {
            pos: quarantined.get(pos) if quarantined.get(pos) == "order_not_in_silver" else rule
            for pos in planted}
    fen = _planted(world, "price_in_fen", "order_lines")
    converted = [lines[(k.split("|")[0], int(k.split("|")[1]))] for pos, k in fen.items() if pos not in quarantined]
    assert converted, "every fen-priced line was quarantined: nothing left to check the conversion on"
    assert all(line.price_was_fen for line in converted)
    assert not any(line.price_was_fen for key, line in lines.items()
                   if f"{key[0]}|{key[1]}" not in set(fen.values()))


def test_event_dirt_ends_where_it_should(world, spark, settings):
    quarantined = _quarantined(spark, settings, "events")
    for kind, rule in (("malformed_json", "malformed_line"), ("future_timestamp", "future_timestamp"),
                       ("unknown_product", "unknown_product")):
        planted = _planted(world, kind, "events")
        # an event of a test account is quarantined as such first
        assert {pos: quarantined.get(pos) for pos in planted} == {
            pos: "test_account" if quarantined.get(pos) == "test_account" else rule for pos in planted}
    events = _silver(spark, settings, "events")
    assert events.groupBy("event_id").count().filter("count > 1").count() == 0
    assert not set(_planted(world, "duplicate", "events")) & set(quarantined)


def test_every_dirty_customer_signup_date_is_parsed(world, spark, settings):
    planted = set(_planted(world, "mixed_date_format", "customers").values())
    customers = {r.customer_id: r.signup_date for r in _silver(spark, settings, "customers").collect()}
    assert [c for c in planted if c in customers and customers[c] is None] == []


def test_data_checks_ran_once_per_table_and_passed(world, spark, settings):
    checks = (catalog.read(spark, settings, "silver.check_results")
              .filter(F.col("run_id") == f"silver_{START}_{LAST}"))
    suites = {r.suite for r in checks.select("suite").distinct().collect()}
    assert suites == {f"silver_{r.table}" for r in world["results"] if r.books is not None}
    assert checks.filter((F.col("severity") == "critical") & ~F.col("success")).count() == 0


def test_exact_duplicates_are_removed_not_quarantined(world, spark, settings):
    for source, key_cols in (("orders", ["order_id"]), ("order_lines", ["order_id", "line_no"])):
        planted = _planted(world, "duplicate", source)
        quarantined = _quarantined(spark, settings, source)
        assert not set(planted) & set(quarantined)
        table = _silver(spark, settings, source)
        assert table.groupBy(*key_cols).count().filter("count > 1").count() == 0


def _snapshot(spark, settings, names):
    return {n: sorted(json.dumps(r.asDict(), default=str, sort_keys=True)
                      for r in _silver(spark, settings, n).collect()) for n in names}


def test_silver_files_carry_statistics_on_the_table_keys_only(world, settings):
    import glob

    for name, keys in (("orders", {"order_id"}), ("customers", {"customer_id", "valid_from"}),
                       ("events", {"event_id"}), ("quarantine", {"source", "source_file", "file_mtime", "line"})):
        path = catalog.table(f"silver.{name}").path(settings)
        stats = []
        for log in sorted(glob.glob(f"{path}/_delta_log/*.json")):
            with open(log, encoding="utf-8") as f:
                stats += [json.loads(json.loads(line)["add"]["stats"]) for line in f if '"add"' in line]
        assert stats, name
        assert all(set(s["nullCount"]) == keys and s["numRecords"] > 0 for s in stats), (name, stats[:2])


def test_rerunning_the_same_dates_leaves_every_table_identical(world, spark, settings):
    names = ALL + ["quarantine", "reconciliation"]
    before = _snapshot(spark, settings, names)
    assert ingest.run(spark, settings, START, LAST) == []
    silver.run(spark, settings, START, LAST, progress=None)
    assert _snapshot(spark, settings, names) == before


def test_late_status_update_for_an_earlier_date_is_merged(world, spark, settings):
    landing = Path(settings.landing)
    first_file = landing / f"orders/dt={START}/orders_{START.replace('-', '')}.csv"
    header, row = first_file.read_text(encoding="utf-8").splitlines()[:2]  # orders files are ASCII
    fields = row.split(",")
    order_id = fields[0]
    before = {r.order_id: r for r in _silver(spark, settings, "orders").collect()}
    assert order_id in before
    columns = header.split(",")
    late = dict(zip(columns, fields))
    late.update(status="refunded", updated_at="2025-03-20 10:00:00")
    late_file = landing / f"orders/dt={START}/orders_late_refund.csv"
    late_file.write_text(header + "\n" + ",".join(late[c] for c in columns) + "\n", encoding="utf-8")

    ingest.run(spark, settings, START)
    silver.run(spark, settings, START, None, ["orders"], progress=None)
    after = {r.order_id: r for r in _silver(spark, settings, "orders").collect()}
    assert after[order_id].status == "refunded"
    assert str(after[order_id].updated_ts) == "2025-03-20 02:00:00"  # 10:00 in Shanghai
    assert {k: v for k, v in after.items() if k != order_id} == {k: v for k, v in before.items() if k != order_id}


def test_interpreted_evaluation_is_for_the_silver_run_only(world, spark, settings):
    from dataclasses import replace

    whole_stage, factory = "spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode"
    # the world's run is over: the session is back to Spark's defaults, for gold and the models
    assert (spark.conf.get(whole_stage), spark.conf.get(factory)) == ("true", "FALLBACK")
    with silver.run_conf(spark, settings):
        assert (spark.conf.get(whole_stage), spark.conf.get(factory)) == ("false", "NO_CODEGEN")
    assert (spark.conf.get(whole_stage), spark.conf.get(factory)) == ("true", "FALLBACK")
    # a key the retailer sets in the settings' Spark conf is theirs
    own = replace(settings, extra_spark_conf={whole_stage: "true"})
    with silver.run_conf(spark, own):
        assert (spark.conf.get(whole_stage), spark.conf.get(factory)) == ("true", "NO_CODEGEN")
    # on a cluster, nothing changes
    cluster = replace(settings, spark_master="spark://head:7077")
    with silver.run_conf(spark, cluster):
        assert (spark.conf.get(whole_stage), spark.conf.get(factory)) == ("true", "FALLBACK")
