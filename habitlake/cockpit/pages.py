"""The cockpit's pages: each a function (reader, filters) -> Dash components, built from gold tables.

A page never fails on a missing table: it shows a "not available yet" panel naming the table and
the command that writes it. Numbers that matter have stable element ids (`kpi-*`, `*-table`) so a
browser test reads them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dash import dcc, html

from habitlake.cockpit import figures, metrics
from habitlake.cockpit.data import GoldReader
from habitlake.cockpit.metrics import Filters

MODEL_TABLES = ("customer_segments", "segment_profiles", "churn_risk", "demand_forecast", "replenishment",
                "recommendations", "basket_rules")
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


# --- formatting -----------------------------------------------------------------------------------

def fmt_int(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{int(round(float(value))):,}"


def fmt_pct(value, digits: int = 1) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):.{digits}%}"


def fmt_num(value, digits: int = 1) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):,.{digits}f}"


def fmt_cell(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt_cell(v)}" for k, v in value.items())
    if hasattr(value, "__len__") and not isinstance(value, (str, bytes)):  # lists, arrays
        return ", ".join(fmt_cell(v) for v in value)
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return str(value)[:10]
    return str(value)


# --- building blocks -----------------------------------------------------------------------------

def kpi(key: str, label: str, value: str, note: str = "") -> html.Div:
    return html.Div(className="kpi", children=[
        html.Div(label, className="kpi-label"),
        html.Div(value, id=f"kpi-{key}", className="kpi-value"),
        html.Div(note, className="kpi-note"),
    ])


def graph(key: str, fig, note: str = "") -> html.Div:
    return html.Div(className="card", children=[
        dcc.Graph(id=f"fig-{key}", figure=fig, config=GRAPH_CONFIG),
        html.Div(note, className="note") if note else None,
    ])


def table(key: str, frame: pd.DataFrame, formats: dict[str, Callable] | None = None, title: str = "") -> html.Div:
    formats = formats or {}
    head = html.Tr([html.Th(c) for c in frame.columns])
    body = [html.Tr([html.Td(formats.get(c, fmt_cell)(row[c])) for c in frame.columns])
            for _, row in frame.iterrows()]
    return html.Div(className="card", children=[
        html.H3(title) if title else None,
        html.Table(id=f"{key}-table", className="data", children=[html.Thead(head), html.Tbody(body)]),
    ])


def missing(table_name: str, as_of: str, why: str = "") -> html.Div:
    """The panel shown instead of a chart whose gold table does not exist yet."""
    if table_name in MODEL_TABLES:
        hint = f"run habitlake train && habitlake score --date {as_of}"
    else:
        hint = f"run habitlake gold --date {as_of}"
    return html.Div(className="card missing", id=f"missing-{table_name}", children=[
        html.Strong(f"gold.{table_name}"), f" not available yet: {hint}",
        html.Div(why, className="note") if why else None,
    ])


def slice_note(table_name: str, shown: str | None, wanted: str) -> str:
    if shown and shown != wanted:
        return f"gold.{table_name} has no slice of {wanted}; showing its latest before it, {shown}."
    return ""


@dataclass
class Context:
    reader: GoldReader
    f: Filters

    def profile(self, columns: list[str]) -> pd.DataFrame | None:
        return self.reader.read("gold.customer_profile", columns, as_of=self.f.as_of)

    def slice(self, name: str, columns: list[str] | None = None) -> tuple[str | None, pd.DataFrame | None]:
        """The slice of a snapshot table of the as-of date, else its latest before it."""
        shown = self.reader.latest_as_of(f"gold.{name}", self.f.as_of)
        if shown is None:
            return None, None
        return shown, self.reader.read(f"gold.{name}", columns, as_of=shown)

    def profile_cube(self) -> pd.DataFrame | None:
        version = self.reader.version("gold.customer_profile")
        if version is None:
            return None
        return self.reader._cached(("cube", version), lambda: metrics.profile_cube(
            self.reader.read("gold.customer_profile", metrics.CUBE_COLUMNS)))


# --- pages ----------------------------------------------------------------------------------------

def overview(ctx: Context) -> list:
    f = ctx.f
    profile = ctx.profile(metrics.KPI_COLUMNS)
    k = metrics.kpis(profile, f)
    series = metrics.active_series(ctx.profile_cube(), f)
    return [
        html.Div(className="kpis", children=[
            kpi("customers", "customers", fmt_int(k["customers"]), "in the CRM on the as-of date"),
            kpi("active-customers", "active customers", fmt_int(k["active_customers"]),
                "a purchase in the last 45 days"),
            kpi("repurchase-rate", "repurchase rate", fmt_pct(k["repurchase_rate"]),
                "90-day buyers buying on 2+ days"),
            kpi("at-risk", "at risk", fmt_int(k["at_risk"]), "no purchase for 45-89 days"),
            kpi("churned", "churned", fmt_int(k["churned"]), "no purchase for 90+ days"),
            kpi("spend-30d", "spend, last 30 days", fmt_num(k["spend_30d"], 0), ctx.reader.settings.currency),
        ]),
        graph("active-over-time", figures.active_over_time(series),
              "One point per gold.customer_profile slice (as-of date) in the chosen window; a daily run adds one."),
        html.Div(className="row", children=[
            graph("tier-distribution", figures.tier_distribution(metrics.tier_distribution(profile, f))),
            graph("lifecycle", figures.lifecycle(metrics.lifecycle_distribution(profile, f))),
        ]),
    ]


def tiers(ctx: Context) -> list:
    f = ctx.f
    profile = ctx.profile(metrics.KPI_COLUMNS)
    dist = metrics.tier_distribution(profile, f)
    out = [
        html.Div(className="row", children=[
            graph("tier-distribution", figures.tier_distribution(dist)),
            table("tiers", dist.assign(share=dist["share"].map(fmt_pct)), title="Tier distribution"),
        ]),
    ]
    migration = ctx.reader.read("gold.tier_migration")
    if migration is None:
        out.append(missing("tier_migration", f.as_of))
    else:
        month, rows = metrics.tier_migration(migration, f)
        note = ("All customers: the migration matrix has no region, tier or channel breakdown."
                if f.active() else "")
        out.append(graph("tier-migration", figures.tier_migration(month, rows), note))
    return out


def segments(ctx: Context) -> list:
    f = ctx.f
    shown, seg = ctx.slice("customer_segments")
    if seg is None:
        out = [missing("customer_segments", f.as_of)]
    else:
        profile = ctx.profile(["customer_id", "region", "tier", "preferred_channel"])
        sizes = metrics.segment_sizes(seg, profile, f)
        out = [graph("segments", figures.segments(sizes), slice_note("customer_segments", shown, f.as_of))]
    shown_p, prof = ctx.slice("segment_profiles")
    if prof is None:
        out.append(missing("segment_profiles", f.as_of))
    else:
        keep = [c for c in prof.columns if c not in ("as_of_date", "centroid", "model_name", "model_version")]
        out.append(table("segment-profiles", prof[keep], title="Segment profiles (all customers)"))
    return out


def churn(ctx: Context) -> list:
    f = ctx.f
    out = []
    shown, risk = ctx.slice("churn_risk", ["customer_id", "churn_score", "risk_band", "main_drivers"])
    if risk is None:
        out.append(missing("churn_risk", f.as_of))
    else:
        profile = ctx.profile(["customer_id", "region", "tier", "preferred_channel"])
        bands = metrics.churn_bands(risk, profile, f)
        out.append(html.Div(className="row", children=[
            graph("churn-bands", figures.churn_bands(bands), slice_note("churn_risk", shown, f.as_of)),
            table("churn-bands", bands.assign(avg_score=bands["avg_score"].map(lambda v: fmt_num(v, 3))),
                  title="Churn-risk bands"),
        ]))
    shown_w, wb = ctx.slice("winback_list")
    if wb is None:
        out.append(missing("winback_list", f.as_of))
    else:
        count, top = metrics.winback(wb, f)
        out.append(html.Div(className="kpis", children=[
            kpi("winback", "lapsed valuable customers", fmt_int(count),
                "at risk or churned, spent at least the win-back minimum"),
        ]))
        out.append(table("winback", top, {"spend_total": lambda v: fmt_num(v, 0)},
                         title="Win-back list (first 20 by total spend)"))
    return out


def habits(ctx: Context) -> list:
    f = ctx.f
    out = []
    shown, ht = ctx.slice("habit_time")
    if ht is None:
        out.append(missing("habit_time", f.as_of))
    else:
        dimension, value = metrics.heatmap_dimension(f)
        grid = metrics.heatmap(ht, f)
        label = "all customers" if dimension == "all" else f"{dimension} = {value}"
        notes = [n for n in (slice_note("habit_time", shown, f.as_of),
                             "The heatmap is by region or by tier, not both: region is shown."
                             if f.region != "all" and f.tier != "all" else "",
                             "Not filtered by channel." if f.channel != "all" else "") if n]
        out.append(html.Div(className="kpis", children=[
            kpi("heatmap-orders", "orders in the heatmap", fmt_int(int(grid.to_numpy().sum())),
                "completed sales of the last 90 days"),
        ]))
        out.append(graph("heatmap", figures.heatmap(grid, label), " ".join(notes)))
    shown_c, cb = ctx.slice("habit_category_brand", ["customer_id", "category_l2", "spend", "top_brand",
                                                      "top_brand_share"])
    if cb is None:
        out.append(missing("habit_category_brand", f.as_of))
    else:
        profile = ctx.profile(["customer_id", "region", "tier", "preferred_channel"])
        prefs = metrics.category_preferences(cb, profile, f)
        out.append(html.Div(className="row", children=[
            graph("categories", figures.categories(prefs), slice_note("habit_category_brand", shown_c, f.as_of)),
            table("categories", prefs, {"spend": lambda v: fmt_num(v, 0), "spend_share": fmt_pct,
                                        "brand_loyalty": fmt_pct},
                  title="Category and brand preferences (last 365 days)"),
        ]))
    return out


def promotions(ctx: Context) -> list:
    f = ctx.f
    out = []
    shown, sens = ctx.slice("habit_price_sensitivity")
    _, uplift = ctx.slice("promotion_uplift")
    if sens is None:
        out.append(missing("habit_price_sensitivity", f.as_of))
    else:
        resp = metrics.promotion_response(sens, f)
        out.append(html.Div(className="row", children=[
            graph("promotion-response", figures.promotion_response(resp, uplift),
                  " ".join(n for n in (metrics.applies(f, ("tier",)), slice_note("habit_price_sensitivity", shown,
                                                                                  f.as_of)) if n)),
            table("promotion-response", resp, {"promotions": fmt_int, "eligible": fmt_int,
                                               "promo_conversion": fmt_pct, "baseline_conversion": fmt_pct,
                                               "lift": fmt_pct}, title="Promotion response by discount depth"),
        ]))
    shown_c, results = ctx.slice("campaign_results")
    if results is None:
        out.append(missing("campaign_results", f.as_of))
    else:
        ab = metrics.campaign_ab(results, f)
        out.append(graph("campaigns", figures.campaigns(ab), metrics.applies(f, ("tier",))))
        out.append(table("campaigns", ab, {"conversion_a": fmt_pct, "conversion_b": fmt_pct, "diff": fmt_pct,
                                           "diff_ci_low": fmt_pct, "diff_ci_high": fmt_pct,
                                           "p_value": lambda v: fmt_num(v, 4)},
                         title="Campaign A/B results (A = coupon, B = control)"))
    return out


def service(ctx: Context) -> list:
    f = ctx.f
    shown, svc = ctx.slice("habit_service")
    if svc is None:
        return [missing("habit_service", f.as_of)]
    by_slot = metrics.delivery_by_slot(svc, f)
    by_region = metrics.delivery_by_region(svc, f)
    daily = metrics.delivery_daily(svc, f)
    note = " ".join(n for n in (metrics.applies(f, ("region",)), slice_note("habit_service", shown, f.as_of)) if n)
    fmt = {"late_share": fmt_pct, "avg_delay_minutes": lambda v: fmt_num(v, 1)}
    return [
        html.Div(className="row", children=[
            graph("delivery-slots", figures.delivery_slots(by_slot), note),
            table("delivery-slots", by_slot, fmt, title="Late deliveries by slot"),
        ]),
        html.Div(className="row", children=[
            graph("delivery-regions", figures.delivery_regions(by_region),
                  "All regions, whatever the region filter (to compare them)."),
            graph("delivery-daily", figures.delivery_daily(daily)),
        ]),
    ]


def supply(ctx: Context) -> list:
    f = ctx.f
    out = []
    daily = ctx.reader.read("gold.supply_daily_demand", ["date", "region", "tier", "quantity", "revenue"],
                            filters=[("date", ">=", dt.date.fromisoformat(f.start))] if f.start else None)
    forecast_rows = None
    fc_dates = [d for d in ctx.reader.as_of_dates("gold.demand_forecast") if d <= f.as_of
                and (f.start is None or d >= f.start)]
    if fc_dates:
        frames = [ctx.reader.read("gold.demand_forecast", ["as_of_date", "forecast_date", "region", "tier",
                                                           "forecast_qty"], as_of=d) for d in fc_dates[-3:]]
        forecast_rows = metrics.demand_forecast(pd.concat(frames, ignore_index=True), f)
    if daily is None:
        out.append(missing("supply_daily_demand", f.as_of))
    else:
        actual = metrics.demand_actual(daily, f)
        out.append(html.Div(className="kpis", children=[
            kpi("units-sold", "units sold in the window", fmt_num(actual["quantity"].sum(), 0),
                f"{f.start or 'start'} .. {f.as_of}"),
        ]))
        out.append(graph("demand", figures.demand(actual, forecast_rows),
                         metrics.applies(f, ("region", "tier"))))
    if forecast_rows is None:
        out.append(missing("demand_forecast", f.as_of))
    shown, rep = ctx.slice("replenishment")
    if rep is None:
        out.append(missing("replenishment", f.as_of))
    else:
        n, units, top = metrics.replenishment(rep)
        out.append(html.Div(className="kpis", children=[
            kpi("reorder-products", "warehouse x products to order", fmt_int(n), f"as of {shown}"),
            kpi("reorder-units", "units suggested", fmt_int(units),
                "all warehouses: not filtered by customer" if f.active() else ""),
        ]))
        out.append(table("replenishment", top, title="Replenishment suggestions (largest first)"))
    return out


PAGES: dict[str, tuple[str, Callable[[Context], list]]] = {
    "/": ("Overview", overview),
    "/tiers": ("Tiers", tiers),
    "/segments": ("Segments", segments),
    "/churn": ("Churn & win-back", churn),
    "/habits": ("Habits", habits),
    "/promotions": ("Promotions & campaigns", promotions),
    "/service": ("Delivery", service),
    "/supply": ("Demand & stock", supply),
}
