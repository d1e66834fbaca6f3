"""Bring-your-own-data mapping: validation errors, and the UCI Online Retail sample through mapping,
bronze and silver, checked against figures computed from the sample with plain `csv`/`gzip`."""
from __future__ import annotations

import copy
import csv
import gzip
from collections import defaultdict
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from habitlake import catalog
from habitlake.contract import load_contract
from habitlake.settings import PROJECT_DIR, RETAILER_FILE, Settings
from jobs.bronze import ingest
from jobs.landing import mapping
from jobs.silver import run as silver

MAPPING = PROJECT_DIR / "conf" / "mappings" / "online_retail.yaml"
SAMPLE = PROJECT_DIR / "tests" / "fixtures" / "online_retail_sample.csv.gz"
DATES = ("2010-12-16", "2011-07-26", "2011-08-12")  # the sample's dates; no other test uses them
CORE = ["products", "customers", "orders", "order_lines"]
UK = ZoneInfo("Europe/London")
CENT = Decimal("0.01")
KNOWN_OPS = "column, constant, template, multiply, row_number_within, sum, first, min, max, count, mode"


# --- validation (no Spark) ----------------------------------------------------------------------

def _write(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ValueError) as caught:
        mapping.load_mapping(path)
    return str(caught.value)


def test_shipped_mapping_loads():
    m = mapping.load_mapping(MAPPING)
    assert [t.source for t in m.targets] == ["orders", "order_lines", "products", "customers"]
    assert m.retailer == {"currency": "GBP", "timezone": "Europe/London"}
    assert [t.group_by for t in m.targets] == [("InvoiceNo",), None, ("StockCode",), ("CustomerID",)]


def test_unknown_target_source(tmp_path):
    path = _write(tmp_path, lambda raw: raw["targets"].update(shipments=copy.deepcopy(raw["targets"]["orders"])))
    assert _error(path) == (f"{path}: targets.shipments: unknown target source 'shipments' "
                            f"(the landing contract has: {', '.join(load_contract())})")


def test_unknown_target_column(tmp_path):
    path = _write(tmp_path, lambda raw: raw["targets"]["orders"]["columns"].update(order_no={"column": "InvoiceNo"}))
    assert _error(path) == f"{path}: targets.orders.columns.order_no: 'order_no' is not a column of landing source 'orders'"


def test_unknown_operation(tmp_path):
    path = _write(tmp_path, lambda raw: raw["targets"]["orders"]["columns"].update(
        status={"regex_map": {"^C": "cancelled"}}))
    assert _error(path) == (f"{path}: targets.orders.columns.status: unknown operation 'regex_map' "
                            f"(known: {KNOWN_OPS})")


def test_missing_input_column(tmp_path):
    path = _write(tmp_path, lambda raw: raw["targets"]["order_lines"]["columns"].update(quantity={"column": "Qty"}))
    assert _error(path) == f"{path}: targets.order_lines.columns.quantity: input column 'Qty' is not in input.columns"


def test_missing_input_column_inside_an_aggregation(tmp_path):
    path = _write(tmp_path, lambda raw: raw["targets"]["orders"]["columns"].update(
        total_amount={"sum": {"multiply": ["Quantity", "Price"]}}))
    assert _error(path) == f"{path}: targets.orders.columns.total_amount.sum: input column 'Price' is not in input.columns"


def test_grouped_target_needs_an_aggregation_for_other_columns(tmp_path):
    path = _write(tmp_path, lambda raw: raw["targets"]["orders"]["columns"].update(customer_id={"column": "CustomerID"}))
    assert _error(path) == (f"{path}: targets.orders.columns.customer_id: input column 'CustomerID' is not a "
                            f"group_by column: wrap it in an aggregation (sum, first, min, max, count, mode)")


# --- the expression language on hand-written rows ------------------------------------------------

TINY = ("id,code,qty,price,when,kind\nA1,x.0,2,1.50,01/02/2024 10:30,C9\nA1,,3,,01/02/2024 10:31,S1\n"
        "A1,x.0,-1,1.50,01/02/2024 10:32,S1\nB2,,1,0.10,bad,S2\n")
TINY_COLUMNS = ["id", "code", "qty", "price", "when", "kind"]
WHEN = {"column": "when", "parse_timestamp": "dd/MM/yyyy HH:mm"}
WHEN_DAY = {**WHEN, "format": "yyyy-MM-dd"}


def _tiny(tmp_path: Path, targets: dict) -> tuple[Path, Path]:
    data = tmp_path / "tiny.csv"
    data.write_text(TINY, encoding="utf-8")
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"input": {"columns": TINY_COLUMNS}, "targets": targets}), encoding="utf-8")
    return path, data


def _built(spark, path: Path, data: Path):
    m = mapping.load_mapping(path)
    rows = mapping.read_input(spark, m, str(data))
    built = mapping.build_target(rows, m.targets[0], load_contract()[m.targets[0].source])
    return built.drop(mapping.POS)


def _orders_row(**values) -> tuple:
    return tuple(values.get(c) for c in load_contract()["orders"].columns) + (values.get("day"),)


def test_row_grain_expressions(spark, tmp_path):
    columns = {
        "order_id": {"template": "{id}-{kind}"},
        "customer_id": {"column": "code", "strip_suffix": ".0"},
        "order_time": WHEN,
        "channel": {"column": "kind", "value_map": {"C9": "web", "S1": "store"}},
        "payment_method": {"column": "kind", "value_map": {"C9": "card"}, "default": "cash"},
        "status": {"column": "kind", "match": [{"regex": "^C", "value": "cancelled"}], "default": "delivered"},
        "total_amount": {"multiply": ["qty", "price", 2], "decimals": 1},
        "promo_id": {"row_number_within": ["id"]},
        "warehouse_id": {"constant": 7},
    }
    built = _built(spark, *_tiny(tmp_path, {"orders": {"grain": "row", "date": WHEN_DAY, "columns": columns}}))
    common = {"warehouse_id": "7"}
    assertDataFrameEqual(built, spark.createDataFrame([
        _orders_row(order_id="A1-C9", customer_id="x", order_time="2024-02-01 10:30:00", channel="web",
                    payment_method="card", status="cancelled", total_amount="6.0", promo_id="1",
                    day="2024-02-01", **common),
        _orders_row(order_id="A1-S1", order_time="2024-02-01 10:31:00", channel="store", payment_method="cash",
                    status="delivered", promo_id="2", day="2024-02-01", **common),
        _orders_row(order_id="A1-S1", customer_id="x", order_time="2024-02-01 10:32:00", channel="store",
                    payment_method="cash", status="delivered", total_amount="-3.0", promo_id="3",
                    day="2024-02-01", **common),
        _orders_row(order_id="B2-S2", channel="S2", payment_method="cash", status="delivered",
                    total_amount="0.2", promo_id="1", **common),
    ], built.schema))


def test_grouped_expressions(spark, tmp_path):
    columns = {
        "order_id": {"column": "id"},
        "customer_id": {"first": "code"},
        "order_time": {"min": WHEN},
        "channel": {"count": "price"},
        "total_amount": {"sum": {"multiply": ["qty", "price"]}},
        "coupon_value": {"max": "price", "positive_only": True},
        "discount_amount": {"max": "qty", "numeric": True},
        "status": {"mode": "kind"},
    }
    targets = {"orders": {"grain": {"group_by": ["id"]}, "date": {"min": WHEN_DAY}, "columns": columns}}
    built = _built(spark, *_tiny(tmp_path, targets))
    assertDataFrameEqual(built, spark.createDataFrame([
        _orders_row(order_id="A1", customer_id="x.0", order_time="2024-02-01 10:30:00", channel="2",
                    total_amount="1.50", coupon_value="1.50", discount_amount="3", status="S1", day="2024-02-01"),
        _orders_row(order_id="B2", channel="1", total_amount="0.10", coupon_value="0.10", discount_amount="1",
                    status="S2"),
    ], built.schema))


def test_rows_without_a_business_date_stop_the_run(spark, settings, tmp_path):
    columns = {"order_id": {"column": "id"}}
    path, data = _tiny(tmp_path, {"orders": {"grain": "row", "date": WHEN_DAY, "columns": columns}})
    with pytest.raises(ValueError) as caught:
        mapping.run(spark, settings, path, str(data))
    assert str(caught.value) == (f"{path}: targets.orders.date: 1 row(s) have no business date (the "
                                 f"expression gave no yyyy-MM-dd value); nothing was written")
    assert not (Path(settings.landing) / "orders" / "dt=2024-02-01").exists()


# --- figures from the sample, with plain Python ------------------------------------------------

def _money(text: str) -> Decimal:
    """A price as silver reads it: decimal(14,2), rounded half up."""
    return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def expected() -> dict:
    with gzip.open(SAMPLE, "rt", encoding="utf-8", newline="") as f:
        lines = list(csv.DictReader(f))
    customer_of = {}
    best_price: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        customer_of.setdefault(line["InvoiceNo"], line["CustomerID"])
        best_price[line["StockCode"]] = max(best_price[line["StockCode"]], _money(line["UnitPrice"]))
    anonymous = {inv for inv, cust in customer_of.items() if not cust}
    cancelled = {inv for inv in customer_of if inv.startswith("C")} - anonymous  # rule order: id first
    sold = set(customer_of) - anonymous - cancelled
    line_rules: dict[str, int] = defaultdict(int)
    for line in lines:  # order_lines rules in the order silver applies them
        if line["InvoiceNo"] not in sold:
            line_rules["order_not_in_silver"] += 1
        elif best_price[line["StockCode"]] <= 0:
            line_rules["unknown_product"] += 1
        elif int(line["Quantity"]) < 0:
            line_rules["negative_quantity"] += 1
        elif _money(line["UnitPrice"]) <= 0:
            line_rules["bad_price"] += 1
    first_sale = {}
    for line in lines:
        if line["InvoiceNo"] in sold:
            first_sale.setdefault(line["InvoiceDate"][:10], (line["InvoiceNo"], line["InvoiceDate"]))
    quoted = next((line["StockCode"], line["Description"]) for line in lines if '"' in line["Description"])
    return {
        "lines": len(lines), "invoices": len(customer_of), "anonymous": len(anonymous),
        "cancelled": len(cancelled), "sold": len(sold), "line_rules": dict(line_rules),
        "products": len(best_price), "unpriced_products": sum(1 for p in best_price.values() if p <= 0),
        "customers": len({c for c in customer_of.values() if c}), "first_sale": first_sale, "quoted": quoted,
    }


def test_sample_holds_the_dirt_the_mapping_must_route(expected):
    assert (expected["invoices"], expected["cancelled"], expected["anonymous"]) == (300, 48, 47)
    assert expected["line_rules"]["bad_price"] >= 1 and expected["unpriced_products"] >= 1


# --- the sample through mapping, bronze and silver ----------------------------------------------

def _landing_files(settings: Settings) -> dict[str, tuple[bytes, int]]:
    root = Path(settings.landing)
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for source in CORE for day in DATES for p in sorted((root / source / f"dt={day}").glob("*"))}


@pytest.fixture(scope="module")
def uci(spark, settings, test_env):
    retailer_file = settings.state_dir / RETAILER_FILE
    saved = retailer_file.read_bytes() if retailer_file.exists() else None
    try:
        first = mapping.run(spark, settings, MAPPING, str(SAMPLE))
        files = _landing_files(settings)
        again = mapping.run(spark, settings, MAPPING, str(SAMPLE))
        recorded = yaml.safe_load(retailer_file.read_text(encoding="utf-8"))
        later = Settings.from_env(test_env)  # what later runs on this lakehouse see
        start, end = first["dates"][0], first["dates"][-1]
        ingest.run(spark, settings, start, end, sources=list(first["sources"]))
        silver.run(spark, later, start, end, CORE, progress=None)
        yield {"first": first, "again": again, "files": files, "files_again": _landing_files(settings),
               "recorded": recorded, "later": later}
    finally:  # the suite shares one root: leave no retailer behind for the other tests
        if saved is None:
            retailer_file.unlink(missing_ok=True)
        else:
            retailer_file.write_bytes(saved)


def _quarantine(spark, settings, source: str) -> dict[str, int]:
    rows = (catalog.read(spark, settings, "silver.quarantine")
            .filter((F.col("source") == source) & F.col("dt").isin(*DATES))
            .groupBy("rule").count().collect())
    return {r["rule"]: r["count"] for r in rows}


def test_landing_rows_and_dates(uci, expected):
    sources = uci["first"]["sources"]
    assert {name: s["rows"] for name, s in sources.items()} == {
        "orders": expected["invoices"], "order_lines": expected["lines"],
        "products": expected["products"], "customers": expected["customers"] + 1}  # + the empty id
    assert uci["first"]["dates"] == list(DATES)
    assert sources["orders"]["files"] == [f"orders/dt={d}/orders_{d.replace('-', '')}_byod.csv" for d in DATES]


def test_landing_header_is_the_contract(uci, settings):
    contract = load_contract()
    for name in CORE:
        path = Path(settings.landing) / uci["first"]["sources"][name]["files"][0]
        assert path.read_text(encoding="utf-8").split("\n", 1)[0] == ",".join(contract[name].columns)


def test_rerun_writes_identical_files(uci):
    assert len(uci["files"]) == 4 * len(DATES)
    assert uci["files_again"] == uci["files"]  # same names, bytes and modification times
    assert all(s["unchanged"] == len(DATES) for s in uci["again"]["sources"].values())


def test_retailer_currency_and_timezone_recorded(uci):
    assert uci["recorded"] == {"currency": "GBP", "timezone": "Europe/London"}
    assert (uci["later"].currency, uci["later"].timezone) == ("GBP", "Europe/London")


def test_orders_quarantine_and_silver(uci, spark, settings, expected):
    quarantined = _quarantine(spark, settings, "orders")
    assert quarantined == {"cancelled_order": expected["cancelled"], "missing_customer_id": expected["anonymous"]}
    orders = catalog.read(spark, settings, "silver.orders").filter(F.col("order_date").isin(*DATES))
    assert orders.count() == expected["sold"]


def test_order_lines_quarantine(uci, spark, settings, expected):
    assert _quarantine(spark, settings, "order_lines") == expected["line_rules"]


def test_dimensions_quarantine(uci, spark, settings, expected):
    assert _quarantine(spark, settings, "products") == {"bad_price": expected["unpriced_products"]}
    assert _quarantine(spark, settings, "customers") == {"missing_customer_id": 1}


def test_quoted_description_survives_to_silver(uci, spark, settings, expected):
    product_id, description = expected["quoted"]
    names = [r.product_name for r in catalog.read(spark, settings, "silver.products")
             .filter(F.col("product_id") == product_id).collect()]
    assert names == [description.strip()]


@pytest.mark.parametrize("day", [DATES[0], DATES[1]])  # winter (GMT) and summer (BST)
def test_order_time_is_uk_time_converted_to_utc(uci, spark, settings, expected, day):
    invoice, uk_time = expected["first_sale"][day]
    utc = (datetime.fromisoformat(uk_time).replace(tzinfo=UK).astimezone(timezone.utc)
           .strftime("%Y-%m-%d %H:%M:%S"))
    row = (catalog.read(spark, settings, "silver.orders").filter(F.col("order_id") == invoice)
           .select(F.date_format("order_ts", "yyyy-MM-dd HH:mm:ss").alias("utc"),
                   F.date_format("order_ts_local", "yyyy-MM-dd HH:mm:ss").alias("local")).collect())
    assert [(r.utc, r.local) for r in row] == [(utc, uk_time)]


def test_input_columns_missing_from_the_file_header(spark, settings, tmp_path):
    path = _write(tmp_path, lambda raw: raw["input"]["columns"].append("Channel"))
    with pytest.raises(ValueError) as caught:
        mapping.run(spark, settings, path, str(SAMPLE))
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
    assert str(caught.value) == f"{path}: input.columns: ['Channel'] not in the header of {SAMPLE} (it has {header})"
