"""Bring your own data: a retailer's own export -> habitlake landing files, by a declarative mapping.

A mapping (conf/mappings/<retailer>.yaml; the format is documented at the top of
conf/mappings/online_retail.yaml) names the input file(s), the retailer's currency and time zone,
and for each landing source of the contract (conf/landing.yaml) its grain and how each column is
built from the input's columns. `load_mapping` validates it up front, without Spark. `run` applies
it with Spark column expressions only (no SQL text from YAML, no Python UDFs), so the same mapping
runs on a laptop or a cluster, and writes one CSV per source and business date:
`<landing>/<source>/dt=<day>/<source>_<YYYYMMDD>_byod.csv`.

Nothing is filtered out: a bad row is landed as the retailer wrote it, and silver quarantines it
with a reason. Runs are idempotent: a date folder written is replaced, and a file whose bytes did
not change is left untouched (same mtime), so bronze does not take it twice.
"""
from __future__ import annotations

import re
import string
import uuid
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from habitlake import fs
from habitlake.contract import Source, load_contract
from habitlake.settings import Settings, join, write_retailer

MAPPING_VERSION = 1
TOP_KEYS = ("version", "input", "retailer", "targets")  # and any "x-..." key, for YAML anchors
INPUT_KEYS = ("path", "format", "encoding", "header", "delimiter", "quote", "escape", "columns")
TARGET_KEYS = ("grain", "date", "columns")
RETAILER_KEYS = ("currency", "timezone")

ROW_GRAIN = "row"
ROW_OPS = ("column", "constant", "template", "multiply", "row_number_within")
AGG_OPS = ("sum", "first", "min", "max", "count", "mode")
OPTIONS = {
    "column": ("strip_suffix", "value_map", "match", "default", "parse_timestamp", "format"),
    "constant": (), "template": (), "multiply": ("decimals",), "row_number_within": (),
    "sum": ("decimals",), "first": (), "min": ("numeric", "positive_only"),
    "max": ("numeric", "positive_only"), "count": (), "mode": ("positive_only",),
}
COLUMN_TRANSFORMS = ("strip_suffix", "value_map", "match", "parse_timestamp")
DEFAULT_TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"
DEFAULT_DECIMALS, MAX_DECIMALS = 2, 8
NUMBER = "decimal(30,8)"  # how input text is read as a number (multiply, sum, numeric min/max)

POS, DAY, OUT = "_byod_pos", "_byod_day", "_byod_out_"
DAY_FORMAT = "yyyy-MM-dd"
STAGING = "_byod_staging"  # under the landing root: bronze only looks in <source>/dt=<day>/
FILE_TAG = "byod"
# The CSV dialect bronze reads (Spark's defaults: '"' quotes, '\' escapes a quote inside a field).
# Values are written exactly, leading and trailing blanks included; null and "" are both empty.
# RFC 4180 quoting (a quote inside a quoted field is doubled), which bronze reads.
CSV_WRITE_OPTIONS = {"header": "true", "encoding": "UTF-8", "lineSep": "\n", "nullValue": "", "escape": '"',
                     "emptyValue": "", "ignoreLeadingWhiteSpace": "false",
                     "ignoreTrailingWhiteSpace": "false"}
COMPARE_CHUNK = 1 << 20


# --- the mapping, validated ---------------------------------------------------------------------

@dataclass(frozen=True)
class Input:
    path: str | None
    encoding: str
    header: bool
    delimiter: str
    quote: str
    escape: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    source: str  # landing source of the contract
    group_by: tuple[str, ...] | None  # None: one output row per input row
    date: dict  # expression giving the business date (yyyy-MM-dd...) of each output row
    columns: dict[str, dict]  # contract column -> expression; the others are written empty


@dataclass(frozen=True)
class Mapping:
    path: Path
    input: Input
    retailer: dict[str, str]
    targets: tuple[Target, ...]


class _Checker:
    """Validates one mapping file; every error names the file and the entry."""

    def __init__(self, path: Path):
        self.path = path
        self.columns: tuple[str, ...] = ()

    def fail(self, entry: str, message: str) -> None:
        raise ValueError(f"{self.path}: {entry}: {message}")

    def keys(self, spec: Any, entry: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(spec, dict):
            self.fail(entry, f"expected a mapping with keys {list(allowed)}")
        unknown = [k for k in spec if k not in allowed]
        if unknown:
            self.fail(entry, f"unknown key(s) {unknown} (allowed: {list(allowed)})")
        missing = [k for k in required if k not in spec]
        if missing:
            self.fail(entry, f"missing key(s) {missing}")
        return spec

    def input_column(self, name: Any, entry: str, group_by: tuple[str, ...] | None = None) -> str:
        if not isinstance(name, str) or name not in self.columns:
            self.fail(entry, f"input column {name!r} is not in input.columns")
        if group_by is not None and name not in group_by:
            self.fail(entry, f"input column {name!r} is not a group_by column: wrap it in an "
                             f"aggregation ({', '.join(AGG_OPS)})")
        return name

    def input_spec(self, spec: Any) -> Input:
        spec = self.keys(spec, "input", INPUT_KEYS, required=("columns",))
        if spec.get("format", "csv") != "csv":
            self.fail("input.format", f"unknown format {spec['format']!r} (known: csv)")
        columns = spec["columns"]
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
            self.fail("input.columns", "expected a list of the input's column names")
        for key in ("delimiter", "quote", "escape"):
            if key in spec and (not isinstance(spec[key], str) or len(spec[key]) != 1):
                self.fail(f"input.{key}", "expected one character")
        self.columns = tuple(columns)
        return Input(path=spec.get("path"), encoding=str(spec.get("encoding", "UTF-8")),
                     header=bool(spec.get("header", True)), delimiter=spec.get("delimiter", ","),
                     quote=spec.get("quote", '"'), escape=spec.get("escape", '"'), columns=tuple(columns))

    def retailer(self, spec: Any) -> dict[str, str]:
        if spec is None:
            return {}
        spec = self.keys(spec, "retailer", RETAILER_KEYS, required=RETAILER_KEYS)
        if not re.fullmatch(r"[A-Z]{3}", str(spec["currency"])):
            self.fail("retailer.currency", f"{spec['currency']!r} is not an ISO 4217 code like GBP")
        try:
            zoneinfo.ZoneInfo(str(spec["timezone"]))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.fail("retailer.timezone", f"unknown time zone {spec['timezone']!r}")
        return {"currency": str(spec["currency"]), "timezone": str(spec["timezone"])}

    def target(self, name: Any, spec: Any, contract: dict[str, Source]) -> Target:
        entry = f"targets.{name}"
        if name not in contract:
            self.fail(entry, f"unknown target source {name!r} (the landing contract has: "
                             f"{', '.join(contract)})")
        source = contract[name]
        if source.format != "csv":
            self.fail(entry, f"landing source {name!r} is {source.format}; mappings write CSV sources only")
        spec = self.keys(spec, entry, TARGET_KEYS, required=TARGET_KEYS)
        group_by = self.grain(spec["grain"], f"{entry}.grain")
        if not isinstance(spec["columns"], dict) or not spec["columns"]:
            self.fail(f"{entry}.columns", "expected a mapping of landing columns to expressions")
        columns = {}
        for column, expr in spec["columns"].items():
            if column not in source.columns:
                self.fail(f"{entry}.columns.{column}", f"{column!r} is not a column of landing source {name!r}")
            columns[column] = self.expr(expr, f"{entry}.columns.{column}", group_by)
        unmapped = [k for k in source.key if k not in columns]
        if unmapped:
            self.fail(f"{entry}.columns", f"key column(s) {unmapped} of landing source {name!r} are not mapped")
        return Target(name, group_by, self.expr(spec["date"], f"{entry}.date", group_by), columns)

    def grain(self, spec: Any, entry: str) -> tuple[str, ...] | None:
        if spec == ROW_GRAIN:
            return None
        spec = self.keys(spec, entry, ("group_by",), required=("group_by",))
        cols = spec["group_by"]
        if not isinstance(cols, list) or not cols:
            self.fail(f"{entry}.group_by", "expected a list of input columns")
        return tuple(self.input_column(c, f"{entry}.group_by") for c in cols)

    def expr(self, spec: Any, entry: str, group_by: tuple[str, ...] | None, in_agg: bool = False) -> dict:
        """Check one expression; `group_by` is None for row grain; inside an aggregation any input
        column may be used. Returns it normalized (an aggregation's operand is always a mapping)."""
        if not isinstance(spec, dict) or not spec:
            self.fail(entry, f"expected a mapping with one operation ({', '.join(OPTIONS)})")
        ops = [k for k in spec if k in OPTIONS]
        if not ops:
            self.fail(entry, f"unknown operation {next(iter(spec))!r} (known: {', '.join(OPTIONS)})")
        if len(ops) > 1:
            self.fail(entry, f"one operation per expression, found {ops}")
        op = ops[0]
        extra = [k for k in spec if k != op and k not in OPTIONS[op]]
        if extra:
            self.fail(entry, f"option(s) {extra} do not apply to {op!r} (it takes: {list(OPTIONS[op])})")
        plain = None if in_agg else group_by
        if op in AGG_OPS:
            if group_by is None or in_agg:
                self.fail(entry, f"aggregation {op!r} needs grain group_by, outside another aggregation")
            operand = spec[op]
            operand = {"column": operand} if isinstance(operand, str) else operand
            self.decimals(spec, entry)
            return {**spec, op: self.expr(operand, f"{entry}.{op}", group_by, in_agg=True)}
        if op == "row_number_within" and group_by is not None:
            self.fail(entry, "row_number_within needs grain: row")
        getattr(self, f"_{op}")(spec, entry, plain)
        return dict(spec)

    def decimals(self, spec: dict, entry: str) -> None:
        d = spec.get("decimals", DEFAULT_DECIMALS)
        if not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= MAX_DECIMALS:
            self.fail(f"{entry}.decimals", f"expected a whole number from 0 to {MAX_DECIMALS}")

    def _column(self, spec: dict, entry: str, group_by) -> None:
        self.input_column(spec["column"], entry, group_by)
        transforms = [k for k in COLUMN_TRANSFORMS if k in spec]
        if len(transforms) > 1:
            self.fail(entry, f"one of {list(COLUMN_TRANSFORMS)} per column, found {transforms}")
        if "default" in spec and not ({"value_map", "match"} & set(spec)):
            self.fail(entry, "default needs value_map or match")
        if "format" in spec and "parse_timestamp" not in spec:
            self.fail(entry, "format needs parse_timestamp")
        if "strip_suffix" in spec and (not isinstance(spec["strip_suffix"], str) or not spec["strip_suffix"]):
            self.fail(f"{entry}.strip_suffix", "expected a non-empty text")
        if "value_map" in spec:
            values = spec["value_map"]
            if not isinstance(values, dict) or not values or any(isinstance(v, (dict, list)) for v in values.values()):
                self.fail(f"{entry}.value_map", "expected a mapping of input values to output values")
            if len({_text(k) for k in values}) < len(values):
                self.fail(f"{entry}.value_map", "two keys are the same text (e.g. 1 and '1')")
        if "match" in spec:
            self._match(spec["match"], f"{entry}.match")
        for key in ("parse_timestamp", "format"):
            if key in spec and not isinstance(spec[key], str):
                self.fail(f"{entry}.{key}", "expected a Spark datetime pattern, e.g. yyyy-MM-dd HH:mm:ss")

    def _match(self, cases: Any, entry: str) -> None:
        if not isinstance(cases, list) or not cases:
            self.fail(entry, "expected a list of {regex: ..., value: ...}")
        for i, case in enumerate(cases):
            case = self.keys(case, f"{entry}[{i}]", ("regex", "value"), required=("regex", "value"))
            try:
                re.compile(str(case["regex"]))
            except re.error as exc:
                self.fail(f"{entry}[{i}].regex", f"not a regular expression: {exc}")

    def _constant(self, spec: dict, entry: str, group_by) -> None:
        if isinstance(spec["constant"], (dict, list)):
            self.fail(entry, "a constant is a single value")

    def _template(self, spec: dict, entry: str, group_by) -> None:
        text = spec["template"]
        if not isinstance(text, str):
            self.fail(entry, 'expected a text like "{ColumnA}-{ColumnB}"')
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            self.fail(entry, f"bad template: {exc}")
        for field in fields:
            self.input_column(field, entry, group_by)

    def _multiply(self, spec: dict, entry: str, group_by) -> None:
        factors = spec["multiply"]
        if not isinstance(factors, list) or len(factors) < 2:
            self.fail(entry, "expected a list of at least two input columns or numbers")
        for factor in factors:
            if not isinstance(factor, (int, float)) or isinstance(factor, bool):
                self.input_column(factor, entry, group_by)
        self.decimals(spec, entry)

    def _row_number_within(self, spec: dict, entry: str, group_by) -> None:
        cols = spec["row_number_within"]
        if not isinstance(cols, list) or not cols:
            self.fail(entry, "expected a list of input columns")
        for col in cols:
            self.input_column(col, entry)


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file; a ValueError names the file and the faulty entry."""
    path = Path(path)
    check = _Checker(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    anchors = tuple(k for k in raw if str(k).startswith("x-")) if isinstance(raw, dict) else ()
    raw = check.keys(raw, "(top level)", TOP_KEYS + anchors, required=("input", "targets"))
    if raw.get("version", MAPPING_VERSION) != MAPPING_VERSION:
        check.fail("version", f"unknown version {raw['version']!r} (known: {MAPPING_VERSION})")
    inp = check.input_spec(raw["input"])
    retailer = check.retailer(raw.get("retailer"))
    if not isinstance(raw["targets"], dict) or not raw["targets"]:
        check.fail("targets", "expected a mapping of landing sources to their columns")
    contract = load_contract()
    targets = tuple(check.target(name, spec, contract) for name, spec in raw["targets"].items())
    return Mapping(path, inp, retailer, targets)


# --- column expressions (pure) --------------------------------------------------------------------

def _col(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _number(col: Column) -> Column:
    return F.trim(col.cast("string")).try_cast(NUMBER)


def _rounded(col: Column, decimals: int) -> Column:
    return F.round(col, decimals).cast(f"decimal(38,{decimals})")


def _column(spec: dict) -> Column:
    col = _col(spec["column"])
    if "strip_suffix" in spec:
        suffix = spec["strip_suffix"]
        return F.when(col.endswith(suffix), col.substr(F.lit(1), F.length(col) - len(suffix))).otherwise(col)
    if "parse_timestamp" in spec:
        # Wall-clock time stays wall-clock time: the session time zone is UTC, which has no gaps.
        parsed = F.try_to_timestamp(F.trim(col), F.lit(spec["parse_timestamp"]))
        return F.date_format(parsed, spec.get("format", DEFAULT_TIMESTAMP_FORMAT))
    otherwise = F.lit(_text(spec["default"])) if "default" in spec else col
    if "value_map" in spec:
        pairs = [F.lit(_text(x)) for kv in sorted(spec["value_map"].items(), key=str) for x in kv]
        return F.coalesce(F.try_element_at(F.create_map(*pairs), col), otherwise)
    if "match" in spec:
        cases = [F.when(col.rlike(str(c["regex"])), F.lit(_text(c["value"]))) for c in spec["match"]]
        return F.coalesce(*cases, otherwise)
    return col


def _template(spec: dict) -> Column:
    parts = []
    for literal, field, _, _ in string.Formatter().parse(spec["template"]):
        if literal:
            parts.append(F.lit(literal))
        if field is not None:
            parts.append(F.coalesce(_col(field), F.lit("")))
    return F.concat(*parts) if parts else F.lit("")


def _multiply(spec: dict) -> Column:
    factors = [F.lit(f).cast(NUMBER) if isinstance(f, (int, float)) else _number(_col(f))
               for f in spec["multiply"]]
    product = factors[0]
    for factor in factors[1:]:
        product = product * factor
    return _rounded(product, spec.get("decimals", DEFAULT_DECIMALS))


def _aggregate(op: str, spec: dict) -> Column:
    value = expression(spec[op])
    order = F.col(POS)  # input order: (file, position in the file)
    if op == "sum":
        return _rounded(F.sum(_number(value)), spec.get("decimals", DEFAULT_DECIMALS))
    if op == "count":
        return F.count(value)
    if op == "first":  # the first non-empty value in input order
        return F.min_by(value, F.when(value.isNotNull(), order))
    counted = F.lit(True)
    if spec.get("positive_only"):
        counted = _number(value) > 0
    if op == "mode":
        return F.mode(F.when(counted, value), deterministic=True)
    if spec.get("numeric") or spec.get("positive_only"):
        rank = F.when(counted & _number(value).isNotNull(), F.struct(_number(value), order))
        return F.max_by(value, rank) if op == "max" else F.min_by(value, rank)
    return F.max(value) if op == "max" else F.min(value)


def expression(spec: dict) -> Column:
    """One validated mapping expression as a Spark column (aggregations for grouped targets)."""
    op = next(k for k in spec if k in OPTIONS)
    if op in AGG_OPS:
        return _aggregate(op, spec)
    if op == "column":
        return _column(spec)
    if op == "constant":
        return F.lit(_text(spec["constant"])).cast("string")
    if op == "template":
        return _template(spec)
    if op == "multiply":
        return _multiply(spec)
    within = Window.partitionBy(*[_col(c) for c in spec["row_number_within"]]).orderBy(POS)
    return F.row_number().over(within)


def build_target(rows: DataFrame, target: Target, source: Source) -> DataFrame:
    """Input rows (with `_byod_pos`) -> the landing source's columns as text, in contract order,
    plus `_byod_day` (the business date, null when unparseable) and `_byod_pos` (first input row)."""
    built = [expression(spec).alias(OUT + name) for name, spec in target.columns.items()]
    day = expression(target.date).alias(DAY)
    if target.group_by is None:
        out = rows.select(*built, day, F.col(POS))
    else:
        out = rows.groupBy(*[_col(c) for c in target.group_by]).agg(*built, day, F.min(POS).alias(POS))
    as_day = F.date_format(F.try_to_date(F.substring(F.col(DAY).cast("string"), 1, 10), DAY_FORMAT), DAY_FORMAT)
    return out.select(
        *[(F.col(OUT + c) if c in target.columns else F.lit(None)).cast("string").alias(c) for c in source.columns],
        as_day.alias(DAY),
        F.col(POS),
    )


# --- I/O ------------------------------------------------------------------------------------------

def _input_uri(mapping: Mapping, input_path: str | None) -> str:
    if input_path is not None:  # as given on the command line: relative to the working folder
        return input_path if "://" in input_path else str(Path(input_path).resolve())
    path = mapping.input.path
    if not path:
        raise ValueError(f"{mapping.path}: input.path: not set, and no input path was given")
    if "://" in path or Path(path).is_absolute():
        return path
    return str((mapping.path.resolve().parent / path).resolve())


def read_input(spark: SparkSession, mapping: Mapping, uri: str) -> DataFrame:
    """The input file(s) as text columns, each row tagged with its input order (`_byod_pos`)."""
    inp = mapping.input
    reader = spark.read.options(header=str(inp.header).lower(), sep=inp.delimiter, quote=inp.quote,
                                escape=inp.escape, encoding=inp.encoding, mode="PERMISSIVE",
                                multiLine="false", inferSchema="false")
    if not inp.header:
        reader = reader.schema(T.StructType([T.StructField(c, T.StringType()) for c in inp.columns]))
    raw = reader.csv(uri)
    missing = [c for c in inp.columns if c not in raw.columns]
    if missing:
        raise ValueError(f"{mapping.path}: input.columns: {missing} not in the header of {uri} "
                         f"(it has {raw.columns})")
    # Read directly off the scan: a file is read in order, its splits in order, so the id follows it.
    pos = F.struct(F.col("_metadata.file_path").alias("file"), F.monotonically_increasing_id().alias("row"))
    return raw.select(*[_col(c) for c in inp.columns], pos.alias(POS))


def _hadoop(spark: SparkSession, uri: str):
    path = spark._jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark._jsc.hadoopConfiguration()), path


def _same_bytes(spark: SparkSession, a: str, b: str) -> bool:
    (fs_a, path_a), (fs_b, path_b) = _hadoop(spark, a), _hadoop(spark, b)
    if fs_a.getFileStatus(path_a).getLen() != fs_b.getFileStatus(path_b).getLen():
        return False
    with_a, with_b = fs_a.open(path_a), fs_b.open(path_b)
    try:
        while True:
            chunk = bytes(with_a.readNBytes(COMPARE_CHUNK))
            if chunk != bytes(with_b.readNBytes(COMPARE_CHUNK)):
                return False
            if not chunk:
                return True
    finally:
        with_a.close()
        with_b.close()


def _delete(spark: SparkSession, uri: str) -> None:
    hfs, path = _hadoop(spark, uri)
    if hfs.exists(path):
        hfs.delete(path, True)


def landing_file_name(source: Source, day: str) -> str:
    return f"{source.name}_{day.replace('-', '')}_{FILE_TAG}.{source.extension}"


def _publish(spark: SparkSession, staged_dir: str, landing: str, source: Source, day: str) -> tuple[str, bool]:
    """Move the one staged file of a date into its landing folder, replacing what the folder held;
    an existing file with the same bytes is kept as it is. Returns (relative path, unchanged)."""
    staged = [f.path for f in fs.list_files(spark, staged_dir) if f.path.rsplit("/", 1)[-1].startswith("part-")]
    if len(staged) != 1:
        raise RuntimeError(f"expected one staged file in {staged_dir}, found {len(staged)}")
    name, folder = landing_file_name(source, day), join(landing, source.day_dir(day))
    unchanged = False
    for existing in fs.list_files(spark, folder):
        if existing.path.rsplit("/", 1)[-1] == name and _same_bytes(spark, existing.path, staged[0]):
            unchanged = True
        else:
            _delete(spark, existing.path)
    if not unchanged:
        hfs, target = _hadoop(spark, join(folder, name))
        hfs.mkdirs(target.getParent())
        if not hfs.rename(_hadoop(spark, staged[0])[1], target):
            raise RuntimeError(f"could not move {staged[0]} to {join(folder, name)}")
        _delete(spark, join(folder, f".{name}.crc"))  # a local file system's checksum: not data
    return f"{source.day_dir(day)}/{name}", unchanged


def _days(mapping: Mapping, name: str, built: DataFrame) -> dict[str, int]:
    counts = {r[DAY]: r["count"] for r in built.groupBy(DAY).count().collect()}
    if None in counts:
        raise ValueError(f"{mapping.path}: targets.{name}.date: {counts[None]} row(s) have no business "
                         f"date (the expression gave no yyyy-MM-dd value); nothing was written")
    return counts


def write_target(spark: SparkSession, settings: Settings, built: DataFrame, source: Source,
                 days: dict[str, int], staging: str) -> dict:
    """Write one CSV per business date (rows in input order) and publish it into landing."""
    (built.repartition(DAY).sortWithinPartitions(DAY, POS).drop(POS)
     .write.mode("overwrite").partitionBy(DAY).options(**CSV_WRITE_OPTIONS).csv(staging))
    published = [_publish(spark, join(staging, f"{DAY}={day}"), settings.landing, source, day)
                 for day in sorted(days)]
    return {"rows": sum(days.values()), "files": [p for p, _ in published], "dates": sorted(days),
            "unchanged": sum(1 for _, same in published if same)}


def run(spark: SparkSession, settings: Settings, mapping_path: str | Path, input_path: str | None = None) -> dict:
    """Apply a mapping: write its landing files and record its retailer block (currency, time zone).

    Returns {"sources": {source: {"rows", "files", "dates", "unchanged"}}, "dates": every business
    date written (to ingest), "retailer": the recorded block, "input": the file(s) read}.
    """
    mapping = load_mapping(mapping_path)
    contract = load_contract()
    uri = _input_uri(mapping, input_path)
    rows = read_input(spark, mapping, uri).persist(StorageLevel.MEMORY_AND_DISK)
    built = {t.source: build_target(rows, t, contract[t.source]).persist(StorageLevel.MEMORY_AND_DISK)
             for t in mapping.targets}
    staging = join(settings.landing, STAGING, uuid.uuid4().hex)
    try:
        days = {name: _days(mapping, name, df) for name, df in built.items()}  # all checked first
        summary = {name: write_target(spark, settings, df, contract[name], days[name], join(staging, name))
                   for name, df in built.items()}
    finally:
        for df in built.values():
            df.unpersist()
        rows.unpersist()
        _delete(spark, staging)
        if not fs.list_dirs(spark, join(settings.landing, STAGING)):
            _delete(spark, join(settings.landing, STAGING))
    if mapping.retailer:
        write_retailer(settings, mapping.retailer)
    dates = sorted({d for s in summary.values() for d in s["dates"]})
    return {"sources": summary, "dates": dates, "retailer": dict(mapping.retailer), "input": uri}
