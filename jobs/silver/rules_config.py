"""conf/silver.yaml, read once, and the column expressions built from it."""
from __future__ import annotations

from functools import lru_cache

import yaml
from pyspark.sql import Column
from pyspark.sql import functions as F

from habitlake.contract import CONF_DIR

SILVER_CONF = CONF_DIR / "silver.yaml"


@lru_cache(maxsize=1)
def config() -> dict:
    return yaml.safe_load(SILVER_CONF.read_text(encoding="utf-8"))


def conform_code(col: Column, vocabulary: str) -> Column:
    """Map a source code onto the vocabulary; null when it is not in it (and was not null)."""
    spec = config()["vocabulary"][vocabulary]
    mapping = {k.strip().lower(): v for k, v in spec["synonyms"].items()}
    mapping.update({c: c for c in spec["canonical"]})
    lookup = F.create_map(*[F.lit(x) for pair in sorted(mapping.items()) for x in pair])
    return F.element_at(lookup, F.lower(F.trim(col)))


def status_rank(col: Column) -> Column:
    ranks = config()["status_rank"]
    return F.element_at(F.create_map(*[F.lit(x) for pair in sorted(ranks.items()) for x in pair]), col)


def status_rank_sql(column: str) -> str:
    """SQL CASE giving the rank of the status in `column` (e.g. "t.status")."""
    cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in sorted(config()["status_rank"].items()))
    return f"(CASE {column} {cases} ELSE 0 END)"


def is_test_account(name: Column, phone: Column) -> Column:
    spec = config()["test_accounts"]
    checks = [name.rlike(p) for p in spec["name_patterns"]] + [phone.rlike(p) for p in spec["phone_patterns"]]
    return F.coalesce(*[F.when(c, F.lit(True)) for c in checks], F.lit(False))
