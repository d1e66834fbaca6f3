"""silver.calendar: one row per calendar day, with its holiday (if any) and whether it is worked.

From bronze.holidays (a third-party calendar delivered once a year: one row per official day off
and per adjusted working day). The table covers the full calendar years spanned by the valid holiday
rows (first to last year), not only the holiday dates: every day has its ISO weekday (1 = Monday ..
7 = Sunday), `is_weekend`, the holiday code and names, `is_day_off` (an official holiday day off)
and `is_workday` (a weekday that is not a day off, or a weekend day the source marks as an adjusted
working day with is_day_off 0 / false).

The books count holiday rows: each valid row goes to silver as the attributes of its day. Two
holidays on one date (Mid-Autumn inside the National Day week): the first by holiday_code is kept,
the other counted as a duplicate. Quarantined: malformed lines, dates in no known layout, missing
holiday codes, day-off flags that are not 1 / 0 / true / false.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.silver import framework as fw
from jobs.silver.pipeline import Context, SilverJob

DAY_OFF_FLAGS = {"1": True, "true": True, "yes": True, "y": True, "是": True,
                 "0": False, "false": False, "no": False, "n": False, "否": False}
SATURDAY = 5  # F.weekday: 0 = Monday .. 6 = Sunday


def conform(df: DataFrame, ctx: Context) -> DataFrame:
    flags = F.create_map(*[F.lit(x) for pair in sorted(DAY_OFF_FLAGS.items()) for x in pair])
    typed = df.withColumns({
        "_date": fw.parse_date(F.col("date"), ctx.tz),
        "_code": fw.text("holiday_code"),
        "_day_off": F.element_at(flags, F.lower(F.trim("is_day_off"))),
    })
    # Several holidays on one date: the first by code wins (versions are ranked descending).
    by_code = Window.partitionBy("_date").orderBy(F.col("_code").asc_nulls_last())
    return typed.withColumn("_code_rank", F.dense_rank().over(by_code))


def rules(df: DataFrame, ctx: Context) -> list[fw.Rule]:
    return [
        fw.Rule("bad_date", "date", F.col("_date").isNull(), "date is empty or in no known date layout"),
        fw.Rule("missing_holiday_code", "holiday_code", F.col("_code").isNull(), "holiday_code is empty"),
        fw.Rule("bad_day_off", "is_day_off", F.col("_day_off").isNull(),
                "is_day_off is empty or not 1 / 0 / true / false"),
    ]


def output(df: DataFrame) -> DataFrame:
    """The day spine of the holiday rows' years, each day with its holiday (if any)."""
    holidays = df.select(
        F.col("_date").alias("date"),
        F.col("_code").alias("holiday_code"),
        fw.text("name_en").alias("holiday_name_en"),
        fw.text("name_zh").alias("holiday_name_zh"),
        F.col("_day_off"),
    )
    years = holidays.agg(F.min(F.year("date")).alias("_first"), F.max(F.year("date")).alias("_last"))
    spine = years.select(F.explode(F.sequence(F.make_date("_first", F.lit(1), F.lit(1)),
                                              F.make_date("_last", F.lit(12), F.lit(31)))).alias("date"))
    days = spine.join(holidays, on="date", how="left")  # at most one holiday row per date
    weekday = F.weekday("date")
    return days.select(
        F.col("date"),
        F.year("date").alias("year"),
        F.month("date").alias("month"),
        F.dayofmonth("date").alias("day_of_month"),
        (weekday + 1).alias("iso_weekday"),
        (weekday >= SATURDAY).alias("is_weekend"),
        F.col("holiday_code"),
        F.col("holiday_name_en"),
        F.col("holiday_name_zh"),
        F.coalesce(F.col("_day_off"), F.lit(False)).alias("is_day_off"),
        F.coalesce(~F.col("_day_off"), weekday < SATURDAY).alias("is_workday"),
    )



JOB = SilverJob(
    source="holidays",
    target="silver.calendar",
    conform=conform,
    rules=rules,
    output=output,
    version_key=("_date",),
    version_order=lambda: [-F.col("_code_rank")],
)
