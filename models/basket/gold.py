"""Rows of gold.basket_rules: the association rules of the champion model, for BI and analysts.

Grain: one row per as-of date x rule (antecedent -> consequent): every rule the model holds
(`train.derive_rules`: multi-item consequents included), keyed by `rule_id`, a stable hash of the
sorted antecedent and consequent (the same rule has the same id on every date and in every model).
The catalog entry is in conf/tables.yaml (keys as_of_date, rule_id; partitioned by as_of_date); the
runner writes it as a snapshot (a run replaces its date's slice) and adds model_name / model_version.

Columns: as_of_date (date), rule_id (string, 16 hex digits), antecedent, consequent
(array<string>, sorted), antecedent_size, consequent_size (int), antecedent_support,
consequent_support, support, confidence, lift, leverage (double), conviction (double; null when
the confidence is 1, where it is infinite), item_level (what an item is: product_id or
category_l2), mined_as_of (date: the last day of the baskets the rules were mined from).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

COLUMNS = ("as_of_date", "rule_id", "antecedent", "consequent", "antecedent_size", "consequent_size",
           "antecedent_support", "consequent_support", "support", "confidence", "lift", "leverage", "conviction",
           "item_level", "mined_as_of")
RULE_ID_CHARS = 16


def _day(value: str | dt.date | None) -> dt.date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def rule_id(antecedent: Column, consequent: Column) -> Column:
    """16 hex digits of SHA-256 over the JSON of (antecedent, consequent): unambiguous, stable."""
    key = F.to_json(F.struct(antecedent.alias("a"), consequent.alias("c")))
    return F.substring(F.sha2(key, 256), 1, RULE_ID_CHARS)


def basket_rules(rules: DataFrame, as_of_date: str | dt.date, item_level: str = "product_id",
                 mined_as_of: str | dt.date | None = None) -> DataFrame:
    """The rows of gold.basket_rules for `as_of_date` from `rules` (columns of train.RULE_COLUMNS)."""
    antecedent = F.array_sort(F.col("antecedent").cast("array<string>"))
    consequent = F.array_sort(F.col("consequent").cast("array<string>"))
    conviction = F.col("conviction").cast("double")
    return rules.select(
        F.lit(_day(as_of_date)).alias("as_of_date"),
        rule_id(antecedent, consequent).alias("rule_id"),
        antecedent.alias("antecedent"),
        consequent.alias("consequent"),
        F.size(antecedent).alias("antecedent_size"),
        F.size(consequent).alias("consequent_size"),
        *[F.col(c).cast("double").alias(c) for c in ("antecedent_support", "consequent_support", "support",
                                                      "confidence", "lift", "leverage")],
        F.when(F.isnan(conviction) | (conviction == F.lit(float("inf"))), F.lit(None).cast("double"))
        .otherwise(conviction).alias("conviction"),
        F.lit(item_level).alias("item_level"),
        F.lit(_day(mined_as_of)).cast("date").alias("mined_as_of"),
    )
