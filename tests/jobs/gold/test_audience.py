"""Audiences over gold.customer_profile (jobs/gold/audience.py) and `habitlake audience`."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from habitlake import catalog
from jobs.gold import audience
from jobs.gold import tags as tagging
from jobs.gold.expr import ExprError

D1, D2 = dt.date(2025, 3, 30), dt.date(2025, 3, 31)
FAN_GOLD = "hotpot_fan AND tier = 'Gold' AND NOT is_churned"

# (as_of_date, customer_id, tier, is_churned, city, tags)
ROWS = [
    (D1, "c1", "Silver", False, "成都市", ["hotpot_fan", "west_sichuan"]),
    (D1, "c2", "Gold", False, "重庆市", ["hotpot_fan"]),
    (D1, "c3", "Silver", False, "成都市", ["west_sichuan"]),
    (D2, "c1", "Gold", False, "成都市", ["hotpot_fan", "west_sichuan"]),
    (D2, "c2", "Gold", True, "重庆市", ["hotpot_fan"]),
    (D2, "c3", "Silver", False, "成都市", ["west_sichuan"]),
    (D2, "c4", "Gold", False, "绵阳市", []),
    (D2, "c5", None, None, None, None),
]


def profile_frame(spark):
    fields = [f for f in tagging.contract_schema().fields]
    schema = T.StructType([T.StructField("as_of_date", T.DateType()), *fields])
    names = schema.fieldNames()
    rows = []
    for day, cid, tier, churned, city, tags in ROWS:
        values = {"as_of_date": day, "customer_id": cid, "tier": tier, "is_churned": churned, "city": city,
                  "tags": tags, "customer_type": "consumer", "orders_total": 3}
        rows.append(tuple(values.get(n) for n in names))
    return spark.createDataFrame(rows, schema)


def lake(spark, settings, tmp_path_factory, name):
    mine = settings.with_overrides(root=str(tmp_path_factory.mktemp(name)))
    catalog.overwrite(profile_frame(spark), spark, mine, "gold.customer_profile")
    return mine


@pytest.fixture(scope="module")
def mine(spark, settings, tmp_path_factory):
    """A lakehouse root of its own with a two-day profile and no published tag registry."""
    return lake(spark, settings, tmp_path_factory, "audience_root")


def test_count_on_the_latest_slice_by_default(spark, mine):
    assert audience.latest_as_of(spark, mine) == D2
    assert audience.count(spark, mine, FAN_GOLD) == 1  # c1 (c2 is churned, c4 is no fan)
    assert audience.count(spark, mine, "west_sichuan OR tier = 'Silver'") == 2
    assert audience.count(spark, mine, "tags CONTAINS 'west_sichuan' AND city = '成都市'") == 2
    assert audience.count(spark, mine, "tier IS NULL") == 1


def test_an_older_slice(spark, mine):
    assert audience.count(spark, mine, FAN_GOLD, as_of="2025-03-30") == 1  # c2, not yet churned
    got = audience.members(spark, mine, FAN_GOLD, as_of="2025-03-30").collect()
    assert [tuple(r) for r in got] == [(D1, "c2", False, "Gold")]  # profile column order


def test_members_show_the_fields_the_expression_reads(spark, mine):
    df = audience.members(spark, mine, "NOT hotpot_fan AND tier != 'Churned'")
    assert df.columns == ["as_of_date", "customer_id", "tier"]
    assert [tuple(r) for r in df.collect()] == [(D2, "c3", "Silver"), (D2, "c4", "Gold")]


def test_unknown_tags_and_fields_are_expression_errors(spark, mine):
    with pytest.raises(ExprError) as info:
        audience.count(spark, mine, "hotpot_fans AND tier = 'Gold'")
    assert str(info.value).splitlines() == [
        "audience \"hotpot_fans AND tier = 'Gold'\", column 1: unknown field 'hotpot_fans' "
        "(did you mean 'hotpot_fan'?)",
        "    hotpot_fans AND tier = 'Gold'",
        "    ^",
    ]
    with pytest.raises(ExprError, match=r"type mismatch: cannot compare string \(field 'tier'\) with number"):
        audience.count(spark, mine, "tier > 3")
    with pytest.raises(ExprError, match=r"must be a condition \(boolean\), but it is number"):
        audience.count(spark, mine, "orders_total + 1")


def test_a_date_without_a_slice(spark, mine):
    with pytest.raises(LookupError, match=r"^gold.customer_profile has no slice for 2025-04-01; latest is 2025-03-31$"):
        audience.count(spark, mine, FAN_GOLD, as_of="2025-04-01")


def test_save_replaces_only_its_own_audience(spark, mine):
    assert audience.save(spark, mine, "fans_gold", FAN_GOLD) == 1
    assert audience.save(spark, mine, "west", "west_sichuan") == 2
    assert audience.save(spark, mine, "fans_gold", "hotpot_fan") == 2  # saved again: replaced
    rows = catalog.read(spark, mine, "gold.audiences").select(
        "audience", "customer_id", "as_of_date", "expression", "saved_from_tags_version",
        F.map_entries("tag_versions").alias("tags")).collect()
    assert sorted((r.audience, r.customer_id, r.as_of_date, r.expression, r.saved_from_tags_version,
                   [tuple(e) for e in r.tags]) for r in rows) == [
        ("fans_gold", "c1", D2, "hotpot_fan", None, [("hotpot_fan", 1)]),
        ("fans_gold", "c2", D2, "hotpot_fan", None, [("hotpot_fan", 1)]),
        ("west", "c1", D2, "west_sichuan", None, [("west_sichuan", 1)]),
        ("west", "c3", D2, "west_sichuan", None, [("west_sichuan", 1)]),
    ]


def test_audience_names_are_checked(spark, mine):
    with pytest.raises(ValueError, match=r"audience name \"x' OR '1'='1\": use 1-64 letters, digits, _ or -"):
        audience.save(spark, mine, "x' OR '1'='1", FAN_GOLD)


def test_tag_ids_come_from_the_published_registry(spark, settings, tmp_path_factory):
    root = lake(spark, settings, tmp_path_factory, "audience_registry_root")

    def tag(tag_id, version, status):
        return tagging.Tag(tag_id, "甲", "A", "g", "s", "rule", "o", status, version, "d", "is_churned")

    catalog.overwrite(tagging.registry_frame(spark, [tag("hotpot_fan", 3, "online"),
                                                     tag("west_sichuan", 1, "offline")], D2),
                      spark, root, "gold.tag_registry")
    with pytest.raises(ExprError, match=r"unknown field 'west_sichuan'"):  # offline: not a condition any more
        audience.count(spark, root, "west_sichuan")
    assert audience.save(spark, root, "fans", "hotpot_fan AND NOT is_churned") == 1
    row = catalog.read(spark, root, "gold.audiences").select(
        "customer_id", "saved_from_tags_version", F.map_entries("tag_versions").alias("t")).collect()
    assert [(r.customer_id, r.saved_from_tags_version, [tuple(e) for e in r.t]) for r in row] == [
        ("c1", 0, [("hotpot_fan", 3)])]


# --- the command line ---------------------------------------------------------------------------

def cli(mine, settings, test_env, *args):
    env = {**os.environ, **test_env, "HABITLAKE_HOME": mine.root, "HABITLAKE_STATE": str(settings.state_dir)}
    return subprocess.run([sys.executable, "-m", "habitlake.cli", "audience", *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_cli_count(mine, settings, test_env):
    done = cli(mine, settings, test_env, FAN_GOLD, "--count")
    assert (done.returncode, done.stdout) == (0, "1\n"), done.stderr


def test_cli_lists_as_csv(mine, settings, test_env):
    done = cli(mine, settings, test_env, "hotpot_fan", "--date", "2025-03-30", "--format", "csv")
    assert (done.returncode, done.stdout) == (0, "as_of_date,customer_id\n2025-03-30,c1\n2025-03-30,c2\n"), \
        done.stderr


def test_cli_invalid_expression_exits_2_with_the_message(mine, settings, test_env):
    done = cli(mine, settings, test_env, "tier = 'Gold' AND; DROP TABLE gold.customer_profile", "--count")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "audience \"tier = 'Gold' AND; DROP TABLE gold.customer_profile\", column 18: "
        "';' is not part of the expression language (one expression, no statements)",
        "    tier = 'Gold' AND; DROP TABLE gold.customer_profile",
        "                     ^",
    ]


# --- the benchmark's building blocks, tiny ------------------------------------------------------------

def _bench():
    """bench/audience.py (bench is a folder of scripts, not an installed package)."""
    import importlib.util

    from habitlake.settings import PROJECT_DIR

    spec = importlib.util.spec_from_file_location("bench_audience", PROJECT_DIR / "bench" / "audience.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_audience_smoke(spark, settings, tmp_path_factory):
    bench = _bench()
    root = settings.with_overrides(root=str(tmp_path_factory.mktemp("bench_audience_root")))
    assert bench.build_profile(spark, root, 2000) == 359
    profile = catalog.read(spark, root, "gold.customer_profile")
    sizes = profile.select(F.size("tags").alias("n")).agg(F.count("*"), F.min("n"), F.max("n")).first()
    assert tuple(sizes) == (2000, 8, 42)  # ~7% of 359 tag ids each (deterministic hashes)
    results = bench.time_counts(spark, root, repeat=1)
    assert [(e, n) for e, n, _ in results] == list(zip(bench.EXPRESSIONS, [19, 55, 86, 56]))
