"""Reference checks silver rules share: does an id exist in its table, is it a test account.

Silver is one bronze table in, but validating ids against their tables needs a lookup; these add
a boolean column by a left semi-style join on a distinct key list and change nothing else.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def flag_known(df: DataFrame, column: str, reference: DataFrame | None, ref_column: str, flag: str) -> DataFrame:
    """Add `flag`: true when df[column] is in reference[ref_column]; null when there is no
    reference at all (the retailer lacks that source, so the check is skipped)."""
    if reference is None:
        return df.withColumn(flag, F.lit(None).cast("boolean"))
    keys = reference.select(F.col(ref_column).alias("_ref_key")).distinct().withColumn(flag, F.lit(True))
    joined = df.join(keys, df[column] == keys["_ref_key"], how="left").drop("_ref_key")
    return joined.withColumn(flag, F.coalesce(F.col(flag), F.lit(False)))
