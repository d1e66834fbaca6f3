"""The tag engine: load the registry (conf/tags.yaml), expand templates, validate, compute all tags at once.

A tag is a named condition over the columns of gold.customer_profile, written in the expression
language of `jobs/gold/expr.py` (docs/expressions.md). The registry holds tags and templates; a
template expands into a family of tags, one per value of a literal list or of the data on the as-of
date (e.g. one "prefers <category>" tag per category_l2 seen in the profile's category_share maps).
`kind: statistic` tags may use data-derived thresholds: `{p90:spend_90d}` is the 90th percentile of
spend_90d among buyers (orders_total > 0) on the as-of date.

Lifecycle of a run (the profile job calls `add_tags`, or the steps below):

1. `load()` reads conf/tags.yaml and checks its structure (fields, kind, status, version, ids);
2. `validate(registry, schema, published)` checks, before any data is read, that every definition
   (templates probed with a sample value) parses and type-checks against the profile's columns, that
   ids do not collide with profile columns or keywords, and that no definition changed without a
   version bump relative to the published registry (gold.tag_registry);
3. `discover(profile, registry)` reads the profile once (one aggregate) for the template values and
   the statistic thresholds of the as-of date;
4. `expand(registry, values)` gives the tags of the date (ids of data-driven families are stable: a
   value maps to the same id every day, via conf `slugs:` or a hash);
5. `tags_column(tags, schema)` is ONE column (array<string> of the held online tag ids) computed in
   the same projection as the rest of the profile: every tag is a `CASE WHEN` inside one `array`,
   nulls removed, so adding tags adds no scans.

Problems are `TagError` (a ValueError) naming the file and the tag or template; expression problems
keep the expression error's position and caret.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from habitlake.contract import CONF_DIR
from habitlake.settings import PROJECT_DIR
from jobs.gold import expr as E

TAGS_CONF = CONF_DIR / "tags.yaml"
KINDS = ("rule", "statistic", "model")
STATUSES = ("draft", "online", "offline")
TAG_FIELDS = ("id", "name_zh", "name_en", "group", "subgroup", "kind", "owner", "status", "version",
              "description", "definition")
TOP_KEYS = {"defaults", "slugs", "labels", "tags", "templates"}
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
PERCENTILE = re.compile(r"\{p(\d{1,2}):([A-Za-z_][A-Za-z0-9_]*)\}")
# values_from names that are not profile columns: the keys of these map columns
SOURCE_ALIASES = {"category_l2": "category_share", "category_l1": "category_l1_share",
                  "channel": "channel_mix", "payment": "payment_mix"}
BUYERS = "orders_total > 0"  # the population of statistic thresholds
TAGS_COLUMN = "tags"
_SEP = "\x1f"


class TagError(ValueError):
    """A problem with the tag registry, naming the file and the tag or template."""


def _display(path: Path | str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(p)


# --- the profile's columns as the contract states them (validation before any data exists) ------

CONTRACT_DDL = """
customer_id string, gender string, age int, province string, city string, city_tier string,
climate_zone string, region string, in_sichuan boolean, member_level string, household_type string,
customer_type string, acquisition_channel string, signup_date date, tenure_days int,
first_order_date date, last_order_date date, recency_days int, orders_total bigint, orders_30d bigint,
orders_90d bigint, spend_total double, spend_30d double, spend_90d double, avg_order_value double,
monthly_spend double, repurchase_rate double, purchase_days_90d bigint, avg_interpurchase_days double,
margin_total double, margin_90d double, ltv_estimate double, r_score int, f_score int, m_score int,
rfm_score string, rfm_total int, channel_mix map<string,double>, preferred_channel string,
payment_mix map<string,double>, preferred_payment string, category_share map<string,double>,
category_l1_share map<string,double>, top_category string, top_products array<string>,
brand_loyalty double, hour_share array<double>, preferred_hour int, preferred_hour_band string,
weekend_share double, best_push_hour int, preferred_push_channel string, promo_order_share double,
discount_rate double, price_sensitivity double, campaign_sends bigint, campaign_conversions bigint,
promo_response_rate double, views_30d bigint, searches_30d bigint, cart_adds_30d bigint,
favorites_30d bigint, reviews_total bigint, avg_rating double, complaints_total bigint,
deliveries_total bigint, late_deliveries bigint, late_delivery_rate double, lifecycle_stage string,
is_churned boolean, days_to_churn int, tier string, tier_rule string, segment string,
churn_risk double, churn_band string, tags array<string>
"""


def contract_schema() -> T.StructType:
    """gold.customer_profile's columns with the types the contract implies (jobs/gold/customer_profile.py
    docstring); the real table's schema is used whenever a profile frame is at hand."""
    return T.StructType([T.StructField(item.split(" ", 1)[0], _ddl_type(item.split(" ", 1)[1]))
                         for item in " ".join(CONTRACT_DDL.split()).split(", ")])


def _ddl_type(ddl_type: str) -> T.DataType:
    simple = {"string": T.StringType(), "int": T.IntegerType(), "bigint": T.LongType(), "double": T.DoubleType(),
              "boolean": T.BooleanType(), "date": T.DateType()}
    if ddl_type in simple:
        return simple[ddl_type]
    m = re.fullmatch(r"map<string,(\w+)>", ddl_type)
    if m:
        return T.MapType(T.StringType(), simple[m.group(1)])
    m = re.fullmatch(r"array<(\w+)>", ddl_type)
    if m:
        return T.ArrayType(simple[m.group(1)])
    raise ValueError(ddl_type)


# --- registry -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tag:
    id: str
    name_zh: str
    name_en: str
    group: str
    subgroup: str
    kind: str
    owner: str
    status: str
    version: int
    description: str
    definition: str  # as registered (template placeholders filled; statistic placeholders kept)
    expanded_from: str | None = None  # template id
    value: object = None  # the template value it was expanded for
    resolved: str | None = None  # definition with the statistic thresholds of the as-of date
    origin: str = ""  # "conf/tags.yaml tag 'x'" / "conf/tags.yaml template 't' (tag 'x')"

    @property
    def condition(self) -> str:
        """The text that is compiled: the resolved definition when thresholds were filled in."""
        if self.resolved is not None:
            return self.resolved
        if PERCENTILE.search(self.definition):
            raise TagError(f"{self.origin}: statistic thresholds {PERCENTILE.findall(self.definition)} are not "
                           f"resolved; expand the registry with discover(profile) values first")
        return self.definition


@dataclass(frozen=True)
class Template:
    id: str
    spec: Mapping[str, object]  # the tag fields, with {placeholders}
    values: tuple | None  # for_each.values (literal list), or
    values_from: str | None  # for_each.values_from (a profile source)
    origin: str


@dataclass(frozen=True)
class Registry:
    path: str
    tags: tuple[Tag, ...]
    templates: tuple[Template, ...]
    slugs: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def sources(self) -> set[str]:
        return {t.values_from for t in self.templates if t.values_from}

    def percentiles(self) -> set[tuple[int, str]]:
        texts = [t.definition for t in self.tags] + [str(t.spec.get("definition", "")) for t in self.templates]
        return {(int(p), f) for text in texts for p, f in PERCENTILE.findall(text)}


def load(path: Path | str = TAGS_CONF) -> Registry:
    """conf/tags.yaml as a Registry; structural problems (missing fields, bad kind / status / version,
    bad or duplicate ids, unknown keys) raise one TagError listing them all."""
    where = _display(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as bad:
        raise TagError(f"{where}: not valid YAML: {bad}") from None
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise TagError(f"{where}: expected a mapping with `tags:` and `templates:`")
    for key in sorted(set(raw) - TOP_KEYS):
        problems.append(f"{where}: unknown top-level key {key!r} (known: {', '.join(sorted(TOP_KEYS))})")
    defaults = raw.get("defaults") or {}
    slugs = {str(k): str(v) for k, v in (raw.get("slugs") or {}).items()}
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    for value, slug in slugs.items():
        if not re.fullmatch(r"[a-z0-9_]+", slug):
            problems.append(f"{where}: slug {slug!r} of {value!r} must be lower-case letters, digits and _")

    tags: list[Tag] = []
    for i, entry in enumerate(raw.get("tags") or []):
        label = f"{where} tag #{i + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: expected a mapping")
            continue
        if "id" in entry:
            label = f"{where} tag {entry['id']!r}"
        spec = {**defaults, **entry}
        problems += _check_fields(spec, label, set(TAG_FIELDS))
        if any(p.startswith(label) for p in problems):
            continue
        tags.append(Tag(**{k: spec[k] if k == "version" else str(spec[k]).strip() for k in TAG_FIELDS},
                        origin=label))

    templates: list[Template] = []
    for i, entry in enumerate(raw.get("templates") or []):
        label = f"{where} template #{i + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: expected a mapping")
            continue
        if "template" in entry:
            label = f"{where} template {entry['template']!r}"
        else:
            problems.append(f"{label}: `template:` (the template's id) is missing")
            continue
        spec = {**defaults, **{k: v for k, v in entry.items() if k not in ("template", "for_each")}}
        before = len(problems)
        problems += _check_fields(spec, label, set(TAG_FIELDS), template=True)
        if not ID_PATTERN.match(str(entry["template"])):
            problems.append(f"{label}: template id must match {ID_PATTERN.pattern}")
        values, values_from = None, None
        each = entry.get("for_each")
        if not isinstance(each, dict) or len(set(each) & {"values", "values_from"}) != 1 or set(each) - {
                "values", "values_from"}:
            problems.append(f"{label}: for_each must be {{values: [...]}} or {{values_from: <source>}}")
        elif "values" in each:
            values = each["values"]
            if not isinstance(values, list) or not values:
                problems.append(f"{label}: for_each.values must be a non-empty list")
            else:
                for item in values:
                    if isinstance(item, dict) and "value" not in item:
                        problems.append(f"{label}: an item of for_each.values mapping needs a `value:` key")
                    elif not isinstance(item, (dict, str, int, float)) or isinstance(item, bool):
                        problems.append(f"{label}: for_each.values items must be text, numbers or mappings")
                values = tuple(values)
        else:
            values_from = str(each["values_from"])
            definition = str(spec.get("definition", ""))
            unquoted = re.sub(r"'\{(value|label)\}'", "", definition)
            if re.search(r"\{(value|label)\}", unquoted):
                problems.append(f"{label}: a value taken from the data must be quoted in the definition "
                                f"('{{value}}') or written {{literal}}, so data never becomes part of a condition")
        if len(problems) == before:
            templates.append(Template(str(entry["template"]), spec, values, values_from, label))

    seen: dict[str, str] = {}
    for t in [*tags, *[Template(x.id, {}, None, None, x.origin) for x in templates]]:
        key = t.id if isinstance(t, Tag) else f"template:{t.id}"
        if key in seen:
            problems.append(f"{t.origin}: duplicate id {t.id!r} (also {seen[key]})")
        seen[key] = t.origin
    if problems:
        raise TagError(_many(problems))
    return Registry(where, tuple(tags), tuple(templates), slugs, labels)


def _many(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems in the tag registry:\n" + "\n".join(f"- {p}" for p in problems)


def _check_fields(spec: Mapping, label: str, allowed: set[str], template: bool = False) -> list[str]:
    out = []
    for key in sorted(set(spec) - allowed):
        out.append(f"{label}: unknown key {key!r} (known: {', '.join(TAG_FIELDS)})")
    for key in TAG_FIELDS:
        if spec.get(key) is None or (isinstance(spec.get(key), str) and not spec[key].strip()):
            out.append(f"{label}: `{key}` is missing")
    if spec.get("kind") is not None and spec["kind"] not in KINDS:
        out.append(f"{label}: kind {spec['kind']!r} is not one of {', '.join(KINDS)}")
    if spec.get("status") is not None and spec["status"] not in STATUSES:
        out.append(f"{label}: status {spec['status']!r} is not one of {', '.join(STATUSES)}")
    version = spec.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        out.append(f"{label}: version must be a whole number >= 1, got {version!r}")
    if not template and spec.get("id") is not None and not ID_PATTERN.match(str(spec["id"])):
        out.append(f"{label}: id must be lower-case letters, digits and _ starting with a letter "
                   f"(at most 80), got {spec['id']!r}")
    return out


# --- values of the as-of date ---------------------------------------------------------------------

@dataclass(frozen=True)
class Values:
    """What the data says on the as-of date: the values of each template source and the thresholds."""

    values: Mapping[str, tuple] = field(default_factory=dict)
    percentiles: Mapping[tuple[int, str], float | None] = field(default_factory=dict)


def source_column(source: str) -> str:
    return SOURCE_ALIASES.get(source, source)


def discover(profile: DataFrame, registry: Registry) -> Values:
    """The template values and statistic thresholds of `profile`, in ONE aggregate over it.

    Each row is exploded into (source, value) pairs of every template source (a map column gives its
    keys), and the first pair of each row carries the numeric columns thresholds are taken from; one
    global aggregate collects the distinct values and the percentiles among buyers."""
    schema = {f.name: f.dataType for f in profile.schema.fields}
    problems = []
    for t in registry.templates:
        if t.values_from and source_column(t.values_from) not in schema:
            problems.append(f"{t.origin}: values_from {t.values_from!r} is not a profile column "
                            f"(nor one of {', '.join(SOURCE_ALIASES)})")
    wanted = sorted(registry.percentiles())
    for p, name in wanted:
        if name not in schema or E.type_name(schema[name]) != E.NUMBER:
            problems.append(f"{registry.path}: {{p{p}:{name}}} needs a numeric profile column {name!r}")
    if problems:
        raise TagError(_many(problems))
    sources = sorted(registry.sources())
    pieces = []
    for source in sources:
        col_name = source_column(source)
        dtype = schema[col_name]
        prefix = F.lit(source + _SEP)
        if isinstance(dtype, T.MapType):
            items = F.map_keys(F.col(col_name))
        elif isinstance(dtype, T.ArrayType):
            items = F.col(col_name)
        else:
            items = F.array(F.col(col_name))
        items = F.coalesce(items.cast("array<string>"), F.array().cast("array<string>"))
        pieces.append(F.transform(items, _prefixer(prefix)))
    pairs = F.concat(*pieces) if pieces else F.array().cast("array<string>")
    # one extra empty entry so every row survives the explode and carries the numeric columns once
    pairs = F.concat(F.array(F.lit(None).cast("string")), pairs)
    fields = sorted({name for _, name in wanted})
    buyers = E.compile(BUYERS, profile.schema, source="jobs/gold/tags.py BUYERS") if "orders_total" in schema \
        else F.lit(True)
    exploded = profile.select(
        F.posexplode(pairs).alias("_pos", "_pair"),
        *[F.when(buyers, F.col(n).cast("double")).alias(f"_n_{n}") for n in fields],
    )
    aggs = [F.collect_set("_pair").alias("_pairs")]
    for name in fields:
        pcts = sorted({p for p, n in wanted if n == name})
        aggs.append(F.percentile_approx(F.when(F.col("_pos") == 0, F.col(f"_n_{name}")),
                                        [p / 100 for p in pcts], 100000).alias(f"_p_{name}"))
    row = exploded.agg(*aggs).collect()[0]
    values: dict[str, set] = {s: set() for s in sources}
    for pair in row["_pairs"] or []:
        source, _, value = pair.partition(_SEP)
        if value != "":
            values[source].add(value)
    typed = {}
    for source in sources:
        dtype = schema[source_column(source)]
        convert = _converter(dtype)
        typed[source] = tuple(sorted((convert(v) for v in values[source]), key=lambda v: (str(type(v)), v)))
    percentiles: dict[tuple[int, str], float | None] = {}
    for name in fields:
        pcts = sorted({p for p, n in wanted if n == name})
        got = row[f"_p_{name}"]
        for p, v in zip(pcts, got or [None] * len(pcts)):
            percentiles[(p, name)] = v
    return Values(typed, percentiles)


def _prefixer(prefix: Column):
    # F.transform reads the lambda's arity (1: element, 2: element and index), so no default arguments
    return lambda x: F.concat(prefix, x)


def _converter(dtype: T.DataType):
    if isinstance(dtype, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return int
    if isinstance(dtype, (T.FloatType, T.DoubleType, T.DecimalType)):
        return float
    return str


# --- expansion ------------------------------------------------------------------------------------

def slug(value: object, slugs: Mapping[str, str] | None = None) -> str:
    """An id-safe, stable form of a value: conf `slugs:`, else its lower-cased ASCII form, else (other
    scripts) its ASCII part and a short hash of the value."""
    text = str(value)
    if slugs and text in slugs:
        return slugs[text]
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_part = re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")
    if text.isascii() and ascii_part:
        return ascii_part
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{ascii_part}_{digest}" if ascii_part else f"u{digest}"


def _literal(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _fill(text: str, subs: Mapping[str, str], where: str, what: str) -> str:
    def one(m: re.Match) -> str:
        if m.group(1) not in subs:
            raise TagError(f"{where}: unknown placeholder {{{m.group(1)}}} in {what} "
                           f"(known: {', '.join('{' + k + '}' for k in subs)})")
        return subs[m.group(1)]

    return PLACEHOLDER.sub(one, text)


def expand_template(template: Template, item: object, registry: Registry) -> Tag:
    """The member of `template` for one item (a value, or a mapping with `value` and more keys)."""
    extra = dict(item) if isinstance(item, dict) else {"value": item}
    value = extra["value"]
    raw = {k: str(v) for k, v in extra.items()}
    label = registry.labels.get(str(value), str(value))
    text_subs = {**raw, "label": label, "literal": _literal(value)}
    def_subs = {**{k: v.replace("'", "''") for k, v in raw.items()}, "label": label.replace("'", "''"),
                "literal": _literal(value)}
    id_subs = {**{k: slug(v, registry.slugs) for k, v in extra.items()}, "label": slug(label, registry.slugs),
               "literal": slug(value, registry.slugs)}
    where = template.origin
    tag_id = _fill(str(template.spec["id"]), id_subs, where, "id")
    origin = f"{template.origin} (tag {tag_id!r}, value {value!r})"
    fields = {}
    for key in TAG_FIELDS:
        if key == "id":
            continue
        v = template.spec[key]
        if key == "version":
            fields[key] = v
        elif key == "definition":
            fields[key] = _fill(" ".join(str(v).split()), def_subs, where, key)
        else:
            fields[key] = _fill(str(v).strip(), text_subs, where, key)
    return Tag(id=tag_id, **fields, expanded_from=template.id, value=value, origin=origin)


def expand(registry: Registry, values: Values | None = None) -> list[Tag]:
    """Every tag of the registry on a date: plain tags, then each template's members (literal lists,
    and values_from sources from `values`), with statistic thresholds resolved from `values`.
    Without `values`, data-driven families are left out and thresholds stay unresolved."""
    out: list[Tag] = [replace(t, definition=" ".join(t.definition.split())) for t in registry.tags]
    for template in registry.templates:
        if template.values is not None:
            items = template.values
        elif values is None:
            continue
        else:
            if template.values_from not in values.values:
                raise TagError(f"{template.origin}: no values discovered for {template.values_from!r}")
            items = values.values[template.values_from]
        out += [expand_template(template, item, registry) for item in items]
    problems = []
    seen: dict[str, Tag] = {}
    for tag in out:
        if not ID_PATTERN.match(tag.id):
            problems.append(f"{tag.origin}: id {tag.id!r} is not a valid tag id ({ID_PATTERN.pattern})")
        if tag.id in seen:
            problems.append(f"{tag.origin}: duplicate tag id {tag.id!r} (also {seen[tag.id].origin})")
        seen[tag.id] = tag
    if problems:
        raise TagError(_many(problems))
    if values is not None:
        out = [_resolve(t, values) for t in out]
    return out


def _resolve(tag: Tag, values: Values) -> Tag:
    if not PERCENTILE.search(tag.definition):
        return tag
    missing = False

    def one(m: re.Match) -> str:
        nonlocal missing
        v = values.percentiles.get((int(m.group(1)), m.group(2)))
        if v is None:
            missing = True
            return "0"
        return repr(float(v))

    resolved = PERCENTILE.sub(one, tag.definition)
    # no buyers on the date: no threshold, so nobody holds the tag
    return replace(tag, resolved="FALSE" if missing else resolved)


# --- validation -----------------------------------------------------------------------------------

def _probe_item(template: Template, schema: Mapping[str, T.DataType]):
    col = schema.get(source_column(template.values_from))
    if col is not None and _converter(col if not isinstance(col, (T.MapType, T.ArrayType)) else T.StringType()) is not str:
        return 1
    return "probe"


def validate(registry: Registry, schema: T.StructType | None = None,
             published: Iterable[Mapping] | None = None) -> None:
    """Everything that can be checked before reading data; one TagError listing every problem.

    - each definition (every literal member, one probe member per data-driven template) parses and
      is a boolean condition over `schema` (default: the contract's columns), and does not read the
      `tags` column itself;
    - tag ids are valid, are not profile columns, and are not keywords of the expression language;
    - against `published` rows of gold.tag_registry (tag_id, version, definition, expanded_from,
      template_value): a tag's version never goes down, and a definition that differs from the
      published one at the same version is an error ("bump the version")."""
    schema = schema or contract_schema()
    fields = {n: t for n, t in E.fields_of(schema).items() if n != TAGS_COLUMN}
    types = {f.name: f.dataType for f in schema.fields}
    problems: list[str] = []
    candidates: list[Tag] = []
    for t in registry.tags:
        candidates.append(t)
    for template in registry.templates:
        try:
            if template.values is not None:
                candidates += [expand_template(template, item, registry) for item in template.values]
            else:
                if source_column(template.values_from) not in types:
                    problems.append(f"{template.origin}: values_from {template.values_from!r} is not a profile "
                                    f"column (nor one of {', '.join(SOURCE_ALIASES)})")
                    continue
                probe = expand_template(template, _probe_item(template, types), registry)
                candidates.append(replace(probe, id="probe_" + template.id, origin=template.origin))
        except TagError as bad:
            problems.append(str(bad))
    seen: dict[str, str] = {}
    for tag in candidates:
        if tag.id in seen and not tag.id.startswith("probe_"):
            problems.append(f"{tag.origin}: duplicate tag id {tag.id!r} (also {seen[tag.id]})")
        seen[tag.id] = tag.origin
        if not tag.id.startswith("probe_"):
            if not ID_PATTERN.match(tag.id):
                problems.append(f"{tag.origin}: id {tag.id!r} is not a valid tag id ({ID_PATTERN.pattern})")
            if tag.id in types:
                problems.append(f"{tag.origin}: id {tag.id!r} is also a profile column; audiences could not "
                                f"tell them apart")
            if tag.id.upper() in E.KEYWORDS:
                problems.append(f"{tag.origin}: id {tag.id!r} is a keyword of the expression language")
        text = PERCENTILE.sub("0", tag.definition)
        try:
            node = E.parse(text, source=tag.origin)
            result = E.check(node, fields, source=tag.origin)
            if result != E.BOOLEAN:
                problems.append(f"{tag.origin}: the definition must be a condition (boolean), but it is {result}")
        except E.ExprError as bad:
            if TAGS_COLUMN in str(bad.problem) and TAGS_COLUMN in types:
                problems.append(f"{tag.origin}: a tag definition cannot read the `tags` column")
            else:
                problems.append(str(bad))
    if published is not None:
        problems += _version_problems(registry, published, types)
    if problems:
        raise TagError(_many(problems))


def _version_problems(registry: Registry, published: Iterable[Mapping], types: Mapping[str, T.DataType]) -> list[str]:
    latest: dict[str, Mapping] = {}
    for row in published:
        if row["tag_id"] not in latest or row["version"] > latest[row["tag_id"]]["version"]:
            latest[row["tag_id"]] = row
    current: dict[str, Tag] = {t.id: t for t in registry.tags}
    templates = {t.id: t for t in registry.templates}
    for row in latest.values():
        template = templates.get(row.get("expanded_from") or "")
        if template is None or row["tag_id"] in current:
            continue
        item = _published_item(template, row.get("template_value"), types)
        if item is None:
            continue
        try:
            member = expand_template(template, item, registry)
        except TagError:
            continue
        if member.id == row["tag_id"]:
            current[member.id] = member
    problems = []
    for tag_id, tag in current.items():
        row = latest.get(tag_id)
        if row is None:
            continue
        where = tag.origin
        if tag.version < row["version"]:
            problems.append(f"{where}: version {tag.version} is lower than the published version {row['version']} "
                            f"(gold.tag_registry); versions only go up")
        elif tag.version == row["version"] and " ".join(str(row["definition"]).split()) != tag.definition:
            problems.append(
                f"{where}: the definition changed but the version is still {tag.version}, the published one "
                f"(gold.tag_registry); bump `version` to {tag.version + 1} to publish the new definition\n"
                f"    published: {row['definition']}\n    now:       {tag.definition}")
    return problems


def _published_item(template: Template, value: str | None, types: Mapping[str, T.DataType]):
    if value is None:
        return None
    if template.values is not None:
        for item in template.values:
            v = item["value"] if isinstance(item, dict) else item
            if str(v) == value:
                return item
        return None
    dtype = types.get(source_column(template.values_from))
    if isinstance(dtype, (T.MapType, T.ArrayType)) or dtype is None:
        return value
    try:
        return _converter(dtype)(value)
    except ValueError:
        return None


# --- computing ------------------------------------------------------------------------------------

def online(tags: Iterable[Tag]) -> list[Tag]:
    return [t for t in tags if t.status == "online"]


def tags_column(tags: Iterable[Tag], schema: T.StructType) -> Column:
    """array<string> of the online tags each row holds, in registry order: one expression, evaluated
    in the projection that builds the profile (one `CASE WHEN` per tag inside one array, nulls
    dropped), never one scan per tag. `schema` is the profile's schema without the tags column."""
    schema = T.StructType([f for f in schema.fields if f.name != TAGS_COLUMN])
    cases = [F.when(E.compile(t.condition, schema, source=t.origin), F.lit(t.id)) for t in online(tags)]
    if not cases:
        return F.array().cast("array<string>")
    return F.array_compact(F.array(*cases))


def for_profile(profile: DataFrame, published: Iterable[Mapping] | None = None,
                registry: Registry | None = None) -> list[Tag]:
    """The tags of a profile's as-of date: validate (before reading data), discover, expand."""
    registry = registry or load()
    schema = T.StructType([f for f in profile.schema.fields if f.name != TAGS_COLUMN])
    validate(registry, schema, published)
    return expand(registry, discover(profile.select(*schema.fieldNames()), registry))


def add_tags(profile: DataFrame, published: Iterable[Mapping] | None = None,
             registry: Registry | None = None) -> DataFrame:
    """`profile` with its `tags` column (replaced if present). Reads the profile once for the template
    values and thresholds (cache it first), then adds the column in one projection."""
    tags = for_profile(profile, published, registry)
    schema = T.StructType([f for f in profile.schema.fields if f.name != TAGS_COLUMN])
    return profile.withColumn(TAGS_COLUMN, tags_column(tags, schema))


def published_rows(spark: SparkSession, settings) -> list[dict] | None:
    """The published registry (gold.tag_registry), or None before its first run."""
    from habitlake import catalog

    tbl = catalog.table("gold.tag_registry")
    if not catalog.exists(spark, settings, tbl):
        return None
    return _rows(catalog.read(spark, settings, tbl.full_name))


def _rows(df: DataFrame | None) -> list[dict] | None:
    if df is None:
        return None
    cols = ["tag_id", "version", "definition", "expanded_from", "template_value"]
    return [r.asDict() for r in df.select(*[c for c in cols if c in df.columns]).collect()]


# --- registry rows (gold.tag_registry) ------------------------------------------------------------

REGISTRY_DDL = (
    "tag_id string, version int, status string, name_zh string, name_en string, `group` string, "
    "subgroup string, kind string, owner string, definition string, resolved_definition string, "
    "description string, expanded_from string, template_value string, first_published date, "
    "last_published date, is_current boolean")


def registry_frame(spark: SparkSession, tags: Iterable[Tag], day: dt.date) -> DataFrame:
    """One row per tag (its current version) as published on `day`."""
    rows = [(t.id, t.version, t.status, t.name_zh, t.name_en, t.group, t.subgroup, t.kind, t.owner,
             t.definition, t.resolved if t.resolved is not None else t.definition, t.description,
             t.expanded_from, None if t.value is None else str(t.value), day, day, True) for t in tags]
    return spark.createDataFrame(rows, REGISTRY_DDL)


_BY_ASOF: dict[int, tuple[weakref.ref, list[Tag]]] = {}
_CACHED: list[DataFrame] = []  # the profile attach() cached for its discovery pass (the latest only)


def attach(profile: DataFrame, asof) -> DataFrame:
    """The profile job's last step: `profile` with its `tags` column for the AsOf's date, validated
    against the published registry (gold.tag_registry) before any data is read. The profile is cached
    for the discovery aggregate, so it is computed once (the previous date's cache is released); the
    expanded registry is remembered for the tag jobs of the same AsOf."""
    from jobs.gold.framework import read_gold

    registry = load()
    schema = T.StructType([f for f in profile.schema.fields if f.name != TAGS_COLUMN])
    validate(registry, schema, _rows(read_gold(asof, "tag_registry", required=False)))
    while _CACHED:
        _CACHED.pop().unpersist()
    profile = profile.cache()
    _CACHED.append(profile)
    tags = expand(registry, discover(profile.select(*schema.fieldNames()), registry))
    _BY_ASOF[id(asof)] = (weakref.ref(asof), tags)
    return profile.withColumn(TAGS_COLUMN, tags_column(tags, schema))


def registry_as_of(asof) -> list[Tag]:
    """The expanded registry for an AsOf (validated against the published registry, discovered on
    that date's profile); computed once per AsOf and shared by the gold tag jobs."""
    from jobs.gold.framework import read_gold

    hit = _BY_ASOF.get(id(asof))
    if hit is not None and hit[0]() is asof:
        return hit[1]
    profile = read_gold(asof, "customer_profile")
    published = _rows(read_gold(asof, "tag_registry", required=False))
    tags = for_profile(profile, published)
    _BY_ASOF[id(asof)] = (weakref.ref(asof), tags)
    return tags
