"""Dirt injection: the data-quality problems real exports have, each instance marked in hidden
columns `_dirt` (kind) and `_key` (record key) so the writer can record its file and line in truth.

For a source, the kinds that apply are given disjoint slices of one uniform draw per row, so each
kind hits a fraction `rate` of the eligible rows (Binomial) and no row carries two kinds. Duplicates
are copies of clean rows, inserted somewhere after the original.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from . import formats

DUPLICATE = "duplicate"
MISSING_CUSTOMER = "missing_customer_id"
FUTURE_TIMESTAMP = "future_timestamp"
MIXED_DATE_FORMAT = "mixed_date_format"
NEGATIVE_QUANTITY = "negative_quantity"
PRICE_IN_FEN = "price_in_fen"
UNKNOWN_PRODUCT = "unknown_product"
MALFORMED_JSON = "malformed_json"
TEST_ACCOUNT = "test_account"
STATUS_UPDATE = "status_update"
KINDS = (DUPLICATE, STATUS_UPDATE, MISSING_CUSTOMER, NEGATIVE_QUANTITY, PRICE_IN_FEN, FUTURE_TIMESTAMP,
         MIXED_DATE_FORMAT, MALFORMED_JSON, UNKNOWN_PRODUCT, TEST_ACCOUNT)
MAX_RATE = 0.2  # five kinds share one uniform draw on events
MIXED_TIMESTAMP_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y%m%d %H%M%S", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S+08:00")
MIXED_DATE_FORMATS = ("%Y/%m/%d", "%Y%m%d", "%d/%m/%Y", "%Y-%m-%dT00:00:00+08:00")
FUTURE_YEARS = (2, 11)  # 2-10 years ahead
UNKNOWN_PRODUCT_DIGITS = 4  # P9xxxx


def check_rate(rate: float) -> None:
    """Dirt rates are fractions up to MAX_RATE."""
    if not 0.0 <= rate <= MAX_RATE:
        raise ValueError(f"dirt must be within [0, {MAX_RATE}], got {rate}")


def with_marks(frame: pl.DataFrame) -> pl.DataFrame:
    """Add empty `_dirt` / `_key` columns when missing."""
    for column in ("_dirt", "_key"):
        if column not in frame.columns:
            frame = frame.with_columns(formats.nulls(frame.height).alias(column))
    return frame


def partition(rng: np.random.Generator, n: int, kinds: tuple[str, ...], rate: float) -> dict[str, np.ndarray]:
    """Disjoint row indices per kind, each row in a kind with probability `rate`."""
    u = rng.random(n)
    return {kind: np.flatnonzero((u >= i * rate) & (u < (i + 1) * rate)) for i, kind in enumerate(kinds)}


def _finish(frame: pl.DataFrame, marks: dict[str, np.ndarray], key: pl.Series, duplicates: np.ndarray,
            rng: np.random.Generator) -> pl.DataFrame:
    """Add `_dirt` / `_key` for the marked rows, then insert a marked copy of each duplicated row
    somewhere after its original."""
    n = frame.height
    codes = np.full(n, -1)
    for kind, rows in marks.items():
        codes[rows] = KINDS.index(kind)
    if len(duplicates):
        position = np.concatenate([2 * np.arange(n), 2 * rng.integers(duplicates, n) + 1])
        permutation = np.concatenate([np.arange(n), duplicates])[np.argsort(position, kind="stable")]
        codes = np.concatenate([codes, np.full(len(duplicates), KINDS.index(DUPLICATE))])[
            np.argsort(position, kind="stable")]
        frame, key = frame[permutation], key.gather(permutation)
    marked = pl.Series(codes >= 0)
    return frame.with_columns(
        formats.lookup(KINDS, codes).alias("_dirt"),
        pl.select(pl.when(pl.lit(marked)).then(pl.lit(key))).to_series().alias("_key"))


def _reformat(values: pl.Series, rows: np.ndarray, rng: np.random.Generator, parse: str,
              formats_: tuple[str, ...]) -> pl.Series:
    """Rewrite values[rows] in randomly chosen alternative formats."""
    if len(rows) == 0:
        return values
    parsed = pl.DataFrame({"v": values.gather(rows)}).select(pl.col("v").str.to_datetime(parse)).to_series()
    pick = rng.integers(0, len(formats_), len(rows))
    variants = [parsed.dt.strftime(f) for f in formats_]
    chosen = pl.select(pl.coalesce([pl.when(pl.lit(pl.Series(pick == i))).then(pl.lit(v))
                                    for i, v in enumerate(variants)])).to_series()
    return values.scatter(rows, chosen)


def _future(values: pl.Series, rows: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Move timestamps values[rows] years ahead."""
    if len(rows) == 0:
        return values
    years = rng.integers(*FUTURE_YEARS, len(rows)) * 365 * formats.SECONDS_PER_DAY
    parsed = pl.DataFrame({"v": values.gather(rows)}).select(
        pl.col("v").str.to_datetime(formats.TIMESTAMP_FORMAT).dt.epoch("s")).to_series().to_numpy()
    return values.scatter(rows, formats.timestamps(parsed + years))


def _unknown_products(rng: np.random.Generator, n: int) -> pl.Series:
    return "P9" + formats.integers(rng.integers(0, 10 ** UNKNOWN_PRODUCT_DIGITS, n)).str.zfill(UNKNOWN_PRODUCT_DIGITS)


def orders_dirt(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Duplicates, missing customer ids, future and mixed-format order times on today's sales."""
    parts = partition(rng, frame.height, (DUPLICATE, MISSING_CUSTOMER, FUTURE_TIMESTAMP, MIXED_DATE_FORMAT), rate)
    frame = frame.with_columns(
        frame["customer_id"].scatter(parts[MISSING_CUSTOMER], None),
        _future(_reformat(frame["order_time"], parts[MIXED_DATE_FORMAT], rng, formats.TIMESTAMP_FORMAT,
                          MIXED_TIMESTAMP_FORMATS), parts[FUTURE_TIMESTAMP], rng))
    marks = {kind: parts[kind] for kind in (MISSING_CUSTOMER, FUTURE_TIMESTAMP, MIXED_DATE_FORMAT)}
    return _finish(frame, marks, frame["order_id"], parts[DUPLICATE], rng)


def lines_dirt(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Duplicates, negative quantities, prices in fen and unknown products on today's sale lines."""
    key = frame["order_id"] + "|" + frame["line_no"]
    parts = partition(rng, frame.height, (DUPLICATE, NEGATIVE_QUANTITY, PRICE_IN_FEN, UNKNOWN_PRODUCT), rate)
    fen = parts[PRICE_IN_FEN]

    def in_fen(column: str) -> pl.Series:
        values = frame[column].gather(fen).str.replace(".", "", literal=True).cast(pl.Int64).cast(pl.String)
        return frame[column].scatter(fen, values)

    frame = frame.with_columns(
        frame["quantity"].scatter(parts[NEGATIVE_QUANTITY], "-" + frame["quantity"].gather(parts[NEGATIVE_QUANTITY])),
        in_fen("unit_price"), in_fen("line_amount"),
        frame["product_id"].scatter(parts[UNKNOWN_PRODUCT], _unknown_products(rng, len(parts[UNKNOWN_PRODUCT]))))
    marks = {kind: parts[kind] for kind in (NEGATIVE_QUANTITY, PRICE_IN_FEN, UNKNOWN_PRODUCT)}
    return _finish(frame, marks, key, parts[DUPLICATE], rng)


def events_dirt(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Duplicates, future and mixed-format times, unknown products and (marked) malformed lines."""
    parts = partition(rng, frame.height, (DUPLICATE, FUTURE_TIMESTAMP, MIXED_DATE_FORMAT, MALFORMED_JSON,
                                          UNKNOWN_PRODUCT), rate)
    with_product = frame["product_id"].is_not_null().to_numpy()
    unknown = parts[UNKNOWN_PRODUCT][with_product[parts[UNKNOWN_PRODUCT]]]
    frame = frame.with_columns(
        _future(_reformat(frame["event_time"], parts[MIXED_DATE_FORMAT], rng, formats.TIMESTAMP_FORMAT,
                          MIXED_TIMESTAMP_FORMATS), parts[FUTURE_TIMESTAMP], rng),
        frame["product_id"].scatter(unknown, _unknown_products(rng, len(unknown))))
    marks = {FUTURE_TIMESTAMP: parts[FUTURE_TIMESTAMP], MIXED_DATE_FORMAT: parts[MIXED_DATE_FORMAT],
             MALFORMED_JSON: parts[MALFORMED_JSON], UNKNOWN_PRODUCT: unknown}
    return _finish(frame, marks, frame["event_id"], parts[DUPLICATE], rng)


def customers_dirt(frame: pl.DataFrame, rng: np.random.Generator, rate: float, test_rows: np.ndarray) -> pl.DataFrame:
    """Mixed-format sign-up dates; first export rows of test accounts are marked as test_account."""
    mixed = partition(rng, frame.height, (MIXED_DATE_FORMAT,), rate)[MIXED_DATE_FORMAT]
    mixed = mixed[~np.isin(mixed, test_rows)]
    frame = frame.with_columns(_reformat(frame["signup_date"], mixed, rng, formats.DATE_FORMAT, MIXED_DATE_FORMATS))
    marks = {MIXED_DATE_FORMAT: mixed, TEST_ACCOUNT: test_rows}
    return _finish(frame, marks, frame["customer_id"], np.zeros(0, dtype=np.int64), rng)


def truncate_lines(lines: pl.Series, rows: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Cut JSON lines lines[rows] to 30-90% of their characters (never valid JSON afterwards)."""
    if len(rows) == 0:
        return lines
    chosen = lines.gather(rows)
    keep = np.floor(chosen.str.len_chars().to_numpy() * rng.uniform(0.3, 0.9, len(rows))).astype(np.int64)
    cut = pl.DataFrame({"l": chosen, "k": keep}).select(pl.col("l").str.slice(0, pl.col("k"))).to_series()
    return lines.scatter(rows, cut)
