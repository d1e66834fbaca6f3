"""The rows of gold.customer_segments and gold.segment_profiles from a fitted segmentation model.

- `customer_segments`: one row per segmented customer (at least `min_orders` orders by the as-of
  date): customer_id, segment_id, segment (the readable name, the column gold.customer_profile
  takes), segment_name (the same name), distance (Euclidean distance to the segment's centroid in
  standardised feature space: 0 = the typical member).
- `segment_profiles`: one row per segment of the model: segment_id, segment_name, description, size
  (customers of the scored date in it), share (of the scored customers), centroid map<feature,
  value in feature units>, centroid_z map<feature, standardised value>.

The runner adds as_of_date, model_name and model_version.
"""
from __future__ import annotations

from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from models.segmentation import naming
from models.segmentation import train as tr

PROFILE_SCHEMA = T.StructType([
    T.StructField("segment_id", T.IntegerType(), False),
    T.StructField("segment_name", T.StringType(), False),
    T.StructField("description", T.StringType(), False),
    T.StructField("centroid", T.MapType(T.StringType(), T.DoubleType()), False),
    T.StructField("centroid_z", T.MapType(T.StringType(), T.DoubleType()), False),
])


def centroids_z(model: PipelineModel) -> dict[int, dict[str, float]]:
    """{segment_id: {feature: standardised centroid value}}."""
    columns = tr.columns_of(model)
    return {seg: {c: float(v) for c, v in zip(columns, centre)}
            for seg, centre in enumerate(tr.kmeans_of(model).clusterCenters())}


def centroids_units(model: PipelineModel) -> dict[int, dict[str, float]]:
    """{segment_id: {feature: centroid in feature units}} (z x std + mean of the scaler)."""
    scaler = tr.scaler_of(model)
    mean, std = scaler.mean.toArray(), scaler.std.toArray()
    return {seg: {c: float(z[c] * s + m) for c, m, s in zip(tr.columns_of(model), mean, std)}
            for seg, z in centroids_z(model).items()}


def names(model: PipelineModel) -> dict[int, tuple[str, str]]:
    """{segment_id: (name, description)} by the rules of `naming.py`."""
    return naming.name_segments(centroids_z(model))


def segment_table(spark: SparkSession, model: PipelineModel) -> DataFrame:
    """One row per segment of the model: segment_id, segment_name, description, centroid, centroid_z."""
    z, units, named = centroids_z(model), centroids_units(model), names(model)
    rows = [(seg, named[seg][0], named[seg][1], units[seg], z[seg]) for seg in sorted(z)]
    return spark.createDataFrame(rows, PROFILE_SCHEMA)


def _distance(model: PipelineModel) -> F.Column:
    """Euclidean distance of `features` to the centroid of `segment_id`."""
    centres = F.array(*[F.array(*[F.lit(float(v)) for v in c]) for c in tr.kmeans_of(model).clusterCenters()])
    centre = F.element_at(centres, F.col(tr.PREDICTION) + 1)
    diffs = F.zip_with(vector_to_array(F.col(tr.SCALED)), centre, lambda a, b: (a - b) * (a - b))
    return F.sqrt(F.aggregate(diffs, F.lit(0.0), lambda acc, x: acc + x))


def customer_segments(model: PipelineModel, feature_rows: DataFrame) -> DataFrame:
    """gold.customer_segments rows for the customers of `feature_rows` (features.behaviour_features
    with the model's columns)."""
    spark = feature_rows.sparkSession
    named = segment_table(spark, model).select("segment_id", "segment_name")
    assigned = model.transform(feature_rows)
    return (
        assigned.select("customer_id", F.col(tr.PREDICTION).cast("int").alias("segment_id"),
                        _distance(model).alias("distance"))
        .join(F.broadcast(named), "segment_id", how="left")
        .select("customer_id", "segment_id", F.col("segment_name").alias("segment"), "segment_name",
                F.col("distance").cast("double").alias("distance"))
    )


def segment_profiles(model: PipelineModel, segments: DataFrame) -> DataFrame:
    """gold.segment_profiles rows: every segment of the model, with its size among `segments`
    (rows of `customer_segments`)."""
    spark = segments.sparkSession
    sizes = segments.groupBy("segment_id").agg(F.count(F.lit(1)).alias("size"))
    total = F.sum("size").over(Window.partitionBy(F.lit(1)))
    return (
        segment_table(spark, model).join(sizes, "segment_id", how="left")
        .fillna(0, subset=["size"])
        .select("segment_id", "segment_name", "description", F.col("size").cast("long").alias("size"),
                F.coalesce(F.col("size") / total, F.lit(0.0)).cast("double").alias("share"),
                "centroid", "centroid_z")
        .orderBy("segment_id")
    )

