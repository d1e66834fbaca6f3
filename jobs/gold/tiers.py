"""Customer tiers from configurable rules (conf/tiers/<name>.yaml).

A rule file is an ordered list of rules (`name`, `when`, optional `description`), named `params`
(thresholds the conditions refer to by name, so a business changes numbers without touching
conditions) and `otherwise`, the tier of everyone no rule matched. The first rule that holds wins.
Conditions are in habitlake's expression language (jobs/gold/expr.py, docs/expressions.md): each is
parsed and type-checked against the profile's schema when the file is loaded, before any data is
read, and compiled to a Spark column, never pasted into SQL.

    rules = load("default")                    # or a path
    tiered = apply(profile, rules)             # adds `tier` and `tier_rule`
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from habitlake.contract import CONF_DIR
from jobs.gold import expr

TIERS_DIR = CONF_DIR / "tiers"
ALLOWED_KEYS = {"name", "description", "params", "rules", "otherwise"}
RULE_KEYS = {"name", "when", "description"}


class TierRulesError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    name: str
    when: str
    description: str = ""


@dataclass(frozen=True)
class TierRules:
    name: str
    path: str
    rules: tuple[Rule, ...]
    otherwise: str
    params: dict
    description: str = ""

    @property
    def tiers(self) -> list[str]:
        return list(dict.fromkeys([r.name for r in self.rules] + [self.otherwise]))

    def extra(self) -> dict:
        """The params as typed constants the conditions may name."""
        return {name: ("number", F.lit(float(value))) for name, value in self.params.items()}

    def conditions(self, schema: StructType) -> list[Column]:
        """Each rule's condition compiled against `schema` (raises expr.ExprError naming the rule)."""
        return [expr.compile(rule.when, schema, source=f"{self.path} rule {rule.name!r}", extra=self.extra())
                for rule in self.rules]

    def validate(self, schema: StructType) -> None:
        self.conditions(schema)


def resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return TIERS_DIR / f"{name_or_path}.yaml"


def load(name_or_path: str | Path) -> TierRules:
    """Read and shape-check a rule file (conditions are checked against a schema by `validate`)."""
    path = resolve(name_or_path)
    if not path.exists():
        known = sorted(p.stem for p in TIERS_DIR.glob("*.yaml"))
        raise TierRulesError(f"tier rules {name_or_path!r}: no file {path} (shipped: {known})")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as bad:
        raise TierRulesError(f"{path}: not valid YAML: {bad}") from None
    where = str(path)
    if not isinstance(doc, dict):
        raise TierRulesError(f"{where}: expected a mapping with rules and otherwise")
    unknown = set(doc) - ALLOWED_KEYS
    if unknown:
        raise TierRulesError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(ALLOWED_KEYS)}")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise TierRulesError(f"{where}: `rules` must be a non-empty list")
    if not isinstance(doc.get("otherwise"), str) or not doc["otherwise"].strip():
        raise TierRulesError(f"{where}: `otherwise` (the tier of customers no rule matches) is required")
    params = doc.get("params") or {}
    for key, value in params.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TierRulesError(f"{where}: param {key!r} must be a number, not {value!r}")
    rules, seen = [], set()
    for i, raw in enumerate(raw_rules, start=1):
        if not isinstance(raw, dict) or not {"name", "when"} <= set(raw):
            raise TierRulesError(f"{where}: rule {i} needs `name` and `when`")
        extra_keys = set(raw) - RULE_KEYS
        if extra_keys:
            raise TierRulesError(f"{where}: rule {raw['name']!r} has unknown key(s) {sorted(extra_keys)}")
        if raw["name"] in seen:
            raise TierRulesError(f"{where}: rule {raw['name']!r} appears twice")
        seen.add(raw["name"])
        when = raw["when"]
        if isinstance(when, bool):  # YAML reads a bare `true` as a boolean
            when = "TRUE" if when else "FALSE"
        rules.append(Rule(str(raw["name"]), str(when), str(raw.get("description", ""))))
    return TierRules(str(doc.get("name", path.stem)), where, tuple(rules), doc["otherwise"].strip(), params,
                     str(doc.get("description", "")))


def apply(profile: DataFrame, rules: TierRules) -> DataFrame:
    """`tier` and `tier_rule` (the rule that matched, or `otherwise`) by first match, in one projection."""
    tier, rule_name = F.lit(rules.otherwise), F.lit("otherwise")
    for rule, condition in reversed(list(zip(rules.rules, rules.conditions(profile.schema)))):
        hit = F.coalesce(condition, F.lit(False))  # a condition on a null field does not match
        tier = F.when(hit, F.lit(rule.name)).otherwise(tier)
        rule_name = F.when(hit, F.lit(rule.name)).otherwise(rule_name)
    return profile.withColumns({"tier": tier, "tier_rule": rule_name})
