"""silver.weather on hand-written feed rows: dates in every layout, one-decimal numbers, a corrected
city-day from a later file replacing the first, one row per rule to quarantine, an exact repeat."""
from datetime import date
from decimal import Decimal

from pyspark.testing import assertDataFrameEqual

from bronze_rows import DAY, FATES_VIEW, QUARANTINE_VIEW, bronze, classify, context, source_file
from jobs.silver import weather

NEXT_DAY = "2025-03-05"
MALFORMED = "malformed CSV line: wrong number of fields or bad quoting"
SCHEMA = ("date date, city string, temp_high_c decimal(5,1), temp_low_c decimal(5,1), "
          "precipitation_mm decimal(5,1), condition string, source_file string")


def feed(day: str, city: str | None, high: str | None, low: str | None, rain: str | None = "0.0",
         condition: str | None = "sunny", **meta) -> dict:
    return {"date": day, "city": city, "temp_high_c": high, "temp_low_c": low, "precipitation_mm": rain,
            "condition": condition, **meta}


ROWS = [
    feed("2025-03-04", "成都", "18.5", "9.0"),                                        # 1 corrected by 12
    feed("2025/03/04", " 绵阳 ", "12.34", "-2", "", " Cloudy "),                       # 2 rounded, no rain figure
    feed("04/03/2025", "德阳", "7.0", "7.0", "25.5", None),                            # 3 high = low
    feed("2025-03-04T00:00:00+08:00", "重庆", "15.0", "10.0", "3.2", "light_rain"),   # 4 midnight local
    feed("2025/03/04", " 绵阳 ", "12.34", "-2", "", " Cloudy "),                       # 5 repeat of 2
    feed("March 4th", "乐山", "15.0", "10.0"),                                        # 6
    feed("2025-03-04", " ", "15.0", "10.0"),                                         # 7
    feed("2025-03-04", "宜宾", "warm", "10.0"),                                       # 8
    feed("2025-03-04", "泸州", "15.0", ""),                                           # 9
    feed("2025-03-04", "南充", "15.0", "10.0", "-1.0"),                               # 10
    feed("2025-03-04", "自贡", "5.0", "8.0"),                                         # 11
    feed("20250304", "成都", "19.0", "9.5", "1.5", "overcast", _dt=NEXT_DAY),         # 12 correction of 1
    {"_error": MALFORMED, "_raw": "2025-03-04,眉山"},                                  # 13
]


def test_weather_silver_quarantine_and_duplicates(spark, settings):
    got = classify(weather.JOB, bronze(spark, "weather", ROWS), context(spark, settings, days=(DAY, NEXT_DAY)))

    today, d = source_file("weather"), date(2025, 3, 4)
    assertDataFrameEqual(got.silver, spark.createDataFrame([
        (d, "绵阳", Decimal("12.3"), Decimal("-2.0"), None, "cloudy", today),
        (d, "德阳", Decimal("7.0"), Decimal("7.0"), Decimal("25.5"), None, today),
        (d, "重庆", Decimal("15.0"), Decimal("10.0"), Decimal("3.2"), "light_rain", today),
        (d, "成都", Decimal("19.0"), Decimal("9.5"), Decimal("1.5"), "overcast", source_file("weather", NEXT_DAY)),
    ], SCHEMA))
    assertDataFrameEqual(got.quarantine, spark.createDataFrame([
        (6, "bad_date", "date", "date is empty or in no known date layout"),
        (7, "missing_city", "city", "city is empty"),
        (8, "bad_number", "temp_high_c", "temp_high_c is empty or not a number"),
        (9, "bad_number", "temp_low_c", "temp_low_c is empty or not a number"),
        (10, "bad_number", "precipitation_mm", "precipitation_mm is not a number or negative"),
        (11, "high_below_low", "temp_high_c", "temp_high_c is below temp_low_c"),
        (13, "malformed_line", "_raw", MALFORMED),
    ], QUARANTINE_VIEW))
    assertDataFrameEqual(got.fates, spark.createDataFrame(
        [(1, "duplicate"), (2, "silver"), (3, "silver"), (4, "silver"), (5, "duplicate")]
        + [(line, "quarantine") for line in range(6, 12)] + [(12, "silver"), (13, "quarantine")], FATES_VIEW))
