"""Benchmark: K-means training time, Spark MLlib against scikit-learn, on the same feature matrix.

Reads the customer profile of an existing root as of `--date` (the stored gold.customer_profile
slice, or computed from silver; nothing is written to the root's tables), builds the segmentation
features (`models.segmentation.features`), standardises them once, and times for every k of
`--k-min..--k-max`: MLlib `KMeans` (k-means||, the model's settings) and scikit-learn `KMeans`
(k-means++, n_init=1, the same max_iter and tolerance), each fit `--repeat` times (the best time is
printed). Prints the figures; asserts nothing.

    python -m bench.train_segmentation --home DIR [--date YYYY-MM-DD] [--k-min 3] [--k-max 10]

Spark runs with the environment's settings (HABITLAKE_SPARK_MASTER etc.) on DIR; a metastore server
this benchmark had to start is stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import time


def latest_profile_date(spark, settings) -> str | None:
    from pyspark.sql import functions as F

    from habitlake import catalog

    tbl = catalog.table("gold.customer_profile")
    if not catalog.exists(spark, settings, tbl):
        return None
    row = catalog.read(spark, settings, tbl.full_name).agg(F.max("as_of_date").alias("d")).first()
    return None if row["d"] is None else row["d"].isoformat()


def timed(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def run(spark, settings, date: str, k_min: int, k_max: int, repeat: int, seed: int = 42) -> list[dict]:
    """One row per k: mllib_seconds, sklearn_seconds and both models' inertia (sum of squared
    distances to the nearest centroid) on the standardised matrix."""
    import numpy as np
    from pyspark.ml.functions import vector_to_array
    from sklearn.cluster import KMeans as SkKMeans

    from jobs.gold.asof import AsOf
    from models.segmentation import features
    from models.segmentation import train as tr

    profile = features.profile_as_of(AsOf(spark, settings, date)).cache()
    categories = features.categories_in(profile)
    columns = features.feature_columns(categories)
    rows = tr.ordered(features.behaviour_features(profile, categories))
    prepared = tr.preparation(columns).fit(rows).transform(rows).select("customer_id", tr.SCALED).cache()
    matrix = np.array([r["x"] for r in prepared.select(vector_to_array(tr.SCALED).alias("x")).collect()])
    print(f"features: {matrix.shape[0]} customers x {matrix.shape[1]} columns, as of {date}")
    out = []
    for k in range(k_min, k_max + 1):
        spark_s, model = timed(lambda: tr.kmeans(k, seed).fit(prepared), repeat)
        sk = SkKMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=tr.DEFAULT_MAX_ITER, tol=tr.DEFAULT_TOL,
                      random_state=seed)
        sk_s, fitted = timed(lambda: sk.fit(matrix), repeat)
        out.append({"k": k, "mllib_seconds": spark_s, "sklearn_seconds": sk_s,
                    "mllib_inertia": float(model.summary.trainingCost), "sklearn_inertia": float(fitted.inertia_)})
        print(f"k={k:2d}  MLlib {spark_s:6.2f} s  scikit-learn {sk_s:6.3f} s  "
              f"inertia MLlib {out[-1]['mllib_inertia']:9.1f}  scikit-learn {out[-1]['sklearn_inertia']:9.1f}")
    total_spark = sum(r["mllib_seconds"] for r in out)
    total_sk = sum(r["sklearn_seconds"] for r in out)
    print(f"all k: MLlib {total_spark:.2f} s, scikit-learn {total_sk:.3f} s")
    prepared.unpersist()
    profile.unpersist()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train_segmentation", description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True, help="habitlake root to read (HABITLAKE_HOME)")
    parser.add_argument("--date", help="as-of date of the profile (default: the latest stored slice)")
    parser.add_argument("--k-min", type=int, default=3)
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    from habitlake import jars, metastore
    from habitlake.settings import Settings
    from habitlake.spark import get_spark

    settings = Settings.from_env({**os.environ, "HABITLAKE_HOME": args.home})
    jars.resolve(settings.jar_dir)
    started_metastore = metastore.ensure_running(settings)
    started = time.perf_counter()
    spark = get_spark(settings, app_name="bench-train-segmentation")
    print(f"Spark start-up {time.perf_counter() - started:.1f} s")
    try:
        date = args.date or latest_profile_date(spark, settings)
        if date is None:
            parser.error("no gold.customer_profile under --home: pass --date to compute it from silver")
        run(spark, settings, date, args.k_min, args.k_max, args.repeat)
    finally:
        spark.stop()
        if started_metastore:
            metastore.stop(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
