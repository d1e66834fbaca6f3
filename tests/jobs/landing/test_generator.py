"""Tests of the synthetic landing generator: layout per the contract, determinism, truth consistent
with the files, dirt exactly where truth says and at the requested rate, and the planted signal."""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from habitlake.contract import load_contract
from jobs.landing.generator import generate
from jobs.landing.generator.customers import count_test_accounts

pytestmark = pytest.mark.fast

CUSTOMERS = 300
DAYS = 60
START = "2025-01-01"
DIRT = 0.02
SIGMAS = 4.0
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SALE_STATUSES = ("paid", "delivered")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One default-dirt run of CUSTOMERS x DAYS, shared by the module."""
    root = tmp_path_factory.mktemp("gen")
    summary = generate(root / "landing", root / "truth", customers=CUSTOMERS, days=DAYS, start=START, seed=42,
                       dirt=DIRT, progress=False)
    return {"landing": root / "landing", "truth": root / "truth", "summary": summary}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small run without dirt."""
    root = tmp_path_factory.mktemp("clean")
    generate(root / "landing", root / "truth", customers=150, days=20, start=START, seed=5, dirt=0.0, progress=False)
    return {"landing": root / "landing", "truth": root / "truth"}


def files_of(paths: dict) -> pl.DataFrame:
    return pl.read_csv(paths["truth"] / "files.csv", infer_schema=False).with_columns(pl.col("rows").cast(pl.Int64))


def dirt_of(paths: dict) -> pl.DataFrame:
    return pl.read_csv(paths["truth"] / "dirt.csv", infer_schema=False).with_columns(pl.col("line").cast(pl.Int64))


def raw_lines(paths: dict, file: str, encoding: str) -> list[str]:
    """Data lines of a landing file (CSV header dropped)."""
    text = (paths["landing"] / file).read_bytes().decode(encoding)
    lines = text.split("\n")[:-1]
    return lines[1:] if file.endswith(".csv") else lines


def load(paths: dict, source: str) -> pl.DataFrame:
    """All rows of a source as strings, with _file, _line (1-based) and _dt."""
    frames = []
    for file, encoding in files_of(paths).filter(pl.col("source") == source).select("file", "encoding").rows():
        if file.endswith(".csv"):
            text = (paths["landing"] / file).read_bytes().decode(encoding)
            frame = pl.read_csv(text.encode("utf-8"), infer_schema=False)
        else:
            records = []
            for line in raw_lines(paths, file, encoding):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    records.append({"_malformed": True})
            frame = pl.DataFrame(records, infer_schema_length=None)
        frames.append(frame.with_columns(pl.lit(file).alias("_file"), pl.int_range(1, pl.len() + 1).alias("_line"),
                                         pl.lit(file.split("dt=")[1][:10]).alias("_dt")))
    return pl.concat(frames, how="diagonal_relaxed")


def without_dirt(frame: pl.DataFrame, dirt: pl.DataFrame, kinds: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Rows not recorded as dirt (of the given kinds)."""
    marked = dirt if kinds is None else dirt.filter(pl.col("kind").is_in(kinds))
    marked = marked.select(pl.col("file").alias("_file"), pl.col("line").cast(pl.Int32).alias("_line"))
    return frame.join(marked, on=["_file", "_line"], how="anti", maintain_order="left")


def sales(paths: dict, dirt: pl.DataFrame) -> pl.DataFrame:
    """Clean sale orders (no returns, no dirt rows), with persona and parsed time."""
    orders = without_dirt(load(paths, "orders"), dirt)
    truth = pl.read_csv(paths["truth"] / "customers.csv", infer_schema=False)
    return (orders.filter(pl.col("status").is_in(SALE_STATUSES) & pl.col("ref_order_id").is_null())
            .join(truth.select("customer_id", "persona"), on="customer_id", how="left")
            .with_columns(pl.col("order_time").str.to_datetime("%Y-%m-%d %H:%M:%S").alias("t"),
                          pl.col("total_amount").cast(pl.Float64)))


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    def once(name: str, seed: int) -> dict[str, str]:
        generate(tmp_path / name / "landing", tmp_path / name / "truth", customers=120, days=15, seed=seed,
                 progress=False)
        return digest(tmp_path / name)

    first, second, other = once("a", 7), once("b", 7), once("c", 8)
    assert first == second
    assert len(first) > 100
    same_name = set(first) & set(other)
    orders = [f for f in same_name if f.startswith("landing/orders/")]
    assert orders and all(first[f] != other[f] for f in orders)


def test_layout_follows_the_contract(run: dict) -> None:
    contract = load_contract()
    files = files_of(run)
    assert sorted(files["file"].to_list()) == sorted(
        str(p.relative_to(run["landing"])) for p in run["landing"].rglob("*") if p.is_file())
    for file, source_name in files.select("file", "source").rows():
        source = contract[source_name]
        day = file.split("dt=")[1][:10]
        part = int(file.rsplit("_part", 1)[1][:2]) if source_name == "events" else None
        assert file == f"{source.day_dir(day)}/{source.file_name(day, part)}"
    for name, source in contract.items():
        frame = load(run, name)
        assert [c for c in frame.columns if not c.startswith("_")] == list(source.columns), name
    holidays = files.filter(pl.col("source") == "holidays")
    assert holidays["file"].to_list() == ["holidays/dt=2025-01-01/holidays_20250101.csv"]
    spring = load(run, "holidays").filter(pl.col("holiday_code") == "spring_festival")
    assert spring.filter(pl.col("is_day_off") == "1")["date"].to_list() == [
        f"2025-{d}" for d in ("01-28", "01-29", "01-30", "01-31", "02-01", "02-02", "02-03", "02-04")]


def test_records_fall_on_their_file_day(run: dict) -> None:
    dirt = dirt_of(run)
    events = without_dirt(load(run, "events"), dirt)
    assert (events["event_time"].str.slice(0, 10) == events["_dt"]).all()
    orders = without_dirt(load(run, "orders"), dirt)
    assert (orders["updated_at"].str.slice(0, 10) == orders["_dt"]).all()
    for source, column in (("deliveries", "promised_start"), ("reviews", "created_at"), ("complaints", "created_at")):
        frame = load(run, source)
        assert (frame[column].str.slice(0, 10) == frame["_dt"]).all(), source


def test_summary_counts_the_lines_written(run: dict) -> None:
    files = files_of(run)
    for name, figures in run["summary"].items():
        mine = files.filter(pl.col("source") == name)
        assert figures["files"] == mine.height
        assert figures["rows"] == mine["rows"].sum()
        assert figures["bytes"] == sum((run["landing"] / f).stat().st_size for f in mine["file"])
        assert figures["rows"] == sum(len(raw_lines(run, f, e)) for f, e in mine.select("file", "encoding").rows())


def test_snapshots_full_first_then_only_new_and_changed(run: dict) -> None:
    customers = load(run, "customers")
    truth = pl.read_csv(run["truth"] / "customers.csv", infer_schema=False)
    first = customers.filter(pl.col("_dt") == START)
    assert first.height == truth.filter(pl.col("signup_date") <= START).height
    later = customers.filter(pl.col("_dt") > START)
    assert (later["updated_at"].str.slice(0, 10) == later["_dt"]).all()
    products = load(run, "products")
    assert products.filter(pl.col("_dt") == START).height == products["product_id"].n_unique()
    changed = products.filter(pl.col("_dt") > START)
    assert changed.height > 0 and (changed["updated_at"].str.slice(0, 10) == changed["_dt"]).all()


def _scan_counts(run: dict) -> dict[tuple[str, str], int]:
    """Dirt found by scanning the files, per (kind, source)."""
    products = set(load(run, "products")["product_id"])
    orders, lines, events = load(run, "orders"), load(run, "order_lines"), load(run, "events")
    returns = set(orders.filter(pl.col("status") == "returned")["order_id"])
    last_year = int(START[:4]) + 1
    counts = {}
    for name, frame, column in (("orders", orders, "order_time"), ("events", events, "event_time")):
        times = frame.filter(pl.col(column).is_not_null())[column]
        counts[("mixed_date_format", name)] = int((~times.str.contains(TIMESTAMP.pattern)).sum())
        standard = times.filter(times.str.contains(TIMESTAMP.pattern))
        counts[("future_timestamp", name)] = int((standard.str.slice(0, 4).cast(pl.Int64) > last_year).sum())
    counts[("missing_customer_id", "orders")] = orders["customer_id"].null_count()
    sale_lines = lines.filter(~pl.col("order_id").is_in(list(returns)))
    counts[("negative_quantity", "order_lines")] = int(sale_lines["quantity"].str.starts_with("-").sum())
    counts[("price_in_fen", "order_lines")] = int((~lines["unit_price"].str.contains(".", literal=True)).sum())
    counts[("unknown_product", "order_lines")] = int((~lines["product_id"].is_in(list(products))).sum())
    known = events.filter(pl.col("product_id").is_not_null())["product_id"]
    counts[("unknown_product", "events")] = int((~known.is_in(list(products))).sum())
    counts[("malformed_json", "events")] = int(events["_malformed"].fill_null(False).sum())
    signup = load(run, "customers")["signup_date"]
    counts[("mixed_date_format", "customers")] = int((~signup.str.contains(DATE.pattern)).sum())
    return counts


def test_dirt_found_by_scanning_equals_truth(run: dict) -> None:
    dirt = dirt_of(run)
    recorded = {(k, s): n for k, s, n in dirt.group_by("kind", "source").len().rows()}
    for key, found in _scan_counts(run).items():
        assert recorded.get(key, 0) == found, key
    for source in ("orders", "order_lines", "events"):
        duplicates = 0
        for file, encoding in files_of(run).filter(pl.col("source") == source).select("file", "encoding").rows():
            lines = raw_lines(run, file, encoding)
            duplicates += len(lines) - len(set(lines))
        assert recorded[("duplicate", source)] == duplicates
    test_accounts = pl.read_csv(run["truth"] / "customers.csv", infer_schema=False).filter(pl.col("is_test") == "true")
    assert test_accounts.height == count_test_accounts(CUSTOMERS, DIRT) == recorded[("test_account", "customers")]


def test_each_recorded_dirt_row_shows_its_kind(run: dict) -> None:
    dirt = dirt_of(run)
    frames = {s: load(run, s) for s in ("orders", "order_lines", "events", "customers")}
    products = set(load(run, "products")["product_id"])
    sale_ids = set(frames["orders"].filter(pl.col("status") == "paid")["order_id"])
    checks = {
        "missing_customer_id": lambda r: r["customer_id"] is None,
        "negative_quantity": lambda r: r["quantity"].startswith("-"),
        "price_in_fen": lambda r: "." not in r["unit_price"] and "." not in r["line_amount"],
        "unknown_product": lambda r: r["product_id"] not in products,
        "future_timestamp": lambda r: int((r.get("order_time") or r.get("event_time"))[:4]) > 2026,
        "mixed_date_format": lambda r: not (TIMESTAMP.match(r.get("order_time") or r.get("event_time") or "")
                                            or DATE.match(r.get("signup_date") or "")),
        "malformed_json": lambda r: bool(r["_malformed"]),
        "status_update": lambda r: r["status"] in ("delivered", "refunded") and r["order_id"] in sale_ids
        and r["updated_at"] > r["order_time"],
        "test_account": lambda r: (r["name"].startswith(("测试", "test")) and r["phone"].startswith("10000000")),
    }
    for kind, source, file, line, key in dirt.filter(pl.col("kind") != "duplicate").rows():
        frame = frames[source]
        row = frame.filter((pl.col("_file") == file) & (pl.col("_line") == line)).row(0, named=True)
        assert checks[kind](row), (kind, file, line)
        if source in ("orders", "customers"):
            assert row[{"orders": "order_id", "customers": "customer_id"}[source]] == key


def test_dirt_rates_are_as_requested(run: dict) -> None:
    dirt = dirt_of(run)
    counts = {(k, s): n for k, s, n in dirt.group_by("kind", "source").len().rows()}
    orders = without_dirt(load(run, "orders"), dirt, ("duplicate", "status_update"))
    eligible = {
        "orders": orders.filter(pl.col("ref_order_id").is_null()).height,
        "order_lines": without_dirt(load(run, "order_lines"), dirt, ("duplicate",))
        .filter(~pl.col("order_id").is_in(list(orders.filter(pl.col("status") == "returned")["order_id"]))).height,
        "events": without_dirt(load(run, "events"), dirt, ("duplicate",)).height,
    }
    kinds = {"orders": ("duplicate", "missing_customer_id", "future_timestamp", "mixed_date_format"),
             "order_lines": ("duplicate", "negative_quantity", "price_in_fen", "unknown_product"),
             "events": ("duplicate", "future_timestamp", "mixed_date_format", "malformed_json")}
    for source, source_kinds in kinds.items():
        n = eligible[source]
        for kind in source_kinds:
            tolerance = SIGMAS * math.sqrt(n * DIRT * (1 - DIRT)) + 1
            assert abs(counts[(kind, source)] - n * DIRT) <= tolerance, (kind, source, counts[(kind, source)], n)


def test_no_dirt_at_rate_zero(clean: dict) -> None:
    assert dirt_of(clean).height == 0
    assert set(files_of(clean)["encoding"]) == {"utf-8"}
    orders = load(clean, "orders")
    assert orders["order_id"].n_unique() == orders.height
    assert orders["order_time"].str.contains(TIMESTAMP.pattern).all()
    assert "_malformed" not in load(clean, "events").columns
    truth = pl.read_csv(clean["truth"] / "customers.csv", infer_schema=False)
    assert (truth["is_test"] == "false").all()


def test_gbk_files_are_listed_and_decode_only_as_gbk(run: dict) -> None:
    files = files_of(run)
    gbk = files.filter(pl.col("encoding") == "gbk")["file"].to_list()
    csv_files = files.filter(pl.col("file").str.ends_with(".csv")).height
    assert 0.05 * csv_files <= len(gbk) <= 0.3 * csv_files
    for file in gbk:
        payload = (run["landing"] / file).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            payload.decode("utf-8")
        assert payload.decode("gbk").split("\n")[0] == ",".join(load_contract()[file.split("/")[0]].columns)
    for file in files.filter(pl.col("encoding") == "utf-8")["file"]:
        (run["landing"] / file).read_bytes().decode("utf-8")


def test_truth_experience_counts_match_the_files(run: dict) -> None:
    truth = pl.read_csv(run["truth"] / "customers.csv", infer_schema=False).with_columns(
        pl.col("late_deliveries").cast(pl.Int64), pl.col("complaints").cast(pl.Int64))
    owners = load(run, "orders").filter(pl.col("customer_id").is_not_null()).unique("order_id", keep="first")
    deliveries = load(run, "deliveries")
    bad = deliveries.filter((pl.col("status") == "failed") | (pl.col("delivered_at") > pl.col("promised_end")))
    bad = bad.join(owners.select("order_id", "customer_id"), on="order_id", how="left")
    complaints = load(run, "complaints").filter(pl.col("kind") == "complaint")
    assert truth["late_deliveries"].sum() == bad.height > 0
    assert truth["complaints"].sum() == complaints.height > 0
    # deliveries of orders whose only row lost its customer id (dirt) cannot be attributed by scanning
    late = bad.filter(pl.col("customer_id").is_not_null()).group_by("customer_id").len("late")
    filed = complaints.group_by("customer_id").len("filed")
    joined = (truth.join(late, on="customer_id", how="left").join(filed, on="customer_id", how="left")
              .with_columns(pl.col("late", "filed").fill_null(0)))
    assert (joined["filed"] == joined["complaints"]).all()
    unattributed = bad["customer_id"].null_count()
    mismatch = joined.filter(pl.col("late") != pl.col("late_deliveries"))
    assert (mismatch["late_deliveries"] - mismatch["late"]).sum() == unattributed


def test_churned_customers_stop_buying(run: dict) -> None:
    dirt = dirt_of(run)
    truth = pl.read_csv(run["truth"] / "customers.csv", infer_schema=False).filter(pl.col("churned") == "true")
    sold = sales(run, dirt).join(truth.select("customer_id", "churn_date"), on="customer_id")
    assert truth.height > 0
    assert sold.filter(pl.col("_dt") >= pl.col("churn_date")).height == 0
    assert sold.filter(pl.col("_dt") < pl.col("churn_date"))["customer_id"].n_unique() > 0


def test_planted_bundles_have_high_lift(run: dict) -> None:
    lines = load(run, "order_lines").filter(~pl.col("quantity").str.starts_with("-"))
    baskets = lines.select("order_id", "product_id").unique()
    n = baskets["order_id"].n_unique()
    for bundle in pl.read_csv(run["truth"] / "bundles.csv").iter_rows(named=True):
        a = set(baskets.filter(pl.col("product_id").is_in(bundle["antecedent_products"].split(";")))["order_id"])
        b = set(baskets.filter(pl.col("product_id").is_in(bundle["consequent_products"].split(";")))["order_id"])
        lift = len(a & b) * n / (len(a) * len(b))
        assert lift > 3, (bundle["bundle_id"], lift)
        assert len(a & b) / len(a) >= bundle["attach_prob"] * 0.8


def test_persona_behaviour_is_planted(run: dict) -> None:
    sold = sales(run, dirt_of(run))
    stats = {row["persona"]: row for row in sold.group_by("persona").agg(
        pl.col("total_amount").mean().alias("value"), pl.col("t").dt.hour().median().alias("hour"),
        (pl.col("t").dt.weekday() >= 6).mean().alias("weekend")).iter_rows(named=True)}
    households = sold.filter(pl.col("persona") != "restaurant_buyer")["total_amount"].mean()
    assert stats["restaurant_buyer"]["value"] > 5 * households
    assert stats["office_evening"]["hour"] >= 19
    assert stats["restaurant_buyer"]["hour"] <= 8
    assert 6 <= stats["elderly_morning"]["hour"] <= 10
    assert stats["family_weekly"]["weekend"] > 0.4 > stats["office_evening"]["weekend"]
    channels = sold.group_by("persona").agg(pl.col("channel").mode().first()).rows()
    assert dict(channels)["restaurant_buyer"] == "wholesale" and dict(channels)["elderly_morning"] == "store"


def test_spring_festival_spike_is_planted(run: dict) -> None:
    spikes = pl.read_csv(run["truth"] / "holidays_spikes.csv")
    window = spikes.filter((pl.col("holiday_code") == "spring_festival") & (pl.col("category_l2") == "dumplings"))
    start, end = window.row(0, named=True)["start_date"], window.row(0, named=True)["end_date"]
    products = load(run, "products").unique("product_id").select("product_id", "category_l2")
    spiked = ("dumplings", "frozen_meat", "hotpot_base", "pork")
    lines = (without_dirt(load(run, "order_lines"), dirt_of(run)).join(products, on="product_id")
             .filter(pl.col("category_l2").is_in(spiked) & ~pl.col("quantity").str.starts_with("-")))
    per_day = lines.group_by("_dt").len()
    during = per_day.filter(pl.col("_dt").is_between(pl.lit(start), pl.lit(end)))["len"].mean()
    after = per_day.filter(pl.col("_dt") >= "2025-02-10")["len"].mean()
    assert during > 2 * after


def test_campaign_sends_match_truth(run: dict) -> None:
    sends = load(run, "campaign_sends")
    truth = pl.read_csv(run["truth"] / "campaigns.csv").filter(pl.col("n_a") > 0)
    arms = sends.group_by("campaign_id", "arm").len().pivot("arm", index="campaign_id", values="len")
    joined = truth.join(arms, on="campaign_id", how="left")
    assert truth.height > 0 and (joined["A"] == joined["n_a"]).all() and (joined["B"] == joined["n_b"]).all()
    assert sends.filter(pl.col("arm") == "A")["coupon_value"].null_count() == 0
    assert sends.filter(pl.col("arm") == "B")["coupon_value"].null_count() == sends.filter(pl.col("arm") == "B").height


def test_returns_reference_earlier_sales_with_negative_lines(run: dict) -> None:
    orders = load(run, "orders")
    returns = orders.filter(pl.col("status") == "returned")
    originals = orders.filter(pl.col("ref_order_id").is_null()).select(
        pl.col("order_id").alias("ref_order_id"), pl.col("_dt").alias("sale_dt")).unique("ref_order_id")
    joined = returns.join(originals, on="ref_order_id", how="left")
    assert returns.height > 0 and joined["sale_dt"].null_count() == 0
    assert (joined["_dt"] > joined["sale_dt"]).all()
    lines = load(run, "order_lines").filter(pl.col("order_id").is_in(list(returns["order_id"])))
    assert lines["quantity"].str.starts_with("-").all()
    assert set(lines["order_id"]) == set(returns["order_id"])


def test_inventory_ships_what_was_sold(run: dict) -> None:
    dirt = dirt_of(run)
    orders = load(run, "orders")
    returns = set(orders.filter(pl.col("status") == "returned")["order_id"])
    lines = without_dirt(load(run, "order_lines"), dirt, ("duplicate",))
    lines = lines.filter(~pl.col("order_id").is_in(list(returns)))
    sold = lines.group_by("_dt").agg(pl.col("quantity").str.replace("-", "").cast(pl.Int64).sum().alias("sold"))
    stock = load(run, "inventory").group_by("_dt").agg(
        pl.col("shipped_qty").cast(pl.Int64).sum().alias("shipped"),
        (pl.col("on_hand_qty").cast(pl.Int64) < 0).sum().alias("negative"))
    joined = sold.join(stock, on="_dt", how="full", coalesce=True)
    assert (joined["sold"] == joined["shipped"]).all() and (joined["negative"] == 0).all()
    assert joined.height == DAYS


def test_weather_is_seasonal_and_complete(run: dict) -> None:
    weather = load(run, "weather").with_columns(pl.col("temp_high_c", "temp_low_c").cast(pl.Float64))
    assert weather.height == DAYS * weather["city"].n_unique()
    assert (weather["temp_low_c"] < weather["temp_high_c"]).all()
    by_city = dict(weather.group_by("city").agg(pl.col("temp_high_c").mean()).rows())
    assert by_city["哈尔滨市"] < 0 < by_city["广州市"] - 15


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path / "l", tmp_path / "t", customers=10, days=2, dirt=0.5, progress=False)
    with pytest.raises(ValueError):
        generate(tmp_path / "l", tmp_path / "t", customers=10, days=400, start="2026-06-01", progress=False)
    assert np.isfinite(DIRT)
