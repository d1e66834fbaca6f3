"""`habitlake report --date D`: the static daily report of the `world` fixture, as one HTML file."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from habitlake import catalog

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FIGURES = ("active-over-time", "tier-distribution", "tier-migration", "heatmap", "categories",
           "promotion-response", "delivery-slots", "delivery-regions", "demand")

pytestmark = pytest.mark.spark


def _habitlake(world, *args):
    env = {**os.environ, "HABITLAKE_HOME": world.settings.root,
           "HABITLAKE_METASTORE_PORT": str(world.settings.metastore_port)}
    return subprocess.run([sys.executable, "-m", "habitlake.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def report(world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "daily.html"
    done = _habitlake(world, "report", "--date", world.last, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"report of {world.last} -> {out}" in done.stdout
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, ARTIFACTS / f"daily_report_{world.last}.html")
    return out


def test_report_holds_the_main_charts_and_gold_numbers(report, spark, world):
    text = report.read_text(encoding="utf-8")
    for key in FIGURES:
        assert f'id="fig-{key}"' in text, key
    assert re.search(r"<script[^>]+src=", text) is None  # plotly.js inline: nothing to fetch

    profile = (catalog.read(spark, world.settings, "gold.customer_profile")
               .filter(F.col("as_of_date") == F.lit(world.last).cast("date")))
    customers = profile.count()
    active = profile.filter(F.col("lifecycle_stage").isin("new", "active")).count()
    assert f"<tr><td>customers</td><td>{customers:,}</td></tr>" in text
    assert f"<tr><td>active customers</td><td>{active:,}</td></tr>" in text
    for row in profile.groupBy("tier").count().collect():
        assert re.search(rf"<tr><td>{row['tier']}</td><td>{row['count']}</td>", text), row["tier"]
    lapsed = (catalog.read(spark, world.settings, "gold.winback_list")
              .filter(F.col("as_of_date") == F.lit(world.last).cast("date")).count())
    assert f"<b id='winback-count'>{lapsed:,}</b>" in text
    for table in ("churn_risk", "demand_forecast", "replenishment"):
        if not (Path(world.settings.table_path("gold", table)) / "_delta_log").exists():
            assert (f"gold.{table} not available yet: run habitlake train &amp;&amp; habitlake score "
                    f"--date {world.last}") in text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_report_draws_offline_in_a_browser(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors, requests = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(report.as_uri())
        page.wait_for_function(
            "n => { const plots = [...document.querySelectorAll('.js-plotly-plot')];"
            "       return plots.length === n && plots.every(p => p.querySelector('.main-svg')); }",
            arg=len(FIGURES), timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "daily_report.png"), full_page=False)
        browser.close()
    assert errors == [] and requests == []


def test_report_of_a_date_without_gold_says_so(world):
    done = _habitlake(world, "report", "--date", "2024-01-01")
    assert done.returncode == 1
    assert f"gold.customer_profile has no slice of 2024-01-01 under {world.settings.root}" in done.stderr
