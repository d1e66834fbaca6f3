"""silver.weather: one row per city and day, temperatures in degrees Celsius and rain in mm.

From bronze.weather (a third-party feed, one file per day). Numbers are decimal(5,1); the date may
come in any known date layout. A city and day delivered again (a corrected feed) is replaced by the
later file's values. Quarantined: malformed lines, dates in no known layout, missing cities, empty
or unparseable temperatures, unparseable or negative precipitation, a daily high below the low.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver.pipeline import Context, SilverJob

SCALE, PRECISION = 1, 5  # decimal(5,1)


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    return df.withColumns({
        "_date": fw.parse_date(F.col("date"), ctx.tz),
        "_city": fw.text("city"),
        "_high": fw.parse_decimal(F.col("temp_high_c"), SCALE, PRECISION),
        "_low": fw.parse_decimal(F.col("temp_low_c"), SCALE, PRECISION),
        "_precip": fw.parse_decimal(F.col("precipitation_mm"), SCALE, PRECISION),
    })


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("bad_date", "date", F.col("_date").isNull(), "date is empty or in no known date layout"),
        fw.Rule("missing_city", "city", F.col("_city").isNull(), "city is empty"),
        fw.Rule("bad_number", "temp_high_c", F.col("_high").isNull(), "temp_high_c is empty or not a number"),
        fw.Rule("bad_number", "temp_low_c", F.col("_low").isNull(), "temp_low_c is empty or not a number"),
        fw.Rule("bad_number", "precipitation_mm",
                fw.unparseable(F.col("precipitation_mm"), F.col("_precip")) | (F.col("_precip") < 0),
                "precipitation_mm is not a number or negative"),
        fw.Rule("high_below_low", "temp_high_c", F.col("_high") < F.col("_low"),
                "temp_high_c is below temp_low_c"),
    ]


def output(df: DataFrame) -> DataFrame:
    return df.select(
        F.col("_date").alias("date"),
        F.col("_city").alias("city"),
        F.col("_high").alias("temp_high_c"),
        F.col("_low").alias("temp_low_c"),
        F.col("_precip").alias("precipitation_mm"),
        F.lower(fw.text("condition")).alias("condition"),
        F.col("_source_file").alias("source_file"),
    )



JOB = SilverJob(
    source="weather",
    target="silver.weather",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_date", "_city"),
    version_order=lambda: [F.col("_dt")],
)
