"""The static daily report: the cockpit's main charts as ONE self-contained HTML file.

`habitlake report --date D [--out FILE]` writes it (default `<root>/reports/habitlake_report_<D>.html`,
or under the state folder when the root is object storage). Plotly's JavaScript is embedded inline
once, so the file opens from an email attachment or a file share with no network; the headline
numbers and key lists are plain HTML tables too, so a mail client that runs no JavaScript still
shows them. Figures are the cockpit's own (`habitlake.cockpit.figures`) on all customers.
"""
from __future__ import annotations

import datetime as dt
import html as html_lib
from pathlib import Path

import pandas as pd

from habitlake.cockpit import figures, metrics
from habitlake.cockpit.data import GoldReader
from habitlake.cockpit.pages import MODEL_TABLES, fmt_cell, fmt_int, fmt_num, fmt_pct
from habitlake.settings import Settings, is_local, local_path

STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", Arial, sans-serif; max-width: 1100px; margin: 20px auto; color: #222; }
h1 { color: #1f3a5f; } h2 { color: #1f3a5f; border-bottom: 1px solid #dde; padding-bottom: 4px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #dde; padding: 4px 8px; text-align: left; } th { background: #f3f6f9; }
.missing { color: #8a4b08; background: #fff4e5; padding: 8px 12px; border-left: 4px solid #e67e22; }
.note { color: #777; font-size: 12px; }
"""


def default_path(settings: Settings, date: str) -> Path:
    base = local_path(settings.root) if is_local(settings.root) else settings.state_dir
    return Path(base) / "reports" / f"habitlake_report_{date}.html"


def _table(frame: pd.DataFrame, formats: dict | None = None, table_id: str = "") -> str:
    formats = formats or {}
    head = "".join(f"<th>{html_lib.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html_lib.escape(formats.get(c, fmt_cell)(r[c]))}</td>"
                                    for c in frame.columns) + "</tr>" for _, r in frame.iterrows())
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _missing(name: str, date: str) -> str:
    hint = (f"habitlake train && habitlake score --date {date}" if name in MODEL_TABLES
            else f"habitlake gold --date {date}")
    return f'<p class="missing">gold.{name} not available yet: run {html_lib.escape(hint)}</p>'


class _Doc:
    def __init__(self):
        self.parts: list[str] = []

    def h2(self, text: str) -> None:
        self.parts.append(f"<h2>{html_lib.escape(text)}</h2>")

    def fig(self, key: str, fig) -> None:
        self.parts.append(figures.to_html(fig, f"fig-{key}"))

    def add(self, raw: str) -> None:
        self.parts.append(raw)


def build(settings: Settings, date: str, reader: GoldReader | None = None) -> str:
    """The report of gold as of `date` as one HTML document (a string)."""
    import plotly.offline

    reader = reader or GoldReader(settings)
    if date not in reader.as_of_dates("gold.customer_profile"):
        raise LookupError(f"gold.customer_profile has no slice of {date} under {settings.root}: "
                          f"run habitlake gold --date {date} first")
    f = metrics.Filters(as_of=date, window_days=None)
    doc = _Doc()
    profile = reader.read("gold.customer_profile", metrics.KPI_COLUMNS, as_of=date)
    k = metrics.kpis(profile, f)
    doc.h2("Headline numbers")
    headline = pd.DataFrame([
        ("customers", fmt_int(k["customers"])), ("active customers", fmt_int(k["active_customers"])),
        ("repurchase rate", fmt_pct(k["repurchase_rate"])), ("at risk", fmt_int(k["at_risk"])),
        ("churned", fmt_int(k["churned"])), (f"spend, last 30 days ({settings.currency})", fmt_num(k["spend_30d"], 0)),
    ], columns=["measure", "value"])
    doc.add(_table(headline, {"value": str}, "kpi-table"))
    doc.add('<p class="note">Active: a purchase in the last 45 days. Repurchase rate: of the customers '
            "who bought in the last 90 days, the share who bought on two or more days.</p>")
    cube = metrics.profile_cube(reader.read("gold.customer_profile", metrics.CUBE_COLUMNS))
    doc.fig("active-over-time", figures.active_over_time(metrics.active_series(cube, f)))

    doc.h2("Tiers")
    dist = metrics.tier_distribution(profile, f)
    doc.add(_table(dist, {"share": fmt_pct}, "tier-table"))
    doc.fig("tier-distribution", figures.tier_distribution(dist))
    migration = reader.read("gold.tier_migration")
    if migration is None:
        doc.add(_missing("tier_migration", date))
    else:
        month, rows = metrics.tier_migration(migration, f)
        doc.fig("tier-migration", figures.tier_migration(month, rows))

    doc.h2("Churn risk and win-back")
    risk_date = reader.latest_as_of("gold.churn_risk", date)
    if risk_date is None:
        doc.add(_missing("churn_risk", date))
    else:
        bands = metrics.churn_bands(reader.read("gold.churn_risk", as_of=risk_date), profile, f)
        doc.add(_table(bands, {"avg_score": lambda v: fmt_num(v, 3)}, "churn-table"))
        doc.fig("churn-bands", figures.churn_bands(bands))
    wb_date = reader.latest_as_of("gold.winback_list", date)
    if wb_date is None:
        doc.add(_missing("winback_list", date))
    else:
        count, top = metrics.winback(reader.read("gold.winback_list", as_of=wb_date), f, top=10)
        doc.add(f"<p><b id='winback-count'>{count:,}</b> lapsed valuable customers; the first 10:</p>")
        doc.add(_table(top, {"spend_total": lambda v: fmt_num(v, 0)}, "winback-table"))

    doc.h2("When and what customers buy")
    ht_date = reader.latest_as_of("gold.habit_time", date)
    if ht_date is None:
        doc.add(_missing("habit_time", date))
    else:
        doc.fig("heatmap", figures.heatmap(metrics.heatmap(reader.read("gold.habit_time", as_of=ht_date), f),
                                           "all customers, last 90 days"))
    cb_date = reader.latest_as_of("gold.habit_category_brand", date)
    if cb_date is None:
        doc.add(_missing("habit_category_brand", date))
    else:
        cb = reader.read("gold.habit_category_brand", ["customer_id", "category_l2", "spend", "top_brand",
                                                       "top_brand_share"], as_of=cb_date)
        doc.fig("categories", figures.categories(metrics.category_preferences(cb, profile, f)))

    doc.h2("Promotions and campaigns")
    sens_date = reader.latest_as_of("gold.habit_price_sensitivity", date)
    up_date = reader.latest_as_of("gold.promotion_uplift", date)
    if sens_date is None:
        doc.add(_missing("habit_price_sensitivity", date))
    else:
        resp = metrics.promotion_response(reader.read("gold.habit_price_sensitivity", as_of=sens_date), f)
        uplift = reader.read("gold.promotion_uplift", as_of=up_date) if up_date else None
        doc.fig("promotion-response", figures.promotion_response(resp, uplift))
    cr_date = reader.latest_as_of("gold.campaign_results", date)
    if cr_date is None:
        doc.add(_missing("campaign_results", date))
    else:
        ab = metrics.campaign_ab(reader.read("gold.campaign_results", as_of=cr_date), f)
        doc.add(_table(ab, {"conversion_a": fmt_pct, "conversion_b": fmt_pct, "diff": fmt_pct,
                            "diff_ci_low": fmt_pct, "diff_ci_high": fmt_pct, "p_value": lambda v: fmt_num(v, 4)},
                       "campaign-table"))

    doc.h2("Delivery")
    svc_date = reader.latest_as_of("gold.habit_service", date)
    if svc_date is None:
        doc.add(_missing("habit_service", date))
    else:
        svc = reader.read("gold.habit_service", as_of=svc_date)
        by_slot = metrics.delivery_by_slot(svc, f)
        doc.add(_table(by_slot, {"late_share": fmt_pct, "avg_delay_minutes": lambda v: fmt_num(v, 1)},
                       "delivery-table"))
        doc.fig("delivery-slots", figures.delivery_slots(by_slot))
        doc.fig("delivery-regions", figures.delivery_regions(metrics.delivery_by_region(svc, f)))

    doc.h2("Demand and stock")
    window = metrics.Filters(as_of=date, window_days=90)
    daily = reader.read("gold.supply_daily_demand", ["date", "region", "tier", "quantity", "revenue"])
    fc_date = reader.latest_as_of("gold.demand_forecast", date)
    forecast = (metrics.demand_forecast(reader.read("gold.demand_forecast", as_of=fc_date), window)
                if fc_date else None)
    if daily is None:
        doc.add(_missing("supply_daily_demand", date))
    else:
        doc.fig("demand", figures.demand(metrics.demand_actual(daily, window), forecast))
    if forecast is None:
        doc.add(_missing("demand_forecast", date))
    rep_date = reader.latest_as_of("gold.replenishment", date)
    if rep_date is None:
        doc.add(_missing("replenishment", date))
    else:
        n, units, top = metrics.replenishment(reader.read("gold.replenishment", as_of=rep_date), top=10)
        doc.add(f"<p>{n:,} warehouse x products to order, {units:,} units in all; the largest:</p>")
        doc.add(_table(top, table_id="replenishment-table"))

    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>habitlake daily report {date}</title><style>{STYLE}</style>"
            f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script></head><body>"
            f"<h1>habitlake daily report, as of {date}</h1>"
            f"<p class='note'>Gold tables of {html_lib.escape(settings.root)}; written {made}. "
            "Interactive charts need JavaScript (open the attachment in a browser); the tables need nothing.</p>"
            + "\n".join(doc.parts) + "</body></html>")


def write(settings: Settings, date: str, out: str | Path | None = None) -> Path:
    """Write the report of `date` to `out` (default `default_path`); returns the path."""
    path = Path(out) if out else default_path(settings, date)
    text = build(settings, date)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
