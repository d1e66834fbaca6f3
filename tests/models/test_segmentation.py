"""Segmentation: features, split, naming and ARI on hand-made rows; on the generated world the
segments recover the planted personas, nothing after the cutoff reaches a feature, and the same seed
gives the same model."""
from __future__ import annotations

import datetime as dt
import math

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from models.segmentation import evaluate, features, naming, split

# --- adjusted Rand index -----------------------------------------------------------------------


def _table(a, b):
    cells = {}
    for x, y in zip(a, b):
        cells[(x, y)] = cells.get((x, y), 0) + 1
    return cells


def test_ari_textbook_values():
    # sklearn's documented examples: a split cluster, a relabelled identical partition, all pairs apart
    assert evaluate.adjusted_rand_index(_table([0, 0, 1, 1], [0, 0, 1, 2])) == pytest.approx(0.5714285714285714)
    assert evaluate.adjusted_rand_index(_table([0, 0, 1, 1], [1, 1, 0, 0])) == 1.0
    assert evaluate.adjusted_rand_index(_table([0, 0, 0, 0], [0, 1, 2, 3])) == 0.0
    assert evaluate.adjusted_rand_index(_table([0, 0, 1, 2], [0, 0, 1, 1])) == pytest.approx(0.5714285714285714)


def test_ari_worse_than_chance_is_negative():
    assert evaluate.adjusted_rand_index(_table([0, 0, 1, 1], [0, 1, 0, 1])) == pytest.approx(-0.5)


# --- naming ------------------------------------------------------------------------------------


def test_names_follow_the_traits_and_are_unique():
    centroids = {
        0: {"is_b2b": 3.0, "channel_wholesale": 3.0, "pay_bank_transfer": 2.0, "log_order_value": 2.0,
            "weekend_share": -0.5},
        1: {"promo_order_share": 2.0, "discount_rate": 1.5, "channel_web": 0.6, "log_orders_per_month": -0.1},
        2: {"hour_evening": 1.5, "log_order_value": -1.0, "weekend_share": -0.8},
        3: {"hour_evening": 0.1, "channel_web": -0.2},
        4: {"channel_web": 1.2, "hour_midday": 0.4},
        5: {"channel_web": 0.9},
        6: {"weekend_share": 1.4, "log_order_value": 0.9, "is_b2b": -0.2},
    }
    named = naming.name_segments(centroids)
    assert {seg: name for seg, (name, _) in named.items()} == {
        0: "restaurant wholesale buyers",
        1: "deal hunters",
        2: "evening office top-ups",
        3: "everyday shoppers",
        4: "more web orders (segment 4)",
        5: "more web orders (segment 5)",
        6: "weekend family bulk buyers",
    }
    assert named[1][1] == ("Buy seldom, and then mostly on promotion at a deep discount; promotion orders above average (z=+2.0), "
                           "discount taken above average (z=+1.5), web orders above average (z=+0.6).")
    assert named[3][1].startswith("Close to the average customer; ")


def test_a_trait_goes_to_the_segment_that_shows_it_most():
    centroids = {0: {"promo_order_share": 1.0, "discount_rate": 1.0},
                 1: {"promo_order_share": 2.5, "discount_rate": 2.0, "log_orders_per_month": -1.0},
                 2: {"hour_early_morning": 2.0, "channel_store": 1.5, "pay_cash": 1.0, "cat_vegetables": 0.5}}
    named = naming.name_segments(centroids)
    assert named[1][0] == "deal hunters"
    assert named[0][0] == "more discount taken"  # ties on |z| break by feature name
    assert named[2][0] == "early-morning store regulars"
    assert naming.label("cat_grains_oils") == "grains oils spend"


def test_names_do_not_depend_on_dict_order():
    a = {0: {"promo_order_share": 1.5}, 1: {"promo_order_share": 1.5}}
    b = {1: {"promo_order_share": 1.5}, 0: {"promo_order_share": 1.5}}
    assert naming.name_segments(a) == naming.name_segments(b)
    # equal scores: the lower segment id takes the trait (each feature counts a third of the score)
    assert naming.name_segments(a)[0][0] == "deal hunters"


# --- features on a hand-made profile ----------------------------------------------------------

PROFILE_SCHEMA = T.StructType([
    T.StructField("customer_id", T.StringType()),
    T.StructField("orders_total", T.LongType()),
    T.StructField("first_order_date", T.DateType()),
    T.StructField("last_order_date", T.DateType()),
    T.StructField("recency_days", T.IntegerType()),
    T.StructField("avg_order_value", T.DoubleType()),
    T.StructField("hour_share", T.ArrayType(T.DoubleType())),
    T.StructField("weekend_share", T.DoubleType()),
    T.StructField("channel_mix", T.MapType(T.StringType(), T.DoubleType())),
    T.StructField("payment_mix", T.MapType(T.StringType(), T.DoubleType())),
    T.StructField("category_l1_share", T.MapType(T.StringType(), T.DoubleType())),
    T.StructField("customer_type", T.StringType()),
    T.StructField("promo_order_share", T.DoubleType()),
    T.StructField("discount_rate", T.DoubleType()),
])


def _hours(**shares):
    out = [0.0] * 24
    for hour, share in shares.items():
        out[int(hour[1:])] = share
    return out


def _profile(spark):
    d = dt.date
    rows = [
        ("C1", 4, d(2025, 1, 1), d(2025, 3, 1), 30, 99.0, _hours(h7=0.5, h20=0.25, h0=0.25), 0.25,
         {"store": 0.75, "app": 0.25}, {"cash": 1.0}, {"vegetables": 0.6, "meat": 0.4}, "consumer", 0.25, 0.1),
        ("C2", 1, d(2025, 3, 1), d(2025, 3, 1), 30, 50.0, _hours(h12=1.0), 0.0,
         {"app": 1.0}, {"alipay": 1.0}, {"meat": 1.0}, "consumer", 0.0, 0.0),
        ("C3", 10, d(2025, 3, 30), d(2025, 3, 30), 1, 0.0, _hours(h5=0.6, h15=0.4), 0.1,
         {"wholesale": 1.0}, {"bank_transfer": 1.0}, {"vegetables": 1.0}, "restaurant", None, None),
    ]
    return spark.createDataFrame(rows, PROFILE_SCHEMA)


def test_behaviour_features_exact_values(spark):
    profile = _profile(spark)
    assert features.categories_in(profile) == ["meat", "vegetables"]
    got = features.behaviour_features(profile, ["meat", "vegetables"], min_orders=2)
    columns = features.feature_columns(["meat", "vegetables"])
    assert got.columns == ["customer_id", *columns]
    expected = [
        # early, morning, midday, afternoon, evening, weekend, log value, log orders/month,
        # store, wholesale, web, cash, bank, b2b, promo, discount, meat, vegetables
        ("C1", 0.5, 0.0, 0.0, 0.0, 0.5, 0.25, math.log(100.0), math.log1p(4 / 3),
         0.75, 0.0, 0.0, 1.0, 0.0, 0.0, 0.25, 0.1, 0.4, 0.6),
        ("C3", 0.6, 0.0, 0.0, 0.4, 0.0, 0.1, 0.0, math.log1p(10.0),
         0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0),
    ]
    schema = T.StructType([T.StructField("customer_id", T.StringType())]
                          + [T.StructField(c, T.DoubleType()) for c in columns])
    assertDataFrameEqual(got, spark.createDataFrame(expected, schema), rtol=1e-9)


def test_behaviour_features_min_orders_and_missing_columns(spark):
    profile = _profile(spark)
    assert [r.customer_id for r in features.behaviour_features(profile, ["meat"], 1).collect()] == ["C1", "C2", "C3"]
    with pytest.raises(ValueError, match="lacks the columns"):
        features.behaviour_features(profile.drop("hour_share"), ["meat"])
    with pytest.raises(ValueError, match="min_orders"):
        features.behaviour_features(profile, ["meat"], 0)


def test_customer_split_is_disjoint_stable_and_seeded(spark):
    ids = spark.range(2000).select(F.format_string("C%07d", "id").alias("customer_id"))
    train, test = split.customer_split(ids, 0.25, seed=42)
    train_ids = {r.customer_id for r in train.collect()}
    test_ids = {r.customer_id for r in test.collect()}
    assert not train_ids & test_ids and len(train_ids | test_ids) == 2000
    assert len(test_ids) == 496  # a seeded hash: about a quarter, the same on every run
    _, alone = split.customer_split(ids.filter(F.col("customer_id") < "C0000100"), 0.25, seed=42)
    assert {r.customer_id for r in alone.collect()} == {c for c in test_ids if c < "C0000100"}
    _, other = split.customer_split(ids, 0.25, seed=7)
    assert {r.customer_id for r in other.collect()} != test_ids
    with pytest.raises(ValueError):
        split.customer_split(ids, 1.0)


# --- on the generated world ---------------------------------------------------------------------

PERSONA_SEGMENTS = {"restaurant wholesale buyers", "early-morning store regulars", "evening office top-ups",
                    "weekend family bulk buyers", "hot-pot cooks"}


@pytest.fixture(scope="module")
def trained(spark, world):
    from models.framework import TrainContext
    from models.segmentation import spec

    return spec.train_and_evaluate(TrainContext(spark, world.settings, dt.date.fromisoformat(world.last), seed=42))


def test_segments_recover_the_planted_personas(trained):
    m = trained.metrics
    # measured on the held-out quarter of the customers (see models/segmentation/evaluate.py)
    assert m["k"] == 6.0
    assert m["ari_persona"] >= 0.85, m
    assert m["silhouette"] >= 0.33, m
    assert m["customers_test"] == m["customers_with_truth"] and 120 <= m["customers_test"] <= 170
    assert trained.primary_metric == "silhouette" and trained.higher_is_better
    names = set(trained.tables["segments.csv"]["segment_name"])
    assert PERSONA_SEGMENTS <= names, names
    assert list(trained.tables["silhouette_curve.csv"]["k"]) == list(range(3, 11))
    assert trained.figures["silhouette.png"].axes[0].get_ylabel() == "silhouette (training customers)"


def test_scoring_writes_every_buyer_once(trained, spark, world):
    from jobs.gold.asof import AsOf
    from models.framework import ScoreContext
    from models.segmentation import spec

    out = spec.score(ScoreContext(spark, world.settings, AsOf(spark, world.settings, world.last)), trained.model)
    segments, profiles = out["gold.customer_segments"], out["gold.segment_profiles"]
    assert segments.columns == ["customer_id", "segment_id", "segment", "segment_name", "distance"]
    buyers = (features.profile_as_of(AsOf(spark, world.settings, world.last))
              .filter(F.col("orders_total") >= 2).count())
    assert segments.count() == segments.select("customer_id").distinct().count() == buyers
    assert segments.filter(F.col("distance").isNull() | (F.col("distance") < 0)).count() == 0
    rows = profiles.collect()
    assert [r.segment_id for r in rows] == list(range(6))
    assert sum(r.size for r in rows) == buyers
    assert len({r.segment_name for r in rows}) == 6
    assert all(set(r.centroid) == set(r.centroid_z) and "is_b2b" in r.centroid for r in rows)
    restaurant = [r for r in rows if r.segment_name == "restaurant wholesale buyers"][0]
    assert restaurant.centroid["is_b2b"] == pytest.approx(1.0)


def test_same_seed_same_model(spark, world):
    from jobs.gold.asof import AsOf
    from models.segmentation import train as tr

    profile = features.profile_as_of(AsOf(spark, world.settings, world.last))
    categories = features.categories_in(profile)
    rows = features.behaviour_features(profile, categories).cache()
    train, _ = split.customer_split(rows, 0.25, seed=3)
    first = tr.fit(train, features.feature_columns(categories), (5, 7), seed=3)
    again = tr.fit(train, features.feature_columns(categories), (5, 7), seed=3)
    assert first.curve == again.curve and first.k == again.k
    centres = [list(c) for c in tr.kmeans_of(first.model).clusterCenters()]
    assert centres == [list(c) for c in tr.kmeans_of(again.model).clusterCenters()]


def test_nothing_after_the_cutoff_reaches_a_feature(spark, world):
    """Features as of the mid date from silver whose later rows are altered (bigger totals, another
    channel and hour) and extended (a new wholesale order the day after the cutoff, for every
    customer) equal the features of the stored profile of that date, which the CLI computed from the
    untouched silver."""
    from habitlake import catalog
    from jobs.gold.asof import AsOf

    mid = dt.date.fromisoformat(world.mid)
    later = F.col("order_date") > F.lit(mid)
    silver = {t: catalog.read(spark, world.settings, f"silver.{t}")
              for t in ("orders", "order_lines", "products", "customers")}
    orders, lines = silver["orders"], silver["order_lines"]
    altered_orders = orders.withColumns({
        "total_amount": F.when(later, F.col("total_amount") * 10).otherwise(F.col("total_amount")),
        "channel": F.when(later, F.lit("wholesale")).otherwise(F.col("channel")),
        "order_hour": F.when(later, F.lit(3)).otherwise(F.col("order_hour")),
    })
    day_after = F.lit(mid + dt.timedelta(days=1))
    extra_orders = (orders.filter(~later).dropDuplicates(["customer_id"])
                    .withColumns({"order_id": F.concat(F.lit("FUT"), F.col("order_id")), "order_date": day_after,
                                  "status": F.lit("delivered"), "is_return": F.lit(False),
                                  "channel": F.lit("wholesale")}))
    extra_lines = (lines.join(extra_orders.select(F.col("order_id").substr(4, 100).alias("order_id")), "order_id")
                   .withColumns({"order_id": F.concat(F.lit("FUT"), F.col("order_id")), "order_date": day_after}))
    future = {**silver, "orders": altered_orders.unionByName(extra_orders),
              "order_lines": lines.unionByName(extra_lines)}
    computed = features.profile_as_of(AsOf.from_frames(spark, world.settings, world.mid, future))
    stored = features.profile_as_of(AsOf(spark, world.settings, world.mid))
    assert "as_of_date" in stored.columns and "as_of_date" not in computed.columns  # one read, one computed
    categories = features.categories_in(stored)
    assert features.categories_in(computed) == categories
    assertDataFrameEqual(features.behaviour_features(computed, categories),
                         features.behaviour_features(stored, categories), rtol=1e-9)
