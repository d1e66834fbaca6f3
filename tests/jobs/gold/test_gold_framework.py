"""The gold framework: RFM cut points (fixed or quantiles), and writes that can be repeated."""
import copy
import datetime as dt

import pytest

from pyspark.sql import functions as F

from habitlake import catalog
from jobs.gold import config
from jobs.gold import customer_profile as cp
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, write

RFM_ROWS = [("a", 1, 3, 5, 600.0), ("b", 121, 1, 1, 50.0), ("c", 10, 9, 9, 2500.0), ("d", None, 0, 0, None)]
RFM_SCHEMA = "customer_id string, recency_days int, orders_total long, _orders_rfm long, _spend_rfm double"


def _scores(spark, conf):
    df = spark.createDataFrame(RFM_ROWS, RFM_SCHEMA)
    return {r.customer_id: (r.r_score, r.f_score, r.m_score, r.rfm_score, r.rfm_total)
            for r in cp.rfm(df, None, conf).collect()}


def test_rfm_with_fixed_cut_points(spark):
    conf = copy.deepcopy(config.load())
    conf["rfm"] = {"method": "fixed", "window_days": 365,
                   "cuts": {"recency_days": [7, 14, 30, 60], "orders": [2, 4, 8, 16], "spend": [200, 500, 1000, 3000]}}
    assert _scores(spark, conf) == {"a": (5, 3, 3, "533", 11), "b": (1, 1, 1, "111", 3), "c": (4, 4, 4, "444", 12),
                                    "d": (None, None, None, None, None)}


def test_rfm_with_quantile_cut_points(spark):
    # buyers a, b, c: recency quintiles of [1, 10, 121] are 4.6, 8.2, 32.2, 76.6
    assert _scores(spark, config.load()) == {"a": (5, 3, 3, "533", 11), "b": (1, 1, 1, "111", 3),
                                             "c": (3, 5, 5, "355", 13), "d": (None, None, None, None, None)}


def test_snapshot_writes_replace_their_own_date_only(spark, settings, tmp_path):
    root = settings.with_overrides(root=str(tmp_path))
    job = GoldJob(table="gold.winback_list", build=lambda asof: None)

    def run(day, ids):
        asof = AsOf(spark, root, day)
        write(job, spark.createDataFrame([(i,) for i in ids], "customer_id string"), asof)

    run("2025-03-01", ["a", "b"])
    run("2025-03-02", ["c"])
    run("2025-03-01", ["a", "b"])  # the same date again: the same table
    run("2025-03-02", ["d"])  # a corrected re-run replaces only its slice
    rows = sorted((str(r.as_of_date), r.customer_id)
                  for r in catalog.read(spark, root, "gold.winback_list").collect())
    assert rows == [("2025-03-01", "a"), ("2025-03-01", "b"), ("2025-03-02", "d")]
    assert catalog.read(spark, root, "gold.winback_list").filter(F.col("as_of_date") == dt.date(2025, 3, 1)).count() == 2


def test_a_missing_silver_source_skips_the_tables_that_read_it(spark, settings, tmp_path):
    """A retailer without a source (here: no silver tables at all) gets every table it allows and a
    reason for each one skipped; the tables needing a skipped one are skipped too, nothing is written."""
    from jobs.gold import promotion_uplift
    from jobs.gold import run as gold
    from jobs.gold.asof import MissingSource

    root = settings.with_overrides(root=str(tmp_path))
    results = gold.run(spark, root, "2025-03-01", tables=["customer_profile", "customer_tags", "promotion_uplift"],
                       checks=False, progress=None)
    assert [(r.table, r.rows, r.skipped) for r in results] == [
        ("gold.customer_profile", 0,
         "silver.customers does not exist (the retailer has no such source, or `habitlake silver` has not run yet)"),
        ("gold.customer_tags", 0, "needs gold.customer_profile, which was skipped"),
        ("gold.promotion_uplift", 0, "needs gold.customer_profile, which was skipped"),
    ]
    assert not catalog.exists(spark, root, catalog.table("gold.customer_profile"))
    with pytest.raises(MissingSource) as gap:  # a retailer with no promotions source
        promotion_uplift.JOB.build(AsOf(spark, root, "2025-03-01", given={}))
    assert gap.value.source == "promotions"
