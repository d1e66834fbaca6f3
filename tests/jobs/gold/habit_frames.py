"""Hand-made frames for the habit and supply table tests: gold.customer_profile rows with only the
columns those tables read, and typed frames from tuples."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession

PROFILE = ("as_of_date date, customer_id string, tier string, region string, segment string, member_level string, "
           "customer_type string, acquisition_channel string, signup_date date, first_order_date date, "
           "last_order_date date, recency_days int, orders_total long, spend_total double, lifecycle_stage string, "
           "is_churned boolean, category_share map<string,double>, preferred_channel string, "
           "preferred_push_channel string, best_push_hour int")
PROFILE_DEFAULTS = {"tier": "Silver", "region": "west_sichuan", "segment": None, "member_level": "regular",
                    "customer_type": "consumer", "acquisition_channel": "app_store", "signup_date": "2024-01-01",
                    "first_order_date": None, "last_order_date": None, "recency_days": None, "orders_total": 0,
                    "spend_total": 0.0, "lifecycle_stage": "active", "is_churned": False, "category_share": None,
                    "preferred_channel": "app", "preferred_push_channel": "app_push", "best_push_hour": 19}


def d(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def ts(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def columns(schema: str) -> list[tuple[str, str]]:
    import re

    return [tuple(part.strip().split(" ", 1)) for part in re.split(r",(?![^<(]*[>)])", schema)]


def typed(spark: SparkSession, schema: str, rows: list[tuple]) -> DataFrame:
    """A frame of `rows` (tuples in schema order); ISO text in date / timestamp columns is parsed,
    numbers in decimal columns become Decimal and whole numbers in double columns floats."""
    kinds = [kind for _, kind in columns(schema)]

    def value(kind: str, v):
        if isinstance(v, str) and kind == "date":
            return d(v)
        if isinstance(v, str) and kind.startswith("timestamp"):
            return ts(v)
        if v is not None and kind.startswith("decimal"):
            return Decimal(str(v))
        if isinstance(v, int) and kind == "double":
            return float(v)
        return v

    return spark.createDataFrame([tuple(value(k, v) for k, v in zip(kinds, row)) for row in rows], schema)


def profile(spark: SparkSession, day: str, rows: list[dict]) -> DataFrame:
    """gold.customer_profile slice of `day`: one dict per customer (customer_id plus overrides)."""
    names = [name for name, _ in columns(PROFILE)]
    full = [{**PROFILE_DEFAULTS, "as_of_date": day, **row} for row in rows]
    return typed(spark, PROFILE, [tuple(r.get(n) for n in names) for r in full])
