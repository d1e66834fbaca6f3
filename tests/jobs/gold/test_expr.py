"""The expression language of tier rules, tags and audiences (jobs/gold/expr.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.gold import expr as E
from jobs.gold.expr import ExprError

SRC = "conf/tiers/default.yaml rule 'Gold'"

SCHEMA = T.StructType([
    T.StructField("customer_id", T.StringType()),
    T.StructField("monthly_spend", T.DoubleType()),
    T.StructField("repurchase_rate", T.DoubleType()),
    T.StructField("recency_days", T.IntegerType()),
    T.StructField("orders_90d", T.LongType()),
    T.StructField("spend_total", T.DecimalType(14, 2)),
    T.StructField("tier", T.StringType()),
    T.StructField("city", T.StringType()),
    T.StructField("customer_type", T.StringType()),
    T.StructField("is_churned", T.BooleanType()),
    T.StructField("last_order_date", T.DateType()),
    T.StructField("category_share", T.MapType(T.StringType(), T.DoubleType())),
    T.StructField("hour_share", T.ArrayType(T.DoubleType())),
    T.StructField("tags", T.ArrayType(T.StringType())),
])
FIELDS = E.fields_of(SCHEMA)


def _h(hour: int, share: float = 1.0) -> list[float]:
    return [share if h == hour else 0.0 for h in range(24)]


ROWS = [
    # id   monthly repurch recency o90 spend_total  tier     city     type          churned last_order
    ("c1", 6000.0, 0.70, 3, 20, "9000.00", "Platinum", "成都市", "consumer", False, dt.date(2025, 3, 30),
     {"hotpot_base": 0.30, "beef": 0.10}, _h(20), ["hotpot_fan", "west_sichuan"]),
    ("c2", 3000.0, 0.50, 10, 8, "4000.00", "Gold", "绵阳市", "consumer", False, dt.date(2025, 3, 21),
     {"milk": 0.8}, _h(9), ["high_frequency"]),
    ("c3", 1500.0, 0.20, 40, 2, "1500.00", "Silver", "重庆市", "restaurant", False, dt.date(2025, 2, 19),
     {"hotpot_base": 0.6}, _h(11), []),
    ("c4", 0.0, 0.00, 120, 0, "300.00", "Churned", "成都市", "consumer", True, dt.date(2024, 12, 1),
     {}, _h(0, 0.0), ["west_sichuan"]),
    ("c5", None, None, None, 0, None, None, None, "consumer", None, None, None, None, None),  # never bought
]


@pytest.fixture(scope="module")
def df(spark):
    import decimal

    rows = [r[:5] + (decimal.Decimal(r[5]) if r[5] else None,) + r[6:] for r in ROWS]
    return spark.createDataFrame(rows, SCHEMA)


def ids(df, text, **kw) -> list[str]:
    cond = E.compile(text, df.schema, source=SRC, **kw)
    return sorted(r.customer_id for r in df.filter(cond).select("customer_id").collect())


# --- parsing and checking (no Spark) --------------------------------------------------------------

def test_fields_of_maps_spark_types_to_expression_types():
    assert FIELDS == {
        "customer_id": "string", "monthly_spend": "number", "repurchase_rate": "number",
        "recency_days": "number", "orders_90d": "number", "spend_total": "number", "tier": "string",
        "city": "string", "customer_type": "string", "is_churned": "boolean", "last_order_date": "date",
        "category_share": "map<string,number>", "hour_share": "array<number>", "tags": "array<string>",
    }


def test_precedence_not_over_and_over_or():
    node = E.parse("a OR b AND NOT c", SRC)
    assert isinstance(node, E.Binary) and node.op == "OR"
    assert isinstance(node.right, E.Binary) and node.right.op == "AND"
    assert isinstance(node.right.right, E.Unary) and node.right.right.op == "NOT"


def test_keywords_are_case_insensitive_and_arithmetic_binds_tighter_than_comparison():
    node = E.parse("x + 2 * y >= 10 and not z between 1 AND 3", SRC)
    assert node.op == "AND"
    cmp = node.left
    assert cmp.op == ">=" and cmp.left.op == "+" and cmp.left.right.op == "*"
    assert isinstance(node.right, E.Unary) and isinstance(node.right.operand, E.Between)


def test_referenced_fields():
    node = E.parse("category_share['beef'] > 0.2 AND (tier IN ('Gold') OR abs(monthly_spend - 5) < 1) "
                   "AND tags CONTAINS 'x' AND hotpot_fan", SRC)
    assert E.referenced_fields(node) == {"category_share", "tier", "monthly_spend", "tags", "hotpot_fan"}


def test_check_returns_the_result_type():
    assert E.check(E.parse("monthly_spend * 2 + 1"), FIELDS) == "number"
    assert E.check(E.parse("category_share['beef']"), FIELDS) == "number"
    assert E.check(E.parse("coalesce(tier, 'none')"), FIELDS) == "string"
    assert E.check(E.parse("is_churned"), FIELDS) == "boolean"
    assert E.check(E.parse("last_order_date >= DATE '2025-01-01'"), FIELDS) == "boolean"


def _error(text, fields=FIELDS) -> str:
    with pytest.raises(ExprError) as info:
        E.check(E.parse(text, SRC), fields, SRC)
    return str(info.value)


def test_unknown_field_names_source_position_caret_and_suggestion():
    msg = _error("repurchase_rate >= 0.4 AND montly_spend > 2000")
    assert msg == (
        "conf/tiers/default.yaml rule 'Gold', column 28: unknown field 'montly_spend' "
        "(did you mean 'monthly_spend'?)\n"
        "    repurchase_rate >= 0.4 AND montly_spend > 2000\n"
        "                               ^"
    )


def test_unknown_field_on_a_later_line_reports_line_and_column():
    msg = _error("monthly_spend > 1\nAND tiers = 'Gold'")
    assert msg.splitlines() == [
        "conf/tiers/default.yaml rule 'Gold', line 2, column 5: unknown field 'tiers' (did you mean 'tier'?)",
        "    AND tiers = 'Gold'",
        "        ^",
    ]


def test_comparing_a_string_with_a_number_is_a_type_mismatch():
    msg = _error("tier > 5000")
    assert msg.splitlines()[0] == ("conf/tiers/default.yaml rule 'Gold', column 6: type mismatch: cannot compare "
                                   "string (field 'tier') with number (literal 5000) using >")


def test_a_date_compared_with_a_string_suggests_a_date_literal():
    msg = _error("last_order_date > '2025-01-01'")
    assert "type mismatch: cannot compare date (field 'last_order_date') with string" in msg
    assert "write a date as DATE 'YYYY-MM-DD'" in msg


@pytest.mark.parametrize("text, column, problem", [
    ("monthly_spend > 1; DROP TABLE silver.orders", 18, "';' is not part of the expression language"),
    ("`tier` = 'Gold'", 1, "backticks are not part of the expression language"),
    ('tier = "Gold"', 8, "strings use single quotes"),
    ("monthly_spend > 1 tier", 19, "unexpected 'tier' after the end of the expression"),
    ("eval(tier)", 1, "unknown function 'eval'"),
    ("tier = 'Gold' AND", 18, "the expression ends too early"),
    ("(monthly_spend > 1", 19, "expected ')', found the end of the expression"),
    ("tier = NULL", 8, "NULL can only be tested with IS NULL"),
    ("'x' IN tags", 8, "for membership in an array field write <field> CONTAINS 'x'"),
    ("1 < monthly_spend < 5", 19, "comparisons cannot be chained"),
    ("monthly_spend > 1 -- comment", 19, "comments are not part of the expression language"),
    ("DATE '2025-02-30' < last_order_date", 6, "'2025-02-30' is not an ISO date"),
    ("tier IN (monthly_spend)", 10, "IN lists hold literals"),
])
def test_syntax_errors(text, column, problem):
    with pytest.raises(ExprError) as info:
        E.parse(text, SRC)
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{SRC}, column {column}: ") and problem in first, first
    assert str(info.value).splitlines()[2] == "    " + " " * (column - 1) + "^"


@pytest.mark.parametrize("text, problem", [
    ("category_share > 0.1", "cannot compare field 'category_share' of type map<string,number> with >"),
    ("tags = 'x'", "cannot compare field 'tags' of type array<string> with ="),
    ("tier + 1 > 2", "the left side of + must be number, but field 'tier' is string"),
    ("monthly_spend AND is_churned", "the left side of AND must be boolean, but field 'monthly_spend' is number"),
    ("NOT tier", "the operand of NOT must be boolean, but field 'tier' is string"),
    ("tier IN ('Gold', 3)", "field 'tier' is string but the IN list holds number literal 3"),
    ("monthly_spend BETWEEN 'a' AND 3", "the bounds of BETWEEN must be number"),
    ("tags CONTAINS 3", "the item looked for in array<string> must be string"),
    ("tier CONTAINS 'G'", "CONTAINS tests membership in an array field, but field 'tier' is string"),
    ("category_share[1] > 0", "a map key must be string"),
    ("hour_share['x'] > 0", "an array index must be a whole number >= 0"),
    ("is_churned > FALSE", "booleans can only be compared with = or !="),
    ("coalesce(tier, 1) = 'x'", "coalesce() arguments must share one type, got string and number"),
])
def test_type_errors(text, problem):
    assert problem in _error(text)


def test_boolean_result_is_required_by_default(spark):
    with pytest.raises(ExprError, match=r"must be a condition \(boolean\), but it is number"):
        E.compile("monthly_spend * 2", SCHEMA, source=SRC)


def test_unknown_function_suggests_a_known_one():
    with pytest.raises(ExprError, match=r"unknown function 'greates' \(did you mean 'greatest'\?\)"):
        E.parse("greates(monthly_spend, 1) > 2", SRC)


def test_error_is_a_value_error_and_keeps_its_parts():
    with pytest.raises(ValueError) as info:
        E.check(E.parse("x > 1", SRC), FIELDS, SRC)
    err = info.value
    assert isinstance(err, ExprError)
    assert (err.source, err.pos, err.problem) == (SRC, 0, "unknown field 'x'")


# --- compiled to Spark columns ------------------------------------------------------------------------

def test_the_seed_tier_rules(df):
    assert ids(df, "monthly_spend > 5000 AND repurchase_rate > 0.6") == ["c1"]
    assert ids(df, "monthly_spend BETWEEN 2000 AND 5000 AND repurchase_rate BETWEEN 0.4 AND 0.6") == ["c2"]
    assert ids(df, "monthly_spend < 2000") == ["c3", "c4"]  # c5's null spend never matches
    assert ids(df, "recency_days < 7 and monthly_spend > 3000") == ["c1"]
    assert ids(df, "recency_days >= 90 OR recency_days IS NULL") == ["c4", "c5"]


def test_between_is_inclusive_and_not_between_negates(df):
    assert ids(df, "monthly_spend BETWEEN 1500 AND 3000") == ["c2", "c3"]
    assert ids(df, "monthly_spend NOT BETWEEN 1500 AND 3000") == ["c1", "c4"]


def test_in_not_in_and_null_tests(df):
    assert ids(df, "city IN ('成都市', '绵阳市')") == ["c1", "c2", "c4"]
    assert ids(df, "city NOT IN ('成都市')") == ["c2", "c3"]  # null city: unknown, not selected
    assert ids(df, "city IS NULL") == ["c5"]
    assert ids(df, "tier IS NOT NULL AND tier != 'Churned'") == ["c1", "c2", "c3"]


def test_map_access_treats_a_missing_key_and_a_null_map_as_zero(df):
    assert ids(df, "category_share['hotpot_base'] + category_share['beef'] >= 0.4") == ["c1", "c3"]
    assert ids(df, "category_share['hotpot_base'] = 0") == ["c2", "c4", "c5"]
    assert ids(df, "category_share['hotpot_base'] >= 0.3 AND customer_type != 'restaurant'") == ["c1"]


def test_array_index_and_contains(df):
    assert ids(df, "hour_share[20] >= 0.5") == ["c1"]
    assert ids(df, "hour_share[9] + hour_share[11] > 0") == ["c2", "c3"]
    assert ids(df, "tags CONTAINS 'west_sichuan'") == ["c1", "c4"]
    assert ids(df, "tags NOT CONTAINS 'west_sichuan'") == ["c2", "c3"]  # c5 has no tags array


def test_bare_boolean_field_dates_arithmetic_and_functions(df):
    assert ids(df, "is_churned") == ["c4"]
    assert ids(df, "NOT is_churned") == ["c1", "c2", "c3"]
    assert ids(df, "is_churned = FALSE AND last_order_date >= DATE '2025-03-01'") == ["c1", "c2"]
    assert ids(df, "spend_total / orders_90d > 400") == ["c1", "c2", "c3"]  # c4: division by zero -> null
    assert ids(df, "-monthly_spend < -2000 AND abs(repurchase_rate - 0.5) <= 0.2") == ["c1", "c2"]
    assert ids(df, "greatest(orders_90d, 10) = 10 AND lower(coalesce(tier, 'none')) = 'none'") == ["c5"]
    assert ids(df, "size(tags) = 2 OR size(category_share) = 0") == ["c1", "c4", "c5"]


def test_extra_fields_are_tag_ids_as_booleans(df):
    extra = {t: ("boolean", F.array_contains(F.col("tags"), t)) for t in ("hotpot_fan", "west_sichuan")}
    assert ids(df, "west_sichuan AND NOT is_churned", extra=extra) == ["c1"]
    assert ids(df, "hotpot_fan OR tier = 'Gold'", extra=extra) == ["c1", "c2"]
    with pytest.raises(ExprError, match="unknown field 'hotpot_fans' \\(did you mean 'hotpot_fan'\\?\\)"):
        E.compile("hotpot_fans", SCHEMA, source=SRC, extra=extra)


def test_a_compiled_condition_is_never_null(df):
    cond = E.compile("monthly_spend > 1000", SCHEMA, source=SRC)
    got = {r.customer_id: r.ok for r in df.select("customer_id", cond.alias("ok")).collect()}
    assert got == {"c1": True, "c2": True, "c3": True, "c4": False, "c5": False}


def test_non_boolean_compilation_gives_a_value(df):
    col = E.compile("category_share['hotpot_base'] * 100", SCHEMA, boolean=False)
    got = {r.customer_id: r.v for r in df.select("customer_id", col.alias("v")).collect()}
    assert got == {"c1": 30.0, "c2": 0.0, "c3": 60.0, "c4": 0.0, "c5": 0.0}


def test_strings_are_data_never_code(df):
    # a quote-escaped string with SQL in it is just a value that matches nothing
    assert ids(df, "tier = 'Gold''; DROP TABLE x; --'") == []
    assert ids(df, "tier = 'Gold' OR city = 'x'' OR ''1''=''1'") == ["c2"]
