"""The model runner: the only code that talks to MLflow (`habitlake train`, `score`, `models`).

- **train**: for each model, call its `spec.train` as of a cutoff date, then in the model's own
  experiment (`habitlake_<name>`) log params, metrics, figures (PNG), tables and the model with its
  signature and input example, and register it as a new version of `habitlake_<name>`.
- **promotion**: the new version becomes `challenger`; it is promoted to `champion` only when its
  primary metric is strictly better than the champion's on the same evaluation data. The champion's
  logged metric is used when its evaluation fingerprint is the new one; otherwise the champion is
  loaded and re-evaluated with `TrainResult.champion_metric`; a model that gives neither is not
  promoted. The first version of a model becomes champion. The decision (promoted or kept, both
  metric values, the champion version, the reason) is recorded as tags on the run and the version.
  `challenger` always names the latest trained version that is not champion (none after a promotion).
- **score**: load `models:/habitlake_<name>@champion`, call `spec.score` as of a date, and write each
  returned frame to its gold table with `model_name` (the registered name) and `model_version`,
  replacing that model's slice of the date (`as_of_date` and `model_name`), so scoring a date
  twice leaves the table as after the first run; one row per model in `gold.model_scores`.
- **checks**: before anything of a model is written, each of its tables with a Great Expectations
  suite (`expectations/suites/gold_<table>.yaml`) is validated once, as the tagged rows that would
  be written (frame cached once for the count, the check and the write; run-time parameters `rows`
  and, when a suite asks for it, `customers` = customers known at the date). A critical failure
  raises `ScoreCheckFailed` naming the model, table, expectation and column, and none of that
  model's tables nor its `gold.model_scores` row is written. Results go to `gold.check_results`
  under run id `score_<date>` (a re-run replaces only that model's suites' rows of the date) and to
  the Data Docs of gold's GX root. Only the known models' tables are checked: a spec of another name
  (a test's or notebook's own) is scored unchecked, since the suites describe the known models' output.

Models are discovered by name (`KNOWN_MODELS`); a package whose `spec.py` is not there yet is
reported as not available instead of failing the others. Tests pass specs explicitly (`specs=`).
"""
from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from expectations.runner import DataCheckFailed
from habitlake import catalog
from habitlake.settings import Settings
from jobs.gold.framework import CHECK_RESULTS  # scoring records its checks where gold runs record theirs
from models import mlflow_utils as mu
from models.framework import CHALLENGER, CHAMPION, REGISTERED_PREFIX, ModelSpec, ScoreContext, TrainContext, TrainResult

KNOWN_MODELS = ("segmentation", "churn", "recommend", "basket", "demand", "price_sensitivity")
DEFAULT_SEED = 42
AS_OF = "as_of_date"
MODEL_SCORES = "gold.model_scores"
MODEL_SCORES_SCHEMA = T.StructType([
    T.StructField(AS_OF, T.DateType()),
    T.StructField("model_name", T.StringType()),
    T.StructField("model_version", T.IntegerType()),
    T.StructField("run_id", T.StringType()),
    T.StructField("tables", T.ArrayType(T.StringType())),
    T.StructField("rows", T.LongType()),
    T.StructField("seconds", T.DoubleType()),
])


# --- discovery ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Available:
    """A known model name and its spec, or why there is none."""

    name: str
    spec: ModelSpec | None
    reason: str = ""  # why not available

    @property
    def registered_name(self) -> str:
        return f"{REGISTERED_PREFIX}{self.name}"


def load_spec(name: str) -> Available:
    """`models/<name>/spec.py`'s SPEC; a missing spec module is "not available", not an error."""
    module_name = f"models.{name}.spec"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as missing:
        if missing.name in (f"models.{name}", module_name):
            return Available(name, None, f"not available: models/{name}/spec.py does not exist yet")
        return Available(name, None, f"not available: importing {module_name} failed: {missing}")
    except Exception as broken:  # noqa: BLE001 - one broken package must not hide the others
        return Available(name, None, f"not available: importing {module_name} failed: {broken!r}")
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, ModelSpec):
        return Available(name, None, f"not available: {module_name} defines no SPEC = ModelSpec(...)")
    return Available(name, spec)


def discover(names: Sequence[str] | None = None) -> list[Available]:
    """Every requested model (default: all known), available or with its reason."""
    names = list(names or KNOWN_MODELS)
    unknown = [n for n in names if n not in KNOWN_MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(KNOWN_MODELS)}")
    return [load_spec(n) for n in names]


# --- train --------------------------------------------------------------------------------------

@dataclass
class Decision:
    promoted: bool
    reason: str
    challenger_value: float
    champion_version: int | None = None
    champion_value: float | None = None

    def describe(self, metric: str) -> str:
        if self.champion_version is None:
            return f"{metric} {self.challenger_value:.6g}: {self.reason} -> champion"
        old = "n/a" if self.champion_value is None else f"{self.champion_value:.6g}"
        verdict = "promoted to champion" if self.promoted else "stays challenger"
        return (f"{metric} {self.challenger_value:.6g} vs champion v{self.champion_version} {old} "
                f"({self.reason}) -> {verdict}")


@dataclass
class TrainOutcome:
    name: str
    registered_name: str
    version: int
    run_id: str
    cutoff: dt.date
    seed: int
    metrics: dict[str, float]
    primary_metric: str
    decision: Decision
    seconds: float

    def describe(self) -> str:
        return (f"{self.name}: version {self.version} (cutoff {self.cutoff}, seed {self.seed}, "
                f"{self.seconds:.1f}s): {self.decision.describe(self.primary_metric)}")


def default_cutoff(spark: SparkSession, settings: Settings) -> dt.date:
    """The latest business day with orders in silver (`max(order_date)` of silver.orders): the
    newest as-of date every model has data for."""
    orders = catalog.table("silver.orders")
    if not catalog.exists(spark, settings, orders):
        raise LookupError("silver.orders does not exist yet: run `habitlake silver` first, or give --cutoff")
    latest = catalog.read(spark, settings, "silver.orders").agg(F.max("order_date")).first()[0]
    if latest is None:
        raise LookupError("silver.orders is empty: give --cutoff")
    return latest


def _check_result(spec: ModelSpec, result: TrainResult) -> None:
    if not isinstance(result, TrainResult):
        raise TypeError(f"{spec.name}: train() returned {type(result).__name__}, not a TrainResult")
    if result.primary_metric not in result.metrics:
        raise ValueError(f"{spec.name}: primary metric {result.primary_metric!r} is not among the metrics "
                         f"{sorted(result.metrics)}")
    if result.flavor not in mu.FLAVORS:
        raise ValueError(f"{spec.name}: unknown flavor {result.flavor!r}; known: {', '.join(mu.FLAVORS)}")


def _alias(client, registered: str, alias: str):
    """The model version an alias points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(registered, alias)
    except MlflowException:
        return None


def _champion_value(client, champion, result: TrainResult) -> tuple[float | None, str]:
    """The champion's primary metric on the new evaluation data, and how it was obtained."""
    run = client.get_run(champion.run_id)
    tags, metrics = run.data.tags, run.data.metrics
    same_data = bool(result.eval_fingerprint) and tags.get(mu.TAG_FINGERPRINT) == result.eval_fingerprint
    if same_data and result.primary_metric in metrics:
        return metrics[result.primary_metric], "same evaluation data"
    if result.champion_metric is not None:
        model = mu.load_model(f"models:/{champion.name}/{champion.version}", tags.get(mu.TAG_FLAVOR, "spark"),
                              tags.get(mu.TAG_CLASS, ""))
        return float(result.champion_metric(model)), "champion re-evaluated on this evaluation data"
    return None, "champion was evaluated on other data and the model cannot re-evaluate it"


def decide(client, registered: str, result: TrainResult) -> Decision:
    """Promotion rule: see the module docstring."""
    new = float(result.metrics[result.primary_metric])
    champion = _alias(client, registered, CHAMPION)
    if champion is None:
        return Decision(True, "first version", new)
    old, how = _champion_value(client, champion, result)
    if old is None:
        return Decision(False, how, new, int(champion.version))
    better = mu.is_better(new, old, result.higher_is_better)
    comparison = ("better" if better else "not better") + (" (higher is better)" if result.higher_is_better
                                                          else " (lower is better)")
    return Decision(better, f"{comparison}, {how}", new, int(champion.version), old)


def _apply(client, registered: str, version: int, run_id: str, decision: Decision) -> None:
    """Move the aliases and record the decision on the version and its run."""
    if decision.promoted:
        client.set_registered_model_alias(registered, CHAMPION, str(version))
        if _alias(client, registered, CHALLENGER) is not None:
            client.delete_registered_model_alias(registered, CHALLENGER)
    else:
        client.set_registered_model_alias(registered, CHALLENGER, str(version))
    tags = {
        mu.TAG_DECISION: "promoted" if decision.promoted else "kept",
        mu.TAG_REASON: decision.reason,
        mu.TAG_NEW_VALUE: repr(decision.challenger_value),
        mu.TAG_CHAMPION_VALUE: "" if decision.champion_value is None else repr(decision.champion_value),
        mu.TAG_CHAMPION_VERSION: "" if decision.champion_version is None else str(decision.champion_version),
    }
    for key, value in tags.items():
        client.set_model_version_tag(registered, str(version), key, value)
        client.set_tag(run_id, key, value)


def _run_tags(spec: ModelSpec, result: TrainResult, cutoff: dt.date, seed: int) -> dict[str, str]:
    return {
        mu.TAG_MODEL: spec.name,
        mu.TAG_CUTOFF: cutoff.isoformat(),
        mu.TAG_SEED: str(seed),
        mu.TAG_FINGERPRINT: result.eval_fingerprint,
        mu.TAG_PRIMARY: result.primary_metric,
        mu.TAG_HIGHER: str(result.higher_is_better).lower(),
        mu.TAG_FLAVOR: result.flavor,
        mu.TAG_CLASS: type(result.model).__name__,
    }


def train_one(spark: SparkSession, settings: Settings, spec: ModelSpec, cutoff: dt.date, seed: int = DEFAULT_SEED,
              params: Mapping[str, Any] | None = None, client=None) -> TrainOutcome:
    """Train, evaluate, log, register and maybe promote one model."""
    import mlflow

    client = client or mu.configure(settings)
    t0 = time.monotonic()
    result = spec.train(TrainContext(spark, settings, cutoff, seed, dict(params or {})))
    _check_result(spec, result)
    seconds = time.monotonic() - t0
    registered = spec.registered_name
    experiment = mu.experiment_id(client, settings, registered)
    tags = _run_tags(spec, result, cutoff, seed)
    with mlflow.start_run(experiment_id=experiment, run_name=f"{spec.name} {cutoff} seed {seed}") as run:
        mlflow.set_tags({**tags, "habitlake.train_seconds": f"{seconds:.1f}"})
        mlflow.log_params({"cutoff": cutoff.isoformat(), "seed": str(seed), **mu.flat_params(result.params)})
        mlflow.log_metrics(mu.clean_metrics(result.metrics))
        mu.log_figures(result.figures)
        mu.log_tables(result.tables)
        info = mu.log_model(result, mu.signature_for(result, spark))
        run_id = run.info.run_id
    version = mlflow.register_model(info.model_uri, registered, tags=tags)
    decision = decide(client, registered, result)
    _apply(client, registered, int(version.version), run_id, decision)
    return TrainOutcome(spec.name, registered, int(version.version), run_id, cutoff, seed,
                        mu.clean_metrics(result.metrics), result.primary_metric, decision,
                        time.monotonic() - t0)


def train(spark: SparkSession, settings: Settings, specs: Sequence[ModelSpec], cutoff: str | dt.date | None = None,
          seed: int = DEFAULT_SEED, params: Mapping[str, Any] | None = None, log=print) -> list[TrainOutcome]:
    """Train each spec in turn (see `train_one`); `cutoff` defaults to `default_cutoff`."""
    day = dt.date.fromisoformat(str(cutoff)) if cutoff else default_cutoff(spark, settings)
    client = mu.configure(settings)
    outcomes = []
    for spec in specs:
        outcome = train_one(spark, settings, spec, day, seed, params, client)
        log(outcome.describe())
        outcomes.append(outcome)
    return outcomes


# --- score --------------------------------------------------------------------------------------

@dataclass
class ScoreOutcome:
    name: str
    registered_name: str
    version: int
    tables: dict[str, int]  # gold table -> rows written for the date
    seconds: float

    def describe(self) -> str:
        written = ", ".join(f"{t} ({n:,} rows)" for t, n in self.tables.items()) or "nothing"
        return f"{self.name}: champion version {self.version} wrote {written} in {self.seconds:.1f}s"


def tag_rows(df: DataFrame, day: dt.date, registered: str, version: int) -> DataFrame:
    """A model's output as a gold slice: `as_of_date` first, then its columns, then the model that
    made it (`model_name` = registered name, `model_version`)."""
    own = [c for c in df.columns if c not in (AS_OF, "model_name", "model_version")]
    return df.select(
        F.lit(day).cast("date").alias(AS_OF),
        *own,
        F.lit(registered).alias("model_name"),
        F.lit(version).cast("int").alias("model_version"),
    )


def _write_slice(spark: SparkSession, settings: Settings, table: str, rows: DataFrame, day: dt.date,
                 registered: str) -> int:
    """Replace this model's slice of the date (rows of other models in the same table stay);
    returns the rows now in it."""
    slice_of = f"{AS_OF} = '{day}' AND model_name = '{registered}'"
    catalog.replace_where(rows, spark, settings, table, slice_of)
    return catalog.read(spark, settings, table).filter(slice_of).count()


SCORE_RUN_PREFIX = "score_"  # run id of a scoring run's checks in gold.check_results: score_<date>


class ScoreCheckFailed(DataCheckFailed):
    """A critical expectation failed on a model's output; nothing of the model was written."""

    def __init__(self, model: str, result) -> None:
        super().__init__(result)
        self.model = model
        self.args = (f"{model}: {result.summary()}; nothing of {model} was written",)


def suite_name(table: str) -> str:
    """The suite of a gold table: gold.churn_risk -> gold_churn_risk."""
    return table.replace(".", "_")


def checked_tables(spec: ModelSpec, tables: Sequence[str]) -> dict[str, str]:
    """{table: suite} of the tables of `spec` that are checked when scored (see the module doc)."""
    from expectations.runner import SUITES_DIR, SUITE_SUFFIX

    if spec.name not in KNOWN_MODELS:
        return {}
    suites = {t: suite_name(t) for t in tables}
    return {t: s for t, s in suites.items() if (SUITES_DIR / f"{s}{SUITE_SUFFIX}").is_file()}


def _check(rows: DataFrame, n: int, suite: str, asof, run_id: str, known: dict[str, Any]):
    """One GX validation of a table's tagged rows (cached by the caller); `known` keeps the run-time
    parameters computed for earlier tables of the run."""
    from expectations.runner import load_suite, run_checks
    from jobs.gold.run import gold_root

    spec = load_suite(suite)
    if "customers" in spec.params and "customers" not in known:
        known["customers"] = asof.customers().count()
    return run_checks(rows, spec, gx_root=gold_root(asof), run_id=run_id, params={**known, "rows": n},
                      raise_on_critical=False, update_docs=False)


def _record_checks(spark: SparkSession, settings: Settings, day: dt.date, suites: Sequence[str],
                   results: Sequence[Any]) -> None:
    """Replace this model's suites' rows of run `score_<day>` in gold.check_results with `results`
    (other models' rows of the run stay; positions are renumbered in order)."""
    from expectations.runner import RESULT_ROW_SCHEMA

    run_id = f"{SCORE_RUN_PREFIX}{day}"
    kept: list[dict] = []
    if catalog.exists(spark, settings, catalog.table(CHECK_RESULTS)):
        kept = [r.asDict() for r in catalog.read(spark, settings, CHECK_RESULTS)
                .filter(F.col("run_id") == run_id).orderBy("position").collect()
                if r["suite"] not in suites]
    new = [row for result in results for row in result.rows()]
    if not kept and not new:
        return
    rows = [{**{k: v for k, v in r.items() if k != "position"}, "position": i} for i, r in enumerate(kept + new)]
    df = spark.createDataFrame(rows, f"{RESULT_ROW_SCHEMA}, position int")
    catalog.replace_where(df, spark, settings, CHECK_RESULTS, f"run_id = '{run_id}'")


def score_one(spark: SparkSession, settings: Settings, spec: ModelSpec, asof, params: Mapping[str, Any] | None = None,
              client=None) -> ScoreOutcome:
    """Score one model's champion as of `asof.day`, check its tables, write them and gold.model_scores."""
    client = client or mu.configure(settings)
    if spec.score is None:
        raise ValueError(f"{spec.name}: the spec has no score function")
    registered = spec.registered_name
    champion = _alias(client, registered, CHAMPION)
    if champion is None:
        raise LookupError(f"{registered} has no champion yet: run `habitlake train {spec.name}` first")
    t0 = time.monotonic()
    tags = client.get_run(champion.run_id).data.tags
    model = mu.load_model(f"models:/{registered}@{CHAMPION}", tags.get(mu.TAG_FLAVOR, "spark"),
                          tags.get(mu.TAG_CLASS, ""))
    version = int(champion.version)
    frames = spec.score(ScoreContext(spark, settings, asof, dict(params or {})), model)
    undeclared = [t for t in frames if spec.gold_tables and t not in spec.gold_tables]
    if undeclared:
        raise ValueError(f"{spec.name}: score() returned {undeclared}, not in gold_tables {spec.gold_tables}")
    tagged = {table: tag_rows(df, asof.day, registered, version) for table, df in frames.items()}
    suites = checked_tables(spec, list(dict.fromkeys([*spec.gold_tables, *tagged])))
    cached = [tagged[t].cache() for t in tagged if t in suites]  # counted, checked and written from the cache
    try:
        if suites:
            _check_all(spark, settings, spec, asof, tagged, suites)
        written = {table: _write_slice(spark, settings, table, rows, asof.day, registered)
                   for table, rows in tagged.items()}
    finally:
        for rows in cached:
            rows.unpersist()
    seconds = time.monotonic() - t0
    record = spark.createDataFrame(
        [(asof.day, registered, version, champion.run_id, list(written), sum(written.values()), round(seconds, 3))],
        MODEL_SCORES_SCHEMA,
    )
    catalog.replace_where(record, spark, settings, MODEL_SCORES,
                          f"{AS_OF} = '{asof.day}' AND model_name = '{registered}'")
    return ScoreOutcome(spec.name, registered, version, written, seconds)


def _check_all(spark: SparkSession, settings: Settings, spec: ModelSpec, asof, tagged: Mapping[str, DataFrame],
               suites: Mapping[str, str]) -> None:
    """Validate each checked table once (stopping at the first critical failure), record the results
    and publish their Data Docs; raises ScoreCheckFailed on a critical failure."""
    from expectations.runner import publish_docs
    from jobs.gold.run import gold_root

    run_id = f"{SCORE_RUN_PREFIX}{asof.day}"
    known: dict[str, Any] = {}
    results: list[Any] = []
    try:
        for table, rows in tagged.items():
            if table in suites:
                results.append(_check(rows, rows.count(), suites[table], asof, run_id, known))
                if not results[-1].success:
                    raise ScoreCheckFailed(spec.name, results[-1])
    finally:
        _record_checks(spark, settings, asof.day, sorted(set(suites.values())), results)
        publish_docs(gold_root(asof), results)


def score(spark: SparkSession, settings: Settings, specs: Sequence[ModelSpec], day: str | dt.date,
          params: Mapping[str, Any] | None = None, log=print) -> list[ScoreOutcome]:
    """Score each spec's champion as of `day` (see `score_one`)."""
    from jobs.gold.asof import AsOf

    asof = AsOf(spark, settings, day)
    client = mu.configure(settings)
    outcomes = []
    for spec in specs:
        outcome = score_one(spark, settings, spec, asof, params, client)
        log(outcome.describe())
        outcomes.append(outcome)
    return outcomes


# --- the registry, for `habitlake models` --------------------------------------------------------

def _version_info(client, version) -> dict[str, Any] | None:
    if version is None:
        return None
    run = client.get_run(version.run_id)
    tags = run.data.tags
    return {
        "version": int(version.version),
        "run_id": version.run_id,
        "cutoff": tags.get(mu.TAG_CUTOFF),
        "seed": int(tags[mu.TAG_SEED]) if mu.TAG_SEED in tags else None,
        "primary_metric": tags.get(mu.TAG_PRIMARY),
        "higher_is_better": tags.get(mu.TAG_HIGHER) == "true",
        "metrics": dict(sorted(run.data.metrics.items())),
        "decision": tags.get(mu.TAG_DECISION),
        "decision_reason": tags.get(mu.TAG_REASON),
    }


@dataclass
class ModelEntry:
    name: str
    registered_name: str
    status: str  # ready | not trained | not available: ... | registered (no spec)
    champion: dict[str, Any] | None = None
    challenger: dict[str, Any] | None = None
    versions: int = 0
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.name, "registered_model": self.registered_name, "status": self.status,
                "description": self.description, "versions": self.versions,
                "champion": self.champion, "challenger": self.challenger}


def registry(settings: Settings, available: Sequence[Available] | None = None) -> list[ModelEntry]:
    """Each known model (and any other `habitlake_*` registered model) with its champion and
    challenger versions and their evaluation metrics."""
    client = mu.configure(settings)
    available = list(available if available is not None else discover())
    found = {rm.name: rm for rm in client.search_registered_models(filter_string=f"name LIKE '{REGISTERED_PREFIX}%'")}
    entries = []
    names = [(a.registered_name, a) for a in available]
    names += [(reg, None) for reg in sorted(found) if reg not in {r for r, _ in names}]
    for registered, avail in names:
        name = avail.name if avail else registered[len(REGISTERED_PREFIX):]
        description = avail.spec.description if avail and avail.spec else ""
        if registered not in found:
            status = avail.reason if avail and avail.spec is None else "not trained"
            entries.append(ModelEntry(name, registered, status, description=description))
            continue
        champion = _version_info(client, _alias(client, registered, CHAMPION))
        challenger = _version_info(client, _alias(client, registered, CHALLENGER))
        versions = len(client.search_model_versions(f"name = '{registered}'"))
        status = "ready" if champion else "no champion"
        if avail is None:
            status += " (not a known model)"
        elif avail.spec is None:
            status += f" ({avail.reason})"
        entries.append(ModelEntry(name, registered, status, champion, challenger, versions, description))
    return entries
