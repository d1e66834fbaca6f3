"""Run a data-check suite (`expectations/suites/<name>.yaml`) against a Spark DataFrame with GX Core 1.x.

A suite names the logical table it checks and lists expectations by GX snake_case name, each with its
kwargs and a severity: `critical` failures fail the run, `warning` failures are recorded only.
A kwarg written `{$param: name}` is a run-time parameter (a GX suite parameter), filled per run from
`params`; nothing of one run's parameters is kept for the next.

    result = run_checks(df, "orders", gx_root=state_dir / "gx_checks", run_id="2025-01-03",
                        params={"rows_expected": 10})
    results_df = spark.createDataFrame(result.rows(), RESULT_ROW_SCHEMA)

Each call is one GX checkpoint run (all expectations, both severities) on a file Data Context under
`gx_root` (`<gx_root>/gx`): validation results go to `gx/uncommitted/validations/`, Data Docs HTML to
`gx/uncommitted/data_docs/local_site/` (`CheckResult.data_docs_index`). The context is opened once
per `gx_root` and process, and its datasource, asset, suite, validation definition and checkpoint
are created or updated only when the suite YAML changes.

Timings of one run_checks, 8-expectation suite (bench: 6 expectations on columns, row count, mean),
local[2], 2 shuffle partitions, warm process, on this 2-core machine while other jobs kept it at
load ~7 (so treat as upper bounds):
    3-row frame      2.3 - 3.7 s
    100k-row frame   3.3 - 4.4 s
    first call in a process: 8 - 22 s more (Spark and GX warm-up); `import great_expectations`
    alone takes 6 - 15 s, paid by the first load_suite/run_checks.
The time is GX's fixed cost, not the data: GX bundles the aggregate metrics into a few Spark jobs,
but in BASIC format each column-map expectation adds a small job (its unexpected values, even when
asked for no examples). With `fast=True` (silver) a suite runs first in BOOLEAN_ONLY format, which
skips those jobs, and again in BASIC only when an expectation failed, to report counts and examples
(see FAST_RESULT_FORMAT). The Data Docs update takes ~0.9 s. `df` is materialised as a local
checkpoint before the lock is taken: computing the frame is Spark's work, which overlaps another
thread's checkpoint instead of queueing behind it, and no GX query recomputes or re-plans its lineage.

Every call stores a new validation result and page (keyed by run_id and the call's UTC time), so
reruns of a date keep their history; nothing is pruned, that is the caller's retention job.
Not thread-safe inside GX: calls in one process are serialised by a lock, and each call makes its
context GX's current one. Processes should not share one `gx_root` concurrently (GX rewrites
`gx/great_expectations.yml` when it adds an asset).
"""
from __future__ import annotations

import difflib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlparse
from urllib.request import url2pathname

import yaml

from habitlake.settings import is_local, local_path

if TYPE_CHECKING:
    from great_expectations.checkpoint import Checkpoint
    from great_expectations.checkpoint.checkpoint import CheckpointResult
    from great_expectations.data_context import FileDataContext
    from great_expectations.expectations import Expectation
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

SUITES_DIR = Path(__file__).resolve().parent / "suites"
SUITE_SUFFIX = ".yaml"
SEVERITIES = ("critical", "warning")
DEFAULT_SEVERITY = "critical"
PARAM_KEY = "$param"
GX_PARAM_KEY = "$PARAMETER"

SUITE_KEYS = frozenset({"table", "description", "expectations"})
ENTRY_KEYS = frozenset({"expectation", "kwargs", "severity"})
RESERVED_KWARGS = frozenset({"severity", "meta", "id", "notes", "batch_id", "result_format"})
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
PARAM_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # GX parses a parameter as an expression

DATASOURCE_NAME = "habitlake_spark"
BATCH_DEFINITION_NAME = "whole_dataframe"
# Two checkpoints per suite over one validation definition. The detail pass (BASIC) reports
# unexpected counts, a partial list of unexpected values and observed values; SUMMARY and COMPLETE
# add more jobs per expectation (index lists and queries) for nothing this runner reports. The fast
# pass (`run_checks(fast=True)`) asks for BOOLEAN_ONLY: GX then skips the "unexpected values"
# metric, one Spark job per column-map expectation, about half of a suite's jobs (silver.orders,
# warm, idle: 0.8-1.0 s instead of 1.6-2.0 s); the detail pass follows only when something failed.
PARTIAL_UNEXPECTED_COUNT = 20
FAST_RESULT_FORMAT = {"result_format": "BOOLEAN_ONLY"}
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT}
DETAIL_SUFFIX = "__detail"  # the detail pass's checkpoint: <suite>__detail
EXAMPLE_COUNT = 5
# Without a limit, every Data Docs update reads every stored validation result to rebuild the
# index (~2.5 s per 1,500 results here); the index lists the newest ones, older pages stay on disk.
DATA_DOCS_INDEX_LIMIT = 200

RESULT_ROW_SCHEMA = (
    "suite string, table string, run_id string, expectation string, column string, "
    "severity string, success boolean, unexpected_count bigint, unexpected_percent double, "
    "observed_value string, partial_unexpected_list string, details string"
)


# ---------------------------------------------------------------------------------------- suites


@dataclass(frozen=True)
class ExpectationSpec:
    """One suite entry: a GX expectation by snake_case name, its kwargs, and a severity."""

    expectation: str
    kwargs: Mapping[str, Any]
    severity: str = DEFAULT_SEVERITY

    @property
    def params(self) -> frozenset[str]:
        """Names of the run-time parameters this entry's kwargs refer to."""
        return frozenset(v[PARAM_KEY] for v in self.kwargs.values() if _is_param(v))


@dataclass(frozen=True)
class SuiteSpec:
    """A parsed, validated suite file."""

    name: str
    table: str
    expectations: tuple[ExpectationSpec, ...]
    description: str = ""
    path: Path | None = None

    @property
    def params(self) -> frozenset[str]:
        """Names of all run-time parameters the suite needs."""
        return frozenset().union(*(e.params for e in self.expectations))

    def fingerprint(self) -> str:
        """A stable text of everything that goes into the GX suite (changes when the YAML does)."""
        return json.dumps(
            [self.table, self.description,
             [[e.expectation, dict(e.kwargs), e.severity] for e in self.expectations]],
            sort_keys=True, default=str,
        )


def load_suite(name: str, suites_dir: Path | None = None) -> SuiteSpec:
    """Read and validate `<suites_dir>/<name>.yaml` (default: `expectations/suites/`).

    Every entry is built as a GX expectation, so an unknown expectation name, a missing or
    unexpected kwarg, a kwarg of the wrong type or a bad severity raises `ValueError` naming the
    file and the entry index. A missing file raises `FileNotFoundError`.
    """
    if not NAME_PATTERN.match(name):
        raise ValueError(f"suite name {name!r} must be letters, digits and underscores")
    folder = suites_dir if suites_dir is not None else SUITES_DIR
    path = folder / f"{name}{SUITE_SUFFIX}"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob(f"*{SUITE_SUFFIX}"))
        raise FileNotFoundError(f"no suite {name!r}: {path} does not exist (suites there: {known})")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    return _parse_suite(name, doc, path)


def _parse_suite(name: str, doc: Any, path: Path) -> SuiteSpec:
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a suite must be a mapping with keys {sorted(SUITE_KEYS)}")
    unknown = set(doc) - SUITE_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(SUITE_KEYS)}")
    table = doc.get("table")
    if not isinstance(table, str) or not table.strip():
        raise ValueError(f"{path}: 'table' must name the table the suite checks, e.g. silver.orders")
    description = doc.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f"{path}: 'description' must be text")
    entries = doc.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: 'expectations' must be a non-empty list")
    specs = tuple(_parse_entry(entry, f"{path}: expectations[{i}]") for i, entry in enumerate(entries))
    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        key = json.dumps([spec.expectation, dict(spec.kwargs)], sort_keys=True, default=str)
        if key in seen:
            raise ValueError(f"{path}: expectations[{i}] ({spec.expectation}) repeats "
                             f"expectations[{seen[key]}] with the same kwargs")
        seen[key] = i
    return SuiteSpec(name=name, table=table.strip(), description=description.strip(),
                     expectations=specs, path=path)


def _parse_entry(entry: Any, where: str) -> ExpectationSpec:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be a mapping with keys {sorted(ENTRY_KEYS)}")
    expectation = entry.get("expectation")
    if not isinstance(expectation, str) or not expectation:
        raise ValueError(f"{where}: missing 'expectation' (a GX expectation name, "
                         "e.g. expect_column_values_to_not_be_null)")
    where = f"{where} ({expectation})"
    unknown = set(entry) - ENTRY_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(ENTRY_KEYS)}")
    kwargs = entry.get("kwargs", {})
    if kwargs is None or not isinstance(kwargs, dict):
        raise ValueError(f"{where}: 'kwargs' must be a mapping of the expectation's arguments")
    reserved = RESERVED_KWARGS & set(kwargs)
    if reserved:
        raise ValueError(f"{where}: kwargs may not set {sorted(reserved)} "
                         "(severity is a key of the entry itself)")
    severity = entry.get("severity", DEFAULT_SEVERITY)
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity {severity!r} must be one of {list(SEVERITIES)}")
    for key, value in kwargs.items():
        _check_param_use(value, f"{where}: kwargs.{key}", top_level=True)
    spec = ExpectationSpec(expectation=expectation, kwargs=kwargs, severity=severity)
    _build_expectation(spec, where)  # let GX validate the name and kwargs now, not mid-run
    return spec


def _is_param(value: Any) -> bool:
    return isinstance(value, dict) and PARAM_KEY in value


def _check_param_use(value: Any, where: str, *, top_level: bool) -> None:
    if _is_param(value):
        if not top_level:
            raise ValueError(f"{where}: a {{{PARAM_KEY}: ...}} must be a whole kwarg value, "
                             "not nested inside one")
        name = value[PARAM_KEY]
        if len(value) != 1 or not isinstance(name, str) or not PARAM_PATTERN.match(name):
            raise ValueError(f"{where}: write a run-time parameter as {{{PARAM_KEY}: name}}, "
                             "name starting with a letter (letters, digits, underscores)")
        return
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _check_param_use(child, where, top_level=False)


def _build_expectation(spec: ExpectationSpec, where: str = "") -> Expectation:
    """The GX Expectation for an entry; `{$param: x}` becomes a GX suite parameter."""
    _quiet_gx_environment()
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.metadata_types import FailureSeverity
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )

    try:
        cls = get_expectation_impl(spec.expectation)
    except ExpectationNotFoundError:
        close = difflib.get_close_matches(
            spec.expectation, list_registered_expectation_implementations(), n=1
        )
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"{where}: unknown expectation {spec.expectation!r}{hint}") from None
    kwargs = {
        k: {GX_PARAM_KEY: v[PARAM_KEY]} if _is_param(v) else v for k, v in spec.kwargs.items()
    }
    try:
        return cls(**kwargs, severity=FailureSeverity(spec.severity))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"{where}: {_describe_validation_error(exc)}") from None


def _describe_validation_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    by_field: dict[str, str] = {}
    for error in errors():
        loc = ".".join(str(part) for part in error.get("loc", ())) or "kwargs"
        by_field.setdefault(loc, error.get("msg", "invalid"))  # first reason per field
    parts = []
    for loc, msg in by_field.items():
        if msg == "field required":
            parts.append(f"missing required kwarg {loc!r}")
        elif msg == "extra fields not permitted":
            parts.append(f"unexpected kwarg {loc!r}")
        else:
            parts.append(f"kwarg {loc!r}: {msg}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ExpectationOutcome:
    """What one expectation found. `kwargs` are as evaluated (run-time parameters filled in).

    `unexpected_percent` is the share of all rows (unexpected_count / element_count). `examples`
    are up to five distinct unexpected values; `error` is set when GX could not evaluate the
    expectation (e.g. a missing column), which counts as a failure.
    """

    expectation: str
    column: str | None
    kwargs: dict[str, Any]
    severity: str
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    element_count: int | None = None
    examples: list[Any] = field(default_factory=list)
    partial_unexpected_list: list[Any] | None = None
    observed_value: Any = None
    error: str | None = None

    @property
    def label(self) -> str:
        """`expect_x(column)`, or `expect_x(k=v, ...)` for an expectation on no single column."""
        if self.column:
            return f"{self.expectation}({self.column})"
        return f"{self.expectation}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"

    def describe(self) -> str:
        """One line: what was expected and what was found."""
        if self.error:
            return f"{self.label}: could not be evaluated: {self.error}"
        if self.unexpected_count is not None:
            pct = "" if self.unexpected_percent is None else f" ({self.unexpected_percent:.1f}%)"
            total = "?" if self.element_count is None else self.element_count
            return (f"{self.label}: {self.unexpected_count} of {total} rows{pct} unexpected, "
                    f"e.g. {self.examples!r}")
        return f"{self.label}: observed {self.observed_value!r}"


Failure: TypeAlias = ExpectationOutcome  # an outcome whose `success` is False


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one `run_checks` call; `success` means no critical expectation failed."""

    suite: str
    table: str
    run_id: str
    success: bool
    critical_failures: list[Failure]
    warnings: list[Failure]
    evaluated: int
    seconds: float
    data_docs_index: str
    data_docs_page: str = ""
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    validation_key: Any = field(default=None, repr=False, compare=False)  # GX's id of the stored result

    def summary(self) -> str:
        """A one-paragraph account of the critical failures (or of success)."""
        head = f"data check {{}} for {self.table} (suite {self.suite}, run {self.run_id})"
        see = self.data_docs_page or self.data_docs_index
        if self.success:
            return (f"{head.format('passed')}: {self.evaluated} expectations, "
                    f"{len(self.warnings)} warning(s); see {see}")
        failures = "; ".join(f.describe() for f in self.critical_failures)
        return f"{head.format('failed')}: {failures}; see {see}"

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per expectation, in suite order, matching `RESULT_ROW_SCHEMA`."""
        return [
            {
                "suite": self.suite,
                "table": self.table,
                "run_id": self.run_id,
                "expectation": o.expectation,
                "column": o.column,
                "severity": o.severity,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "unexpected_percent": o.unexpected_percent,
                "observed_value": _as_text(o.observed_value),
                "partial_unexpected_list": None if o.partial_unexpected_list is None
                else _to_json(o.partial_unexpected_list),
                "details": _to_json({"kwargs": o.kwargs, "element_count": o.element_count,
                                     "error": o.error}),
            }
            for o in self.outcomes
        ]


class DataCheckFailed(Exception):
    """A critical expectation failed; `.result` holds the whole `CheckResult`."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.summary())
        self.result = result


def _to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _to_json(value)


# ------------------------------------------------------------------------------------------- run


@dataclass
class _Workspace:
    """One GX file context and the checkpoints synced into it, by suite name."""

    context: FileDataContext
    # suite name -> (suite fingerprint, fast-pass checkpoint, detail-pass checkpoint)
    checkpoints: dict[str, tuple[str, Checkpoint, Checkpoint]] = field(default_factory=dict)


_LOCK = threading.RLock()
_WORKSPACES: dict[Path, _Workspace] = {}


def run_checks(
    df: DataFrame,
    suite: str | SuiteSpec,
    *,
    gx_root: str | Path,
    run_id: str,
    params: Mapping[str, Any] | None = None,
    raise_on_critical: bool = True,
    update_docs: bool = True,
    fast: bool = False,
) -> CheckResult:
    """Validate `df` against a suite in one GX checkpoint run and return what was found.

    `gx_root` is a local folder for the GX file context (results and Data Docs persist there);
    `run_id` names the run in GX (e.g. the logical date); `params` fill the suite's `{$param: x}`
    kwargs (a missing one raises `ValueError`; extra ones are ignored). Raises `DataCheckFailed`
    when a critical expectation fails and `raise_on_critical`; warnings never raise.
    `update_docs=False` leaves the Data Docs site alone: a caller running many suites in one run
    publishes them together with `publish_docs` (one site update instead of one per suite).
    `fast=True` runs the pass / fail pass first and the detailed one only when something failed:
    a passing expectation is then recorded without counts or observed values (silver uses it).
    """
    started = time.perf_counter()
    spec = suite if isinstance(suite, SuiteSpec) else load_suite(suite)
    suite_params = _suite_parameters(spec, params or {})
    # Materialise the frame before taking the lock: computing its lineage is Spark's work and runs
    # beside another thread's checkpoint, instead of queueing behind GX's lock. A local checkpoint
    # also cuts the lineage, so GX's dozen queries plan against a short plan (see
    # jobs/silver/pipeline.run_job for the measured difference against cache()).
    df = df.localCheckpoint()
    with _LOCK:
        workspace = _workspace(gx_root)
        checkpoint_result, checkpoint = _run_checkpoint(workspace, spec, df, suite_params, run_id,
                                                        detail=not fast)
        result = _check_result(spec, run_id, workspace.context, checkpoint, checkpoint_result,
                               started)
        if fast and (result.critical_failures or result.warnings):  # fast: only pass / fail
            checkpoint_result, checkpoint = _run_checkpoint(workspace, spec, df, suite_params,
                                                            run_id, detail=True)
            result = _check_result(spec, run_id, workspace.context, checkpoint,
                                   checkpoint_result, started)
        if update_docs:
            _build_docs(workspace.context, [result])
    if result.warnings:
        logger.warning("data check warnings for %s (suite %s, run %s): %s", spec.table, spec.name,
                       run_id, "; ".join(w.describe() for w in result.warnings))
    if raise_on_critical and not result.success:
        raise DataCheckFailed(result)
    return result


def prepare(gx_root: str | Path) -> None:
    """Import GX and open the context now, from one thread: callers that then check tables from
    several threads must call this first (a first `import great_expectations` racing in two
    threads fails with a circular-import error)."""
    with _LOCK:
        _workspace(gx_root)


def publish_docs(gx_root: str | Path, results: list[CheckResult]) -> str:
    """Add the pages of these results to the Data Docs site and rebuild its index once; returns
    the index path."""
    with _LOCK:
        context = _workspace(gx_root).context
        if results:
            _build_docs(context, results)
        return _docs_path(context.get_docs_sites_urls())


def _build_docs(context: FileDataContext, results: list[CheckResult]) -> None:
    keys = [r.validation_key for r in results if r.validation_key is not None]
    if keys:
        context.build_data_docs(resource_identifiers=keys)


def _suite_parameters(spec: SuiteSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    missing = sorted(spec.params - set(params))
    if missing:
        raise ValueError(f"suite {spec.name} ({spec.path}) needs run-time parameter(s) {missing}; "
                         f"pass them in params=")
    return {name: params[name] for name in sorted(spec.params)}


def _quiet_gx_environment() -> None:
    """No usage statistics (set before GX is first imported)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _workspace(gx_root: str | Path) -> _Workspace:
    root_text = str(gx_root)
    if not is_local(root_text):
        raise ValueError(f"gx_root must be a local folder (GX file context), got {root_text}")
    root = local_path(root_text).resolve()
    workspace = _WORKSPACES.get(root)
    if workspace is None:
        _quiet_gx_environment()
        import great_expectations as gx

        root.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=root)
        _configure(context)
        workspace = _WORKSPACES[root] = _Workspace(context)
    return workspace


def _configure(context: FileDataContext) -> None:
    """No progress bars, no analytics, a bounded Data Docs index; saved only when changed."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    variables = context.variables
    changed = False
    bars = variables.progress_bars
    if bars is None or bars.get("globally", True) or bars.get("metric_calculations", True):
        variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        changed = True
    if variables.analytics_enabled is not False:
        variables.analytics_enabled = False
        changed = True
    sites = variables.data_docs_sites or {}
    for site in sites.values():
        index_builder = site.setdefault("site_index_builder", {"class_name": "DefaultSiteIndexBuilder"})
        if "validation_results_limit" not in index_builder:
            index_builder["validation_results_limit"] = DATA_DOCS_INDEX_LIMIT
            changed = True
    if changed:
        variables.data_docs_sites = sites
        variables.save()


def _run_checkpoint(
    workspace: _Workspace, spec: SuiteSpec, df: DataFrame, suite_params: dict[str, Any],
    run_id: str, detail: bool = False,
) -> tuple[CheckpointResult, Checkpoint]:
    """One pass of the suite over `df`: the fast one (pass / fail per expectation) or, with
    `detail`, the one that also counts and lists the unexpected values."""
    import great_expectations as gx
    from great_expectations.data_context import set_context
    from great_expectations.exceptions import ResourceFreshnessAggregateError

    set_context(workspace.context)  # for the GX code paths that still use the current context
    checkpoint = _checkpoint(workspace, spec, detail)
    # An explicit run_time: GX would otherwise parse a date-like run_name as the run time, and
    # a rerun of the same date would overwrite the earlier run's stored result.
    run = dict(batch_parameters={"dataframe": df}, expectation_parameters=suite_params,
               run_id=gx.RunIdentifier(run_name=run_id, run_time=datetime.now(timezone.utc)))
    try:
        return checkpoint.run(**run), checkpoint
    except ResourceFreshnessAggregateError:  # the stored suite was changed by another process
        workspace.checkpoints.pop(spec.name, None)
        checkpoint = _checkpoint(workspace, spec, detail)
        return checkpoint.run(**run), checkpoint


def _checkpoint(workspace: _Workspace, spec: SuiteSpec, detail: bool = False) -> Checkpoint:
    """The suite's fast-pass (or detail-pass) checkpoint, (re)written to the context only when
    the suite changed."""
    fingerprint = spec.fingerprint()
    cached = workspace.checkpoints.get(spec.name)
    if cached is None or cached[0] != fingerprint:
        cached = workspace.checkpoints[spec.name] = (fingerprint, *_sync_checkpoints(workspace.context, spec))
    return cached[2] if detail else cached[1]


def _sync_checkpoints(context: FileDataContext, spec: SuiteSpec) -> tuple[Checkpoint, Checkpoint]:
    import great_expectations as gx
    try:
        datasource = context.data_sources.get(DATASOURCE_NAME)
    except KeyError:
        # persist=False: GX would persist every batch and never unpersist it; run_checks
        # materialises the frame itself (a local checkpoint).
        datasource = context.data_sources.add_spark(name=DATASOURCE_NAME, persist=False)
    try:
        asset = datasource.get_asset(spec.name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=spec.name)
    try:
        batch_definition = asset.get_batch_definition(BATCH_DEFINITION_NAME)
    except KeyError:
        batch_definition = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION_NAME)
    suite = gx.ExpectationSuite(
        name=spec.name,
        expectations=[_build_expectation(e, f"{spec.path}: expectations[{i}]")
                      for i, e in enumerate(spec.expectations)],
        meta={"table": spec.table, "notes": spec.description},
    )
    validation = gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
    # Updates the suite (unchanged expectations keep their ids), validation definition and
    # checkpoints in place, or adds them. Data Docs are built by run_checks / publish_docs, once
    # per run if asked, not by checkpoint actions.
    fast = context.checkpoints.add_or_update(gx.Checkpoint(
        name=spec.name, validation_definitions=[validation], actions=[], result_format=FAST_RESULT_FORMAT))
    detail = context.checkpoints.add_or_update(gx.Checkpoint(
        name=spec.name + DETAIL_SUFFIX, validation_definitions=fast.validation_definitions, actions=[],
        result_format=RESULT_FORMAT))
    return fast, detail


def _check_result(
    spec: SuiteSpec, run_id: str, context: FileDataContext, checkpoint: Checkpoint,
    checkpoint_result: CheckpointResult, started: float,
) -> CheckResult:
    (key, validation), = checkpoint_result.run_results.items()
    position = {e.id: i for i, e in enumerate(checkpoint.validation_definitions[0].suite.expectations)}
    ordered: list[tuple[int, ExpectationOutcome]] = []
    for gx_result in validation.results:
        index = position.get(gx_result.expectation_config.id)
        if index is None:
            raise RuntimeError(f"GX returned a result for an expectation not in suite {spec.name}: "
                               f"{gx_result.expectation_config.type}")
        ordered.append((index, _outcome(gx_result, spec.expectations[index])))
    outcomes = [outcome for _, outcome in sorted(ordered, key=lambda pair: pair[0])]
    failures = [o for o in outcomes if not o.success]
    critical = [f for f in failures if f.severity == "critical"]
    return CheckResult(
        suite=spec.name,
        table=spec.table,
        run_id=run_id,
        success=not critical,
        critical_failures=critical,
        warnings=[f for f in failures if f.severity == "warning"],
        evaluated=len(outcomes),
        seconds=round(time.perf_counter() - started, 3),
        data_docs_index=_docs_path(context.get_docs_sites_urls(only_if_exists=False)),
        # where the page is (or will be, once the caller publishes the run's docs)
        data_docs_page=_docs_path(context.get_docs_sites_urls(resource_identifier=key, only_if_exists=False)),
        outcomes=outcomes,
        validation_key=key,
    )


def _outcome(gx_result: Any, spec: ExpectationSpec) -> ExpectationOutcome:
    config = gx_result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    found: dict[str, Any] = dict(gx_result.result or {})
    count = found.get("unexpected_count")
    total = found.get("element_count")
    partial = found.get("partial_unexpected_list")
    if count is not None and total:
        percent: float | None = 100.0 * count / total
    else:
        percent = found.get("unexpected_percent")
    return ExpectationOutcome(
        expectation=config.type,
        column=_column_of(kwargs),
        kwargs=kwargs,
        severity=spec.severity,
        success=bool(gx_result.success),
        unexpected_count=count,
        unexpected_percent=percent,
        element_count=total,
        examples=_distinct(partial or [])[:EXAMPLE_COUNT],
        partial_unexpected_list=partial,
        observed_value=found.get("observed_value"),
        error=_error_of(gx_result.exception_info),
    )


def _column_of(kwargs: Mapping[str, Any]) -> str | None:
    if isinstance(kwargs.get("column"), str):
        return kwargs["column"]
    if "column_A" in kwargs and "column_B" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if isinstance(kwargs.get("column_list"), list):
        return ",".join(str(c) for c in kwargs["column_list"])
    return None


def _distinct(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    kept = []
    for value in values:
        key = _to_json(value)
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


def _error_of(exception_info: Any) -> str | None:
    """The first exception message in GX's exception_info (flat, or keyed by metric)."""
    if not isinstance(exception_info, dict):
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            message = str(info.get("exception_message") or "error").strip()
            return message.splitlines()[0] if message else "error"
    return None


def _docs_path(urls: list[dict[str, Any]]) -> str:
    url = next((u.get("site_url") for u in urls if u.get("site_url")), None)
    if not url:
        return ""
    parsed = urlparse(url)
    return url2pathname(parsed.path) if parsed.scheme == "file" else url
