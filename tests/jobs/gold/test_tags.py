"""The tag engine (jobs/gold/tags.py, conf/tags.yaml) and the gold tag tables."""
from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.gold import tags as tagging
from jobs.gold.tags import TagError

DAY = "2025-03-31"
SEED = ("hotpot_fan", "restaurant_buyer", "west_sichuan", "high_frequency")
BASIN = "Sichuan Basin humid subtropical"


def profile_schema() -> T.StructType:
    return T.StructType([f for f in tagging.contract_schema().fields if f.name != "tags"])


def profile_frame(spark, rows: list[dict]):
    """A hand-made gold.customer_profile slice: every contract column, unset ones null."""
    schema = profile_schema()
    unknown = {k for r in rows for k in r} - set(schema.fieldNames())
    assert not unknown, unknown
    return spark.createDataFrame([tuple(r.get(n) for n in schema.fieldNames()) for r in rows], schema)


# Five customers; the comments give what the seed tags should make of them.
CUSTOMERS = [
    # consumer, 45% of spend on hot-pot categories, 5 orders: hotpot_fan, west_sichuan
    dict(customer_id="c1", customer_type="consumer", city="成都市", region="west_sichuan", city_tier="new-1",
         climate_zone=BASIN, in_sichuan=True, member_level="gold", household_type="couple",
         acquisition_channel="douyin", lifecycle_stage="active", tier="Gold", is_churned=False,
         preferred_channel="app", channel_mix={"app": 0.8, "store": 0.2},
         preferred_payment="wechat_pay", payment_mix={"wechat_pay": 1.0},
         category_share={"hotpot_base": 0.2, "frozen_meat": 0.15, "beef": 0.1, "leafy": 0.55},
         category_l1_share={"frozen": 0.35, "meat": 0.1, "vegetables": 0.55}, top_category="leafy",
         preferred_hour_band="evening", preferred_push_channel="app_push",
         orders_total=5, orders_90d=5, repurchase_rate=0.4, spend_90d=500.0),
    # restaurant with a hot-pot basket: restaurant_buyer and high_frequency, never hotpot_fan
    dict(customer_id="c2", customer_type="restaurant", city="重庆市", region="outside_sichuan", city_tier="new-1",
         climate_zone=BASIN, in_sichuan=False, member_level="diamond", household_type="restaurant",
         acquisition_channel="sales_rep", lifecycle_stage="active", tier="Platinum", is_churned=False,
         preferred_channel="wholesale", channel_mix={"wholesale": 0.9, "app": 0.1},
         preferred_payment="bank_transfer", payment_mix={"bank_transfer": 1.0},
         category_share={"hotpot_base": 0.3, "frozen_meat": 0.4, "oil": 0.3},
         category_l1_share={"frozen": 0.7, "grains_oils": 0.3}, top_category="frozen_meat",
         preferred_hour_band="early_morning", preferred_push_channel="sms",
         orders_total=30, orders_90d=14, repurchase_rate=0.9, spend_90d=5000.0),
    # a one-order churned milk buyer in a city without a conf slug
    dict(customer_id="c3", customer_type="consumer", city="阿坝州", region="sichuan_other", city_tier="4",
         climate_zone="Plateau", in_sichuan=True, member_level="regular", household_type="single",
         acquisition_channel="app_store", lifecycle_stage="churned", tier="Churned", is_churned=True,
         preferred_channel="web", channel_mix={"web": 1.0}, preferred_payment="alipay",
         payment_mix={"alipay": 1.0}, category_share={"milk": 1.0}, category_l1_share={"dairy_eggs": 1.0},
         top_category="milk", preferred_hour_band="late_night", preferred_push_channel="sms",
         orders_total=1, orders_90d=0, repurchase_rate=0.0, spend_90d=0.0),
    # a prospect: west_sichuan only
    dict(customer_id="c4", customer_type="consumer", city="成都市", region="west_sichuan", in_sichuan=True,
         member_level="regular", household_type="couple", acquisition_channel="referral",
         lifecycle_stage="prospect", tier="Potential", orders_total=0),
    # a consumer ordering mostly wholesale (restaurant_buyer), repurchase 0.6 (high_frequency, boundary),
    # 30% hot-pot share (below 0.35: not a fan)
    dict(customer_id="c5", customer_type="consumer", city="成都市", region="west_sichuan", city_tier="new-1",
         climate_zone=BASIN, in_sichuan=True, member_level="silver", household_type="couple",
         acquisition_channel="referral", lifecycle_stage="active", tier="Silver", is_churned=False,
         preferred_channel="wholesale", channel_mix={"wholesale": 0.6, "app": 0.4},
         preferred_payment="alipay", payment_mix={"alipay": 1.0},
         category_share={"leafy": 0.7, "beef": 0.3}, category_l1_share={"vegetables": 0.7, "meat": 0.3},
         top_category="leafy", preferred_hour_band="morning", preferred_push_channel="wechat",
         orders_total=8, orders_90d=3, repurchase_rate=0.6, spend_90d=800.0),
]


@pytest.fixture(scope="module")
def registry():
    return tagging.load()


@pytest.fixture(scope="module")
def profile(spark):
    return profile_frame(spark, CUSTOMERS).cache()


@pytest.fixture(scope="module")
def expanded(profile, registry):
    return tagging.for_profile(profile, published=None, registry=registry)


@pytest.fixture(scope="module")
def tagged(profile, expanded):
    return {r.customer_id: r.tags for r in
            profile.withColumn("tags", tagging.tags_column(expanded, profile.schema)).collect()}


# --- the registry file ------------------------------------------------------------------------------

def test_the_registry_validates_against_the_profile_contract(registry):
    tagging.validate(registry)  # raises on any problem
    assert (len(registry.tags), len(registry.templates)) == (56, 33)


def test_literal_families_expand_without_data(registry):
    static = tagging.expand(registry)
    by_family: dict = {}
    for t in static:
        by_family[t.expanded_from] = by_family.get(t.expanded_from, 0) + 1
    assert by_family == {None: 56, "usual_hour": 24, "active_hour": 24, "age_band": 6, "rfm_r": 5, "rfm_f": 5,
                         "rfm_m": 5, "monthly_spend_band": 5, "orders_90d_band": 5, "recency_band": 5,
                         "tenure_band": 4, "gender": 2, "customer_type": 2}
    age = next(t for t in static if t.id == "age_65_plus")
    assert (age.name_zh, age.name_en, age.definition, age.group, age.subgroup, age.version) == (
        "年龄65+", "Aged 65+", "age BETWEEN 65 AND 150", "demographic", "age", 1)
    assert [t.id for t in static if t.expanded_from == "rfm_r"] == ["rfm_r1", "rfm_r2", "rfm_r3", "rfm_r4", "rfm_r5"]


def test_the_seed_tags_are_registered(registry):
    tags = {t.id: t for t in registry.tags}
    assert tags["hotpot_fan"].definition == (
        "customer_type != 'restaurant' AND orders_total >= 2 AND category_share['hotpot_base'] + "
        "category_share['frozen_meat'] + category_share['frozen_seafood'] + category_share['chili_sauce'] + "
        "category_share['mushroom'] + category_share['beef'] >= 0.35")
    assert tags["restaurant_buyer"].definition == "customer_type = 'restaurant' OR channel_mix['wholesale'] >= 0.5"
    assert tags["west_sichuan"].definition == "region = 'west_sichuan'"
    assert tags["high_frequency"].definition == "repurchase_rate >= 0.6 OR orders_90d >= 12"
    assert [(tags[i].name_zh, tags[i].status, tags[i].kind) for i in SEED] == [
        ("火锅食材爱好者", "online", "rule"), ("餐饮采购客户", "online", "rule"), ("川西客户", "online", "rule"),
        ("高频客户", "online", "rule")]


def test_slugs_are_stable_and_id_safe(registry):
    assert tagging.slug("成都市", registry.slugs) == "chengdu"
    assert tagging.slug("阿坝州", registry.slugs) == "u" + __import__("hashlib").sha1("阿坝州".encode()).hexdigest()[:8]
    assert tagging.slug("new-1") == "new_1"
    assert tagging.slug("Sichuan Basin humid subtropical") == "sichuan_basin_humid_subtropical"


# --- expansion on a profile ------------------------------------------------------------------------------

def test_expansion_on_a_small_profile(expanded):
    data_driven = {
        "prefers_category_l2": 6, "buys_category_l2": 6,  # hotpot_base frozen_meat beef leafy oil milk
        "top_category": 3, "prefers_category_l1": 5, "region": 3, "city": 3, "city_tier": 2, "climate_zone": 2,
        "hour_band": 4, "preferred_channel": 3, "uses_channel": 4, "preferred_payment": 3, "uses_payment": 3,
        "push_channel": 3, "member_level": 4, "household_type": 3, "acquisition_channel": 4, "tier": 5,
        "lifecycle_stage": 3,
    }
    counts: dict = {}
    for t in expanded:
        counts[t.expanded_from] = counts.get(t.expanded_from, 0) + 1
    assert {k: v for k, v in counts.items() if k in data_driven} == data_driven
    assert "segment" not in counts and "churn_band" not in counts  # no model output yet: no members
    assert len(expanded) == 148 + sum(data_driven.values()) == 217
    ids = {t.id for t in expanded}
    assert {"city_chengdu", "city_chongqing", "city_tier_new_1", "prefers_cat_hotpot_base", "tier_platinum",
            "prefers_dept_grains_oils", "uses_channel_wholesale", "climate_plateau"} <= ids
    abazhou = next(t for t in expanded if t.expanded_from == "city" and t.value == "阿坝州")
    assert (abazhou.id, abazhou.name_zh, abazhou.definition) == (
        "city_" + tagging.slug("阿坝州"), "城市：阿坝州", "city = '阿坝州'")
    beef = next(t for t in expanded if t.id == "prefers_cat_beef")
    assert (beef.name_zh, beef.name_en, beef.definition, beef.expanded_from, beef.value) == (
        "偏好牛肉", "Prefers beef", "category_share['beef'] >= 0.15", "prefers_category_l2", "beef")


def test_seed_tags_on_the_small_profile(tagged):
    seed = {c: [t for t in tags if t in SEED] for c, tags in tagged.items()}
    assert seed == {
        "c1": ["hotpot_fan", "west_sichuan"],
        "c2": ["restaurant_buyer", "high_frequency"],
        "c3": [],
        "c4": ["west_sichuan"],
        "c5": ["restaurant_buyer", "west_sichuan", "high_frequency"],
    }


def test_every_held_tag_of_a_customer(tagged):
    # registry order: plain tags as in conf/tags.yaml, then each template's members
    assert tagged["c4"] == ["west_sichuan", "never_bought", "in_sichuan_customer", "region_west_sichuan",
                            "city_chengdu", "member_regular", "household_couple", "acquired_referral",
                            "type_consumer", "tier_potential", "stage_prospect"]
    assert [t for t in tagged["c3"] if t.startswith(("prefers_", "buys_", "top_cat_", "city_", "stage_"))] == [
        "prefers_cat_milk", "buys_cat_milk", "top_cat_milk", "prefers_dept_dairy_eggs",
        "city_" + tagging.slug("阿坝州"), "city_tier_4", "stage_churned"]


def test_statistic_thresholds_come_from_the_buyers_of_the_date(spark, registry):
    rows = [dict(customer_id=f"b{i:02d}", orders_total=1, spend_90d=100.0 * i) for i in range(1, 11)]
    rows.append(dict(customer_id="p", orders_total=0, spend_90d=5000.0))  # not a buyer: not in the percentile
    df = profile_frame(spark, rows)
    tags = tagging.for_profile(df, registry=registry)
    big = next(t for t in tags if t.id == "big_spender")
    assert big.definition == "spend_90d >= {p90:spend_90d} AND spend_90d > 0"
    assert big.resolved == "spend_90d >= 900.0 AND spend_90d > 0"
    held = df.select("customer_id", tagging.tags_column(tags, df.schema).alias("tags"))
    assert sorted(r.customer_id for r in held.collect() if "big_spender" in r.tags) == ["b09", "b10", "p"]


def test_on_generator_vocabularies_the_registry_has_over_300_online_tags(spark, registry):
    from jobs.landing.generator.catalog import CATEGORIES
    from jobs.landing.generator.world import ACQUISITION, CITIES

    channels = ["app", "web", "mini_program", "store", "wholesale"]
    payments = ["wechat_pay", "alipay", "card", "cash_on_delivery", "bank_transfer"]
    levels, households = ["regular", "silver", "gold", "diamond"], [
        "single", "couple", "family_of_three", "family_with_elders", "restaurant"]
    stages, tiers = ["prospect", "new", "active", "at_risk", "churned"], [
        "Platinum", "Gold", "Silver", "Potential", "Churned"]
    bands, pushes = ["early_morning", "morning", "midday", "afternoon", "evening", "late_night"], [
        "sms", "app_push", "wechat"]
    rows = []
    for i, cat in enumerate(CATEGORIES):
        city = CITIES[i % len(CITIES)]
        nxt = CATEGORIES[(i + 1) % len(CATEGORIES)]
        pick = lambda xs: xs[i % len(xs)]  # noqa: E731
        rows.append(dict(
            customer_id=f"g{i:02d}", city=city.name_zh, region=city.region, city_tier=city.tier,
            climate_zone=city.climate_zone, category_share={cat.l2: 0.6, nxt.l2: 0.4},
            category_l1_share={cat.l1: 1.0}, top_category=cat.l2, preferred_channel=pick(channels),
            channel_mix={pick(channels): 1.0}, preferred_payment=pick(payments), payment_mix={pick(payments): 1.0},
            member_level=pick(levels), household_type=pick(households), acquisition_channel=pick(ACQUISITION),
            lifecycle_stage=pick(stages), tier=pick(tiers), preferred_hour_band=pick(bands),
            preferred_push_channel=pick(pushes), orders_total=3))
    tags = tagging.online(tagging.for_profile(profile_frame(spark, rows), registry=registry))
    # 148 static + 36 x 3 category_l2 families + 10 departments + 4 regions + 23 cities + 5 city tiers
    # + 6 climates + 6 hour bands + 5 + 5 channels + 5 + 5 payments + 3 push + 4 levels + 5 households
    # + 7 acquisition + 5 tiers + 5 stages
    assert len(tags) == 148 + 108 + 10 + 4 + 23 + 5 + 6 + 6 + 10 + 10 + 3 + 4 + 5 + 7 + 5 + 5 == 359
    assert len({t.id for t in tags}) == 359 >= 300


# --- one pass ----------------------------------------------------------------------------------------

def test_all_tags_are_computed_in_one_projection_over_one_scan(spark, tmp_path, profile, expanded):
    path = str(tmp_path / "profile")
    profile.write.format("delta").save(path)
    df = spark.read.format("delta").load(path)
    out = df.withColumn("tags", tagging.tags_column(expanded, df.schema))
    plan = out._jdf.queryExecution().executedPlan().toString()
    assert plan.count("FileScan") == 1 and "Exchange" not in plan
    assert {r.customer_id: r.tags for r in out.collect()} == {
        r.customer_id: r.tags for r in profile.withColumn(
            "tags", tagging.tags_column(expanded, profile.schema)).collect()}


def test_tags_column_without_online_tags_is_an_empty_array(profile):
    import dataclasses

    fan = next(t for t in tagging.expand(tagging.load()) if t.id == "hotpot_fan")
    offline = [dataclasses.replace(fan, status="offline"), dataclasses.replace(fan, id="draft_fan", status="draft")]
    got = profile.select(tagging.tags_column(offline, profile.schema).alias("t")).collect()
    assert [r.t for r in got] == [[], [], [], [], []]


# --- validation ----------------------------------------------------------------------------------

def write_conf(tmp_path, text: str):
    path = tmp_path / "tags.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_structural_problems_are_listed_with_file_and_tag(tmp_path):
    path = write_conf(tmp_path, """\
        defaults: {owner: crm, version: 1, kind: rule, status: online}
        tags:
          - {id: a_tag, name_zh: 甲, name_en: A, group: g, subgroup: s, description: d, definition: "tier = 'Gold'"}
          - {id: a_tag, name_zh: 乙, name_en: B, group: g, subgroup: s, description: d, definition: "tier = 'Gold'"}
          - {id: b_tag, name_zh: 丙, name_en: C, group: g, subgroup: s, description: d, definition: "is_churned",
             status: live, kind: guess, version: 0}
          - {id: Bad-Id, name_zh: 丁, name_en: D, group: g, subgroup: s, description: d, definition: "is_churned"}
          - {id: c_tag, name_en: E, group: g, subgroup: s, description: d, definition: "is_churned", colour: red}
        templates:
          - template: per_city
            for_each: {values_from: city}
            id: city_{value}
            name_zh: "{value}"
            name_en: "{value}"
            group: g
            subgroup: s
            description: d
            definition: "city = {value}"
        """)
    with pytest.raises(TagError) as info:
        tagging.load(path)
    msg = str(info.value)
    where = str(path)
    assert msg.splitlines()[0] == "8 problems in the tag registry:"
    for line in [
        f"- {where} tag 'b_tag': kind 'guess' is not one of rule, statistic, model",
        f"- {where} tag 'b_tag': status 'live' is not one of draft, online, offline",
        f"- {where} tag 'b_tag': version must be a whole number >= 1, got 0",
        f"- {where} tag 'Bad-Id': id must be lower-case letters, digits and _ starting with a letter (at most 80), "
        f"got 'Bad-Id'",
        f"- {where} tag 'c_tag': `name_zh` is missing",
        f"- {where} template 'per_city': a value taken from the data must be quoted in the definition ('{{value}}') "
        f"or written {{literal}}, so data never becomes part of a condition",
        f"- {where} tag 'a_tag': duplicate id 'a_tag' (also {where} tag 'a_tag')",
    ]:
        assert line in msg.splitlines(), line
    assert f"- {where} tag 'c_tag': unknown key 'colour'" in msg


def test_unknown_fields_and_type_errors_name_the_tag_and_the_position(tmp_path):
    path = write_conf(tmp_path, """\
        defaults: {owner: crm, version: 1, kind: rule, status: online}
        tags:
          - {id: fan, name_zh: 甲, name_en: A, group: g, subgroup: s, description: d,
             definition: "category_share['beef'] >= 0.3 AND montly_spend > 100"}
          - {id: tier, name_zh: 乙, name_en: B, group: g, subgroup: s, description: d, definition: "tier > 5"}
        templates:
          - template: per_level
            for_each: {values: [gold, silver]}
            id: level_{value}
            name_zh: "{value}"
            name_en: "{value}"
            group: g
            subgroup: s
            description: d {nope}
            definition: "member_level = '{value}'"
        """)
    with pytest.raises(TagError) as info:
        tagging.validate(tagging.load(path))
    msg = str(info.value)
    assert (f"- {path} tag 'fan', column 35: unknown field 'montly_spend' (did you mean 'monthly_spend'?)\n"
            f"    category_share['beef'] >= 0.3 AND montly_spend > 100\n"
            f"                                      ^") in msg
    assert f"- {path} tag 'tier': id 'tier' is also a profile column; audiences could not tell them apart" in msg
    assert f"- {path} tag 'tier', column 6: type mismatch: cannot compare string (field 'tier') with number" in msg
    assert f"- {path} template 'per_level': unknown placeholder {{nope}} in description" in msg


def published(tag_id, version, definition, expanded_from=None, value=None):
    return {"tag_id": tag_id, "version": version, "definition": definition, "expanded_from": expanded_from,
            "template_value": value}


def test_a_changed_definition_needs_a_version_bump(registry):
    current = next(t for t in registry.tags if t.id == "hotpot_fan").definition
    tagging.validate(registry, published=[published("hotpot_fan", 1, current)])  # unchanged: fine
    old = "customer_type != 'restaurant' AND category_share['hotpot_base'] >= 0.3"
    with pytest.raises(TagError) as info:
        tagging.validate(registry, published=[published("hotpot_fan", 1, old)])
    assert str(info.value) == (
        "conf/tags.yaml tag 'hotpot_fan': the definition changed but the version is still 1, the published one "
        "(gold.tag_registry); bump `version` to 2 to publish the new definition\n"
        f"    published: {old}\n    now:       {current}")


def test_versions_never_go_down(registry):
    current = next(t for t in registry.tags if t.id == "west_sichuan").definition
    with pytest.raises(TagError, match=r"^conf/tags.yaml tag 'west_sichuan': version 1 is lower than the "
                                       r"published version 3 \(gold.tag_registry\); versions only go up$"):
        tagging.validate(registry, published=[published("west_sichuan", 2, "x"), published("west_sichuan", 3, current)])


def test_template_members_are_checked_against_what_was_published(registry):
    rows = [published("prefers_cat_beef", 1, "category_share['beef'] >= 0.2", "prefers_category_l2", "beef"),
            published("usual_hour_5", 1, "preferred_hour = 5", "usual_hour", "5"),  # unchanged
            published("usual_hour_6", 1, "preferred_hour = 7", "usual_hour", "6")]
    with pytest.raises(TagError) as info:
        tagging.validate(registry, published=rows)
    lines = str(info.value).splitlines()
    assert lines[0] == "2 problems in the tag registry:"
    assert lines[1] == ("- conf/tags.yaml template 'prefers_category_l2' (tag 'prefers_cat_beef', value 'beef'): "
                        "the definition changed but the version is still 1, the published one (gold.tag_registry); "
                        "bump `version` to 2 to publish the new definition")
    assert lines[4].startswith("- conf/tags.yaml template 'usual_hour' (tag 'usual_hour_6', value 6): the definition")


def test_a_bumped_version_publishes_the_new_definition(tmp_path):
    path = write_conf(tmp_path, """\
        tags:
          - {id: fan, name_zh: 甲, name_en: A, group: g, subgroup: s, description: d, owner: o, kind: rule,
             status: online, version: 2, definition: "category_share['beef'] >= 0.3"}
        """)
    tagging.validate(tagging.load(path), published=[published("fan", 1, "category_share['beef'] >= 0.2")])


# --- the gold jobs --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def profile_with_tags(profile, expanded):
    return profile.withColumn("tags", tagging.tags_column(expanded, profile.schema)).cache()


def test_customer_tags_is_the_long_form_with_registry_metadata(spark, settings, profile_with_tags):
    from jobs.gold import customer_tags
    from jobs.gold.asof import AsOf

    asof = AsOf.from_frames(spark, settings, DAY, {}, {"customer_profile": profile_with_tags})
    rows = customer_tags.JOB.build(asof).collect()
    seed = sorted((r.customer_id, r.tag_id, r.tag_version, r.group, r.subgroup, r.kind) for r in rows
                  if r.tag_id in SEED)
    assert seed == [
        ("c1", "hotpot_fan", 1, "preference", "hotpot", "rule"),
        ("c1", "west_sichuan", 1, "geography", "region", "rule"),
        ("c2", "high_frequency", 1, "behaviour", "frequency", "rule"),
        ("c2", "restaurant_buyer", 1, "demographic", "customer_type", "rule"),
        ("c4", "west_sichuan", 1, "geography", "region", "rule"),
        ("c5", "high_frequency", 1, "behaviour", "frequency", "rule"),
        ("c5", "restaurant_buyer", 1, "demographic", "customer_type", "rule"),
        ("c5", "west_sichuan", 1, "geography", "region", "rule"),
    ]
    held = {r.customer_id: r.tags for r in profile_with_tags.collect()}
    assert len(rows) == sum(len(t) for t in held.values())
    assert all(r.tag_version == 1 for r in rows)


def test_tag_registry_is_validated_against_the_published_registry(spark, settings, profile_with_tags):
    from jobs.gold import tag_registry
    from jobs.gold.asof import AsOf

    stored = tagging.registry_frame(spark, [tagging.Tag(
        "hotpot_fan", "旧", "old", "preference", "hotpot", "rule", "o", "online", 1, "d",
        "category_share['hotpot_base'] >= 0.5")], dt.date(2025, 1, 1))
    asof = AsOf.from_frames(spark, settings, DAY, {}, {"customer_profile": profile_with_tags, "tag_registry": stored})
    with pytest.raises(TagError, match=r"^conf/tags.yaml tag 'hotpot_fan': the definition changed but the version "
                                       r"is still 1"):
        tag_registry.JOB.build(asof)


def test_tag_registry_keeps_every_published_version(spark):
    from jobs.gold.tag_registry import merge_history

    def tag(tag_id, version, definition):
        return tagging.Tag(tag_id, "甲", "A", "g", "s", "rule", "o", "online", version, "d", definition)

    jan, mar = dt.date(2025, 1, 1), dt.date(2025, 3, 31)
    stored = tagging.registry_frame(spark, [tag("fan", 1, "x > 1"), tag("west", 1, "region = 'w'"),
                                            tag("gone", 1, "is_churned")], jan)
    current = tagging.registry_frame(spark, [tag("fan", 2, "x > 2"), tag("west", 1, "region = 'w'")], mar)
    rows = sorted((r.tag_id, r.version, r.definition, r.first_published, r.last_published, r.is_current)
                  for r in merge_history(current, stored).collect())
    assert rows == [
        ("fan", 1, "x > 1", jan, jan, False),
        ("fan", 2, "x > 2", mar, mar, True),
        ("gone", 1, "is_churned", jan, jan, False),
        ("west", 1, "region = 'w'", jan, mar, True),
    ]


def test_the_gold_tag_tables_pass_their_checks_and_are_written(spark, settings, tmp_path, profile_with_tags):
    from expectations.runner import run_checks
    from habitlake import catalog
    from jobs.gold import customer_tags, tag_registry
    from jobs.gold.asof import AsOf
    from jobs.gold.framework import write

    mine = settings.with_overrides(root=str(tmp_path / "lake_root"))
    asof = AsOf.from_frames(spark, mine, DAY, {}, {"customer_profile": profile_with_tags})
    outcomes = {}
    for job in (customer_tags.JOB, tag_registry.JOB):
        rows = job.build(asof).cache()
        result = run_checks(rows, job.suite, gx_root=str(tmp_path / "checks"), run_id=f"gold_{DAY}")
        outcomes[job.suite] = [(o["expectation"], o["column"], o["success"]) for o in result.rows()
                               if not o["success"]]
        write(job, rows, asof)
    assert outcomes == {"gold_customer_tags": [], "gold_tag_registry": []}
    written = catalog.read(spark, mine, "gold.customer_tags")
    held = sum(len(r.tags) for r in profile_with_tags.collect())
    assert written.filter(F.col("as_of_date") == dt.date(2025, 3, 31)).count() == held == 133
    registry = catalog.read(spark, mine, "gold.tag_registry")
    assert registry.filter("is_current AND first_published = DATE '2025-03-31'").count() == 217
