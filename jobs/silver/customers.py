"""silver.customers: one row per customer version (slowly changing dimension, type 2).

From bronze.customers (CRM snapshots: a full export, then new and changed rows). When a member
level, city or any tracked attribute changes, the old version is kept with `valid_from` /
`valid_to`, so gold can ask "what was this customer on that date"; `is_current` marks the latest.

PII never leaves bronze in clear: name, phone and address become a keyed hash (HMAC-SHA256) and a
masked display form. Test accounts (conf/silver.yaml) go to quarantine with rule `test_account`;
the other jobs look them up there and quarantine what those accounts did.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from habitlake.pii import keyed_hash, mask_address, mask_name, mask_phone, pii_key
from jobs.silver import framework as fw
from jobs.silver.pipeline import VALID_FROM, Context, SilverJob, as_versions
from jobs.silver.rules_config import conform_code, is_test_account

TRACKED = ("name_hash", "phone_hash", "address_masked", "gender", "birth_date", "province", "city",
           "city_tier", "climate_zone", "member_level", "household_type", "customer_type",
           "acquisition_channel", "signup_date")
MEMBER_LEVELS = ("regular", "silver", "gold", "diamond")
CUSTOMER_TYPES = ("consumer", "restaurant")
GENDERS = ("F", "M", "female", "male", "女", "男")
GENDER_CODES = {"female": "F", "女": "F", "f": "F", "male": "M", "男": "M", "m": "M"}


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    key = pii_key(ctx.settings)
    gender = F.element_at(F.create_map(*[F.lit(x) for kv in sorted(GENDER_CODES.items()) for x in kv]),
                          F.lower(F.trim("gender")))
    return df.withColumns({
        "_updated_ts": fw.parse_local_timestamp(F.col("updated_at"), ctx.tz),
        "_signup": fw.parse_date(F.col("signup_date"), ctx.tz),
        "_birth": fw.parse_date(F.col("birth_date"), ctx.tz),
        "_tier": conform_code(F.col("city_tier"), "city_tier"),
        "_level": F.lower(F.trim("member_level")),
        "_type": F.lower(F.trim("customer_type")),
        "_gender": gender,
        "_test": is_test_account(F.coalesce("name", F.lit("")), F.coalesce("phone", F.lit(""))),
        "_name_hash": keyed_hash(F.trim("name"), key),
        "_phone_hash": keyed_hash(F.regexp_replace("phone", r"[^0-9]", ""), key),
    })


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("missing_customer_id", "customer_id", fw.missing(F.col("customer_id")), "customer_id is empty"),
        fw.Rule("test_account", "name", F.col("_test"), "test account (name or phone matches conf/silver.yaml)"),
        fw.Rule("bad_timestamp", "updated_at", F.col("_updated_ts").isNull(),
                "updated_at is empty or in no known timestamp layout"),
        fw.Rule("bad_date", "signup_date", fw.unparseable(F.col("signup_date"), F.col("_signup")),
                "signup_date is in no known date layout"),
        fw.Rule("unknown_city_tier", "city_tier", F.col("_tier").isNull() & ~fw.missing(F.col("city_tier")),
                "city_tier is not in the vocabulary (1, new-1, 2, 3, 4, 5)"),
        fw.Rule("unknown_member_level", "member_level", ~F.col("_level").isin(*MEMBER_LEVELS),
                f"member_level is not one of {list(MEMBER_LEVELS)}"),
        fw.Rule("unknown_customer_type", "customer_type", ~F.col("_type").isin(*CUSTOMER_TYPES),
                f"customer_type is not one of {list(CUSTOMER_TYPES)}"),
    ]


def output(df: DataFrame) -> DataFrame:
    columns = [
        F.col("customer_id"),
        F.col("_name_hash").alias("name_hash"),
        mask_name(F.trim("name")).alias("name_masked"),
        F.col("_phone_hash").alias("phone_hash"),
        mask_phone(F.col("phone")).alias("phone_masked"),
        mask_address(F.trim("address")).alias("address_masked"),
        F.col("_gender").alias("gender"),
        F.col("_birth").alias("birth_date"),
        F.trim("province").alias("province"),
        F.trim("city").alias("city"),
        F.col("_tier").alias("city_tier"),
        F.trim("climate_zone").alias("climate_zone"),
        F.col("_level").alias("member_level"),
        F.trim("household_type").alias("household_type"),
        F.col("_type").alias("customer_type"),
        F.trim("acquisition_channel").alias("acquisition_channel"),
        F.col("_signup").alias("signup_date"),
        F.col("_updated_ts").alias(VALID_FROM),
    ]
    typed = df.select(*columns)
    return as_versions(typed, TRACKED)


JOB = SilverJob(
    source="customers",
    target="silver.customers",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("customer_id", "_updated_ts"),
    version_order=lambda: [F.col("_line")],
    write="history",
    entity_key="customer_id",
)
