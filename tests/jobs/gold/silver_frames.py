"""Hand-made silver tables for gold tests: rows as dicts, missing columns null, schemas as silver's.

`frame(spark, "orders", [{"order_id": "O1", ...}])` builds a DataFrame with the full schema of
`silver.orders` (SCHEMAS, kept equal to the silver output functions by
tests/jobs/gold/test_silver_frames.py on real silver tables). Convenience builders fill the columns
a test does not care about with sensible values.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession

from habitlake.settings import Settings
from jobs.gold.asof import AsOf

SCHEMAS = {
    "customers": "customer_id string, name_hash string, name_masked string, phone_hash string, "
                 "phone_masked string, address_masked string, gender string, birth_date date, province string, "
                 "city string, city_tier string, climate_zone string, member_level string, household_type string, "
                 "customer_type string, acquisition_channel string, signup_date date, valid_from timestamp, "
                 "attrs_hash string, valid_to timestamp, is_current boolean",
    "products": "product_id string, product_name string, category_l1 string, category_l2 string, brand string, "
                "list_price decimal(14,2), unit_cost decimal(14,2), shelf_life_days int, storage_type string, "
                "valid_from timestamp, attrs_hash string, valid_to timestamp, is_current boolean",
    "orders": "order_id string, customer_id string, order_ts timestamp, order_ts_local timestamp, order_date date, "
              "order_hour int, channel string, payment_method string, status string, is_return boolean, "
              "ref_order_id string, promo_id string, coupon_id string, coupon_value decimal(14,2), "
              "discount_amount decimal(14,2), total_amount decimal(14,2), delivery_slot string, "
              "warehouse_id string, updated_ts timestamp, source_file string",
    "order_lines": "order_id string, line_no int, order_date date, product_id string, quantity int, "
                   "unit_price decimal(14,2), discount_amount decimal(14,2), line_amount decimal(14,2), "
                   "is_return boolean, price_was_fen boolean, source_file string",
    "events": "event_id string, event_ts timestamp, event_ts_local timestamp, event_date date, event_hour int, "
              "event_type string, customer_id string, session_id string, device_id string, device_type string, "
              "platform string, product_id string, query string, page string, source_file string",
    "deliveries": "delivery_id string, order_id string, warehouse_id string, city string, slot string, "
                  "promised_start timestamp, promised_end timestamp, delivered_at timestamp, "
                  "promised_start_local timestamp, promised_end_local timestamp, delivered_at_local timestamp, "
                  "delivery_date date, status string, delay_minutes int, is_late boolean, source_file string",
    "reviews": "review_id string, order_id string, customer_id string, product_id string, rating int, "
               "review_text string, created_ts timestamp, created_ts_local timestamp, source_file string",
    "complaints": "complaint_id string, customer_id string, order_id string, kind string, category string, "
                  "text string, created_ts timestamp, created_ts_local timestamp, source_file string",
    "campaign_sends": "campaign_id string, customer_id string, arm string, channel string, "
                      "coupon_value decimal(14,2), sent_ts timestamp, sent_ts_local timestamp, source_file string",
    "promotions": "promo_id string, campaign_id string, name string, promo_type string, "
                  "discount_depth decimal(4,2), category_l1 string, target_tier string, channel string, "
                  "start_date date, end_date date, source_file string",
}


def _field_types(schema: str) -> dict[str, str]:
    import re

    return dict(part.strip().split(" ", 1) for part in re.split(r",(?![^(]*\))", schema))


def frame(spark: SparkSession, table: str, rows: list[dict]) -> DataFrame:
    from decimal import Decimal

    types = _field_types(SCHEMAS[table])
    unknown = {k for row in rows for k in row} - set(types)
    if unknown:
        raise KeyError(f"silver.{table} has no column(s) {sorted(unknown)}")

    def value(column: str, v):
        if v is None:
            return None
        t = types[column]
        if t.startswith("decimal"):
            return Decimal(str(v))
        if t == "date" and isinstance(v, str):
            return dt.date.fromisoformat(v)
        if t == "timestamp" and isinstance(v, str):
            return dt.datetime.fromisoformat(v)
        return v

    data = [tuple(value(c, row.get(c)) for c in types) for row in rows]
    return spark.createDataFrame(data, SCHEMAS[table])


def customer(customer_id: str, **kw) -> dict:
    row = {"customer_id": customer_id, "gender": "F", "birth_date": "1990-01-01", "province": "四川省",
           "city": "成都市", "city_tier": "new-1", "climate_zone": "Sichuan Basin humid subtropical",
           "member_level": "regular", "household_type": "couple", "customer_type": "consumer",
           "acquisition_channel": "app_store", "signup_date": "2024-01-01",
           "valid_from": "2024-01-01 00:00:00", "valid_to": None, "is_current": True}
    row.update(kw)
    return row


def order(order_id: str, customer_id: str, when: str, total: float, **kw) -> dict:
    """A completed sale at local time `when` ('2025-03-01 09:30'), stored UTC 8 hours earlier."""
    local = dt.datetime.fromisoformat(when)
    row = {"order_id": order_id, "customer_id": customer_id, "order_ts": local - dt.timedelta(hours=8),
           "order_ts_local": local, "order_date": local.date(), "order_hour": local.hour, "channel": "app",
           "payment_method": "wechat_pay", "status": "delivered", "is_return": False, "coupon_value": 0,
           "discount_amount": 0, "total_amount": total, "warehouse_id": "WH_CD"}
    row.update(kw)
    return row


def line(order_id: str, line_no: int, day: str, product_id: str, qty: int, price: float, **kw) -> dict:
    row = {"order_id": order_id, "line_no": line_no, "order_date": day, "product_id": product_id,
           "quantity": qty, "unit_price": price, "discount_amount": 0, "line_amount": qty * price,
           "is_return": False, "price_was_fen": False}
    row.update(kw)
    return row


def product(product_id: str, l1: str, l2: str, brand: str, price: float, cost: float, **kw) -> dict:
    row = {"product_id": product_id, "product_name": product_id, "category_l1": l1, "category_l2": l2,
           "brand": brand, "list_price": price, "unit_cost": cost, "shelf_life_days": 10,
           "storage_type": "chilled", "valid_from": "2024-01-01 00:00:00", "valid_to": None, "is_current": True}
    row.update(kw)
    return row


def asof(spark: SparkSession, settings: Settings, day: str, gold: dict | None = None, **tables: list[dict]) -> AsOf:
    """An AsOf over hand-made silver tables (keyword per table: list of row dicts)."""
    return AsOf.from_frames(spark, settings, day, {t: frame(spark, t, rows) for t, rows in tables.items()}, gold)
