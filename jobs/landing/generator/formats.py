"""How values are written in landing files: ids, timestamps, dates, money, lookups.

Internally the generator counts time in local (Asia/Shanghai) seconds since 1970-01-01 00:00 and
dates as days since 1970-01-01; money is integer fen (cents). These helpers turn numpy arrays of
those into polars string Series, vectorised.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
FEN_PER_YUAN = 100


def epoch_day(date: str) -> int:
    """Days since 1970-01-01 of an ISO date string."""
    return int(np.datetime64(date, "D").astype(np.int64))


def date_str(day: int) -> str:
    """ISO date string of an epoch day."""
    return str(np.datetime64(int(day), "D"))


def timestamps(secs: np.ndarray, fmt: str = TIMESTAMP_FORMAT) -> pl.Series:
    """Local epoch seconds as formatted strings."""
    return _select(secs, pl.from_epoch(pl.col("c"), time_unit="s").dt.strftime(fmt))


def dates(days: np.ndarray, fmt: str = DATE_FORMAT) -> pl.Series:
    """Epoch days as formatted date strings."""
    return _select(np.asarray(days, dtype=np.int64) * SECONDS_PER_DAY,
                   pl.from_epoch(pl.col("c"), time_unit="s").dt.strftime(fmt))


def id_expr(column: str, prefix: str, width: int) -> pl.Expr:
    """Expression: zero-padded id from an integer column."""
    return pl.concat_str(pl.lit(prefix), pl.col(column).cast(pl.String).str.zfill(width))


def timestamp_expr(column: str, fmt: str = TIMESTAMP_FORMAT) -> pl.Expr:
    """Expression: formatted timestamp from a local epoch-seconds column."""
    return pl.from_epoch(pl.col(column), time_unit="s").dt.strftime(fmt)


def money_expr(column: str) -> pl.Expr:
    """Expression: yuan with two decimals from an integer fen column."""
    return _signed_decimal(FEN_PER_YUAN, 2, column)


def _select(values: np.ndarray, expression: pl.Expr) -> pl.Series:
    """Evaluate one expression over column `c` holding `values` (expressions run in parallel)."""
    return pl.DataFrame({"c": np.asarray(values, dtype=np.int64)}).select(expression.alias("v")).to_series()


def _signed_decimal(divisor: int, digits: int, column: str = "c") -> pl.Expr:
    absolute = pl.col(column).abs()
    return pl.concat_str(
        pl.when(pl.col(column) < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (absolute // divisor).cast(pl.String),
        pl.lit("."),
        (absolute % divisor).cast(pl.String).str.zfill(digits),
    )


def money(fen: np.ndarray) -> pl.Series:
    """Integer fen as yuan with two decimals ('12.90', '-3.05')."""
    return _select(fen, _signed_decimal(FEN_PER_YUAN, 2))


def decimal1(tenths: np.ndarray) -> pl.Series:
    """Integer tenths as a one-decimal string ('12.3', '-0.5')."""
    return _select(tenths, _signed_decimal(10, 1))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """Zero-padded ids such as C0000001 from integer numbers."""
    return _select(numbers, pl.concat_str(pl.lit(prefix), pl.col("c").cast(pl.String).str.zfill(width)))


def integers(values: np.ndarray) -> pl.Series:
    """Integers as strings."""
    return _select(values, pl.col("c").cast(pl.String))


def lookup(table: Sequence[str | None], index: np.ndarray) -> pl.Series:
    """table[index] as a string Series; index -1 gives null."""
    values = pl.Series("v", [*table, None], dtype=pl.String)
    index = np.asarray(index, dtype=np.int64)
    return values.gather(np.where(index < 0, len(table), index))


def gather_or_null(values: pl.Series, index: np.ndarray) -> pl.Series:
    """values[index] with null where index is negative."""
    index = np.asarray(index, dtype=np.int64)
    extended = values.extend_constant(None, 1)
    return extended.gather(np.where(index < 0, len(values), index))


def nulls(n: int) -> pl.Series:
    """A string Series of n nulls."""
    return pl.Series("n", [None] * n, dtype=pl.String)


def constant(value: str, n: int) -> pl.Series:
    """A string Series repeating one value."""
    return pl.repeat(value, n, dtype=pl.String, eager=True)


def choose(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element from row probs[rows[i]] (rows x codes matrix), vectorised."""
    n_rows, n_codes = probs.shape
    shares = np.cumsum(probs, axis=1) / probs.sum(axis=1, keepdims=True)
    shares[:, -1] = 1.0
    keys = (np.arange(n_rows)[:, None] + shares).ravel()
    rows = np.asarray(rows, dtype=np.int64)
    return np.searchsorted(keys, rows + rng.random(len(rows)), side="right") - rows * n_codes
