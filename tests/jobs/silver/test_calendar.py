"""silver.calendar on hand-written holiday rows: a day for every date of the holiday rows' years,
holidays and adjusted working days on their dates, weekends and workdays, one row per rule to
quarantine, an exact repeat and a second holiday on one date counted as duplicates."""
from datetime import date

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from bronze_rows import FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context
from jobs.silver import calendar

DAY = "2025-01-25"
MALFORMED = "malformed CSV line: wrong number of fields or bad quoting"
SCHEMA = ("date date, year int, month int, day_of_month int, iso_weekday int, is_weekend boolean, "
          "holiday_code string, holiday_name_en string, holiday_name_zh string, is_day_off boolean, "
          "is_workday boolean")


def holiday(day: str, code: str | None, name_en: str, name_zh: str, day_off: str | None) -> dict:
    return {"date": day, "holiday_code": code, "name_en": name_en, "name_zh": name_zh, "is_day_off": day_off}


ROWS = [
    holiday("2025-01-01", "new_year", "New Year's Day", "元旦", "1"),                                  # 1
    holiday("2025/01/28", "spring_festival", " Spring Festival ", "春节", "true"),                     # 2
    holiday("20250126", "spring_festival", "Spring Festival (adjusted working day)", "春节调休上班", "0"),  # 3 Sunday
    holiday("2025-10-06", "national_day", "National Day", "国庆节", "1"),                              # 4
    holiday("06/10/2025", "mid_autumn", "Mid-Autumn Festival", "中秋节", "1"),                          # 5 same date
    holiday("2025-01-01", "new_year", "New Year's Day", "元旦", "1"),                                  # 6 repeat of 1
    holiday("2025-02-08T00:00:00+08:00", "spring_festival", "Spring Festival (adjusted working day)",  # 7 Saturday
            "春节调休上班", "FALSE"),
    holiday("2025-13-01", "qingming", "Qingming Festival", "清明节", "1"),                              # 8
    holiday("2025-04-04", " ", "Qingming Festival", "清明节", "1"),                                    # 9
    holiday("2025-04-05", "qingming", "Qingming Festival", "清明节", "maybe"),                         # 10
    {"_error": MALFORMED, "_raw": "2025-04-06,qingming"},                                            # 11
]


def day(iso: str, weekday: int, code=None, name_en=None, name_zh=None, day_off=False, workday=None):
    d = date.fromisoformat(iso)
    weekend = weekday >= 6
    return (d, d.year, d.month, d.day, weekday, weekend, code, name_en, name_zh, day_off,
            (not weekend) if workday is None else workday)


def test_calendar_days_holidays_and_quarantine(spark, settings):
    got = classify(calendar.JOB, bronze(spark, "holidays", ROWS, day=DAY), context(spark, settings, days=(DAY,)))

    picked = ["2025-01-01", "2025-01-26", "2025-01-28", "2025-02-08", "2025-03-04", "2025-03-08", "2025-10-06"]
    assertDataFrameEqual(got.silver.filter(F.col("date").isin(*[date.fromisoformat(d) for d in picked])),
                         spark.createDataFrame([
        day("2025-01-01", 3, "new_year", "New Year's Day", "元旦", day_off=True, workday=False),
        day("2025-01-26", 7, "spring_festival", "Spring Festival (adjusted working day)", "春节调休上班",
            workday=True),
        day("2025-01-28", 2, "spring_festival", "Spring Festival", "春节", day_off=True, workday=False),
        day("2025-02-08", 6, "spring_festival", "Spring Festival (adjusted working day)", "春节调休上班",
            workday=True),
        day("2025-03-04", 2),
        day("2025-03-08", 6),
        day("2025-10-06", 1, "mid_autumn", "Mid-Autumn Festival", "中秋节", day_off=True, workday=False),
    ], SCHEMA))
    assertDataFrameEqual(
        got.silver.agg(F.count("*").alias("days"), F.min("date").alias("first"), F.max("date").alias("last"),
                       F.count("holiday_code").alias("holidays")),
        spark.createDataFrame([(365, date(2025, 1, 1), date(2025, 12, 31), 5)],
                              "days long, first date, last date, holidays long"))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (8, "bad_date", "date", "date is empty or in no known date layout"),
        (9, "missing_holiday_code", "holiday_code", "holiday_code is empty"),
        (10, "bad_day_off", "is_day_off", "is_day_off is empty or not 1 / 0 / true / false"),
        (11, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "silver"), (2, "silver"), (3, "silver"), (4, "duplicate"), (5, "silver"), (6, "duplicate"),
         (7, "silver")] + [(line, "quarantine") for line in range(8, 12)], FATES_VIEW))
