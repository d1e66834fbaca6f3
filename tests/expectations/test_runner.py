"""The data-check runner: suites from YAML, one GX checkpoint run per call, severities, run-time
parameters, results as rows, Data Docs on disk, and clear errors for bad suites.

GX on Spark costs seconds per run, so the tests share one GX root (and so one cached context).
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from expectations.runner import (
    RESULT_ROW_SCHEMA,
    DataCheckFailed,
    load_suite,
    run_checks,
)

SUITE = "example_orders"
TABLE = "silver.orders"
RUN_ID = "2025-01-03"
SCHEMA = "order_id string, channel string, total_amount double"
# Edge rows that must pass: a null channel (not a vocabulary miss) and amounts on both bounds.
CLEAN_ROWS = [
    ("o1", "app", 0.0),
    ("o2", "web", 100000.0),
    ("o3", None, 12.5),
    ("o4", "mini_program", 30.0),
    ("o5", "store", 7.0),
    ("o6", "wholesale", 999.9),
]


@pytest.fixture(scope="module")
def gx_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gx_checks")


def _frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def _write_suite(folder: Path, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(textwrap.dedent(body), encoding="utf-8")


def test_example_suite_parses():
    suite = load_suite(SUITE)
    assert (suite.name, suite.table, suite.params) == (SUITE, TABLE, frozenset({"rows_expected"}))
    assert [(e.expectation, e.severity) for e in suite.expectations] == [
        ("expect_column_values_to_not_be_null", "critical"),
        ("expect_column_values_to_be_unique", "critical"),
        ("expect_table_row_count_to_equal", "critical"),
        ("expect_column_values_to_be_between", "critical"),
        ("expect_column_values_to_be_in_set", "warning"),
    ]


def test_passing_suite_reports_every_expectation_as_a_row(spark, gx_root):
    result = run_checks(_frame(spark, CLEAN_ROWS), SUITE, gx_root=gx_root, run_id=RUN_ID,
                        params={"rows_expected": 6})

    assert (result.success, result.critical_failures, result.warnings) == (True, [], [])
    assert (result.suite, result.table, result.run_id, result.evaluated) == (SUITE, TABLE, RUN_ID, 5)
    rows = result.rows()
    assert [(r["expectation"], r["column"], r["severity"], r["success"]) for r in rows] == [
        ("expect_column_values_to_not_be_null", "order_id", "critical", True),
        ("expect_column_values_to_be_unique", "order_id", "critical", True),
        ("expect_table_row_count_to_equal", None, "critical", True),
        ("expect_column_values_to_be_between", "total_amount", "critical", True),
        ("expect_column_values_to_be_in_set", "channel", "warning", True),
    ]
    assert {r["suite"] for r in rows} == {SUITE} and {r["run_id"] for r in rows} == {RUN_ID}
    assert [r["unexpected_count"] for r in rows] == [0, 0, None, 0, 0]
    assert rows[2]["observed_value"] == "6"
    assert json.loads(rows[2]["details"])["kwargs"] == {"value": 6}
    assert rows[0]["partial_unexpected_list"] == "[]"
    # The rows fit the documented schema of the results table.
    results = spark.createDataFrame(rows, RESULT_ROW_SCHEMA)
    assert results.columns == list(rows[0])


def test_critical_failure_raises_with_a_specific_message(spark, gx_root):
    rows = [(None if i in (3, 7) else f"o{i}", "app", 10.0) for i in range(10)]

    with pytest.raises(DataCheckFailed) as raised:
        run_checks(_frame(spark, rows), SUITE, gx_root=gx_root, run_id=RUN_ID,
                   params={"rows_expected": 10})

    result = raised.value.result
    assert str(raised.value) == (
        "data check failed for silver.orders (suite example_orders, run 2025-01-03): "
        "expect_column_values_to_not_be_null(order_id): 2 of 10 rows (20.0%) unexpected, "
        f"e.g. [None]; see {result.data_docs_page}"
    )
    assert result.success is False and result.warnings == []
    (failure,) = result.critical_failures
    assert (failure.expectation, failure.column, failure.kwargs) == (
        "expect_column_values_to_not_be_null", "order_id", {"column": "order_id"})
    assert (failure.unexpected_count, failure.unexpected_percent, failure.examples) == (2, 20.0, [None])
    # Nulls are not duplicates: the uniqueness check on the same column passes.
    assert [r["success"] for r in result.rows()] == [False, True, True, True, True]
    index = Path(result.data_docs_index)
    assert index.name == "index.html" and index.is_relative_to(gx_root)
    assert SUITE in index.read_text(encoding="utf-8")
    assert Path(result.data_docs_page).is_file()


def test_warning_failures_are_recorded_but_do_not_raise(spark, gx_root):
    rows = [*CLEAN_ROWS, ("o7", "fax", 1.0), ("o8", "Web", 2.0), ("o9", "fax", 3.0), ("o10", None, 4.0)]

    result = run_checks(_frame(spark, rows), SUITE, gx_root=gx_root, run_id=RUN_ID,
                        params={"rows_expected": 10})

    assert (result.success, result.critical_failures) == (True, [])
    (warning,) = result.warnings
    assert (warning.expectation, warning.column, warning.severity) == (
        "expect_column_values_to_be_in_set", "channel", "warning")
    assert (warning.unexpected_count, warning.unexpected_percent) == (3, 30.0)
    assert warning.examples == ["fax", "Web"]
    assert result.rows()[4]["unexpected_count"] == 3
    assert json.loads(result.rows()[4]["partial_unexpected_list"]) == ["fax", "Web", "fax"]


def test_params_are_applied_per_run_and_do_not_leak(spark, gx_root):
    df = _frame(spark, CLEAN_ROWS)

    wrong = run_checks(df, SUITE, gx_root=gx_root, run_id=RUN_ID, params={"rows_expected": 7},
                       raise_on_critical=False)
    right = run_checks(df, SUITE, gx_root=gx_root, run_id=RUN_ID, params={"rows_expected": 6})

    (failure,) = wrong.critical_failures
    assert (failure.expectation, failure.kwargs, failure.observed_value) == (
        "expect_table_row_count_to_equal", {"value": 7}, 6)
    assert "expect_table_row_count_to_equal(value=7): observed 6" in wrong.summary()
    assert (right.success, right.critical_failures) == (True, [])
    assert json.loads(right.rows()[2]["details"])["kwargs"] == {"value": 6}


def test_the_frame_is_left_cached_only_if_it_was(spark, gx_root):
    """run_checks materialises its own local checkpoint of the frame, outside GX's lock: the
    caller's frame is never cached by it, also when a critical check fails, and a frame the caller
    cached stays cached."""
    df = _frame(spark, CLEAN_ROWS)
    run_checks(df, SUITE, gx_root=gx_root, run_id=RUN_ID, params={"rows_expected": 6})
    assert not df.is_cached
    with pytest.raises(DataCheckFailed):
        run_checks(df, SUITE, gx_root=gx_root, run_id=RUN_ID, params={"rows_expected": 5})
    assert not df.is_cached

    cached = _frame(spark, CLEAN_ROWS).cache()
    run_checks(cached, SUITE, gx_root=gx_root, run_id=RUN_ID, params={"rows_expected": 6})
    assert cached.is_cached
    cached.unpersist()


def test_a_missing_param_is_refused_before_running(spark, gx_root):
    with pytest.raises(ValueError, match=r"needs run-time parameter\(s\) \['rows_expected'\]"):
        run_checks(_frame(spark, CLEAN_ROWS), SUITE, gx_root=gx_root, run_id=RUN_ID)


def test_changed_suite_is_updated_and_checks_derived_columns(spark, tmp_path):
    suites, root = tmp_path / "suites", tmp_path / "gx"
    _write_suite(suites, "derived", """\
        table: silver.orders
        expectations:
          - expectation: expect_column_values_to_not_be_null
            kwargs: {column: order_id}
        """)
    df = _frame(spark, CLEAN_ROWS).withColumn("id_length", F.length("order_id"))
    first = run_checks(df, load_suite("derived", suites), gx_root=root, run_id=RUN_ID)

    _write_suite(suites, "derived", """\
        table: silver.orders
        expectations:
          - expectation: expect_column_values_to_not_be_null
            kwargs: {column: order_id}
          - expectation: expect_column_values_to_be_between
            kwargs: {column: id_length, min_value: 2, max_value: 2}
            severity: warning
          - expectation: expect_column_values_to_not_be_null
            kwargs: {column: no_such_column}
            severity: critical
        """)
    second = run_checks(df, load_suite("derived", suites), gx_root=root, run_id=RUN_ID,
                        raise_on_critical=False)

    assert (first.evaluated, first.success) == (1, True)
    assert second.evaluated == 3
    assert [(r["column"], r["severity"], r["success"]) for r in second.rows()] == [
        ("order_id", "critical", True),
        ("id_length", "warning", True),
        ("no_such_column", "critical", False),
    ]
    (broken,) = second.critical_failures
    assert broken.unexpected_count is None and "no_such_column" in broken.error
    assert "expect_column_values_to_not_be_null(no_such_column): could not be evaluated" in (
        second.summary())


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("- expectation: expect_column_value_to_not_be_null\n    kwargs: {column: a}",
         "expectations[1] (expect_column_value_to_not_be_null): unknown expectation "
         "'expect_column_value_to_not_be_null' (did you mean expect_column_values_to_not_be_null?)"),
        ("- expectation: expect_column_values_to_be_in_set\n    kwargs: {value_set: [a]}",
         "expectations[1] (expect_column_values_to_be_in_set): missing required kwarg 'column'"),
        ("- expectation: expect_column_values_to_not_be_null\n    kwargs: {colum: a}",
         "expectations[1] (expect_column_values_to_not_be_null): missing required kwarg 'column'; "
         "unexpected kwarg 'colum'"),
        ("- expectation: expect_column_values_to_not_be_null\n    kwargs: {column: a}\n"
         "    severity: fatal",
         "expectations[1] (expect_column_values_to_not_be_null): severity 'fatal' must be one of "
         "['critical', 'warning']"),
        ("- expectation: expect_column_values_to_be_in_set\n"
         "    kwargs: {column: a, value_set: [{$param: codes}]}",
         "expectations[1] (expect_column_values_to_be_in_set): kwargs.value_set: a {$param: ...} "
         "must be a whole kwarg value, not nested inside one"),
        ("- kwargs: {column: a}",
         "expectations[1]: missing 'expectation' (a GX expectation name, "
         "e.g. expect_column_values_to_not_be_null)"),
    ],
    ids=["unknown-name", "missing-kwarg", "misspelt-kwarg", "bad-severity", "nested-param",
         "no-name"],
)
def test_bad_suite_gives_a_clear_error(tmp_path, entry, problem):
    _write_suite(tmp_path, "bad", "table: silver.orders\nexpectations:\n"
                 "  - expectation: expect_table_row_count_to_be_between\n"
                 "    kwargs: {min_value: 1}\n"
                 f"  {entry}\n")

    with pytest.raises(ValueError) as raised:
        load_suite("bad", tmp_path)

    assert str(raised.value) == f"{tmp_path / 'bad.yaml'}: {problem}"


def test_suite_without_table_or_expectations_is_refused(tmp_path):
    _write_suite(tmp_path, "empty", "table: silver.orders\nexpectations: []\n")
    _write_suite(tmp_path, "tableless", "expectations:\n  - expectation: expect_column_to_exist\n")

    with pytest.raises(ValueError, match=r"empty\.yaml: 'expectations' must be a non-empty list"):
        load_suite("empty", tmp_path)
    with pytest.raises(ValueError, match=r"tableless\.yaml: 'table' must name the table"):
        load_suite("tableless", tmp_path)
    with pytest.raises(FileNotFoundError, match="no suite 'missing'"):
        load_suite("missing", tmp_path)
