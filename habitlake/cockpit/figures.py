"""Plotly figures of the cockpit's metrics: the same figures in the web pages and the daily report.

Figures are plain Plotly JSON (dicts of `data` and `layout`), not `plotly.graph_objects`: building
graph objects validates every property (hundreds of milliseconds per figure, seconds on a busy
machine), which would eat the page budget; the JSON is what the browser gets either way.
"""
from __future__ import annotations

import pandas as pd

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TIER_COLOURS = {"Platinum": "#5b4b8a", "Gold": "#d4a017", "Silver": "#8a9ba8", "Potential": "#3a9d5d",
                "Churned": "#c0392b"}
BAND_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#27ae60"}
GREY = "#7f8c8d"
AXIS = {"gridcolor": "#e8ecf0", "zerolinecolor": "#d0d6dc", "automargin": True}


def _list(values) -> list:
    """JSON-ready values: NaN / NA as None, numpy scalars as Python numbers."""
    out = []
    for v in pd.Series(values, dtype=object).tolist():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(None)
        elif hasattr(v, "item"):
            out.append(v.item())
        else:
            out.append(v)
    return out


def figure(title: str, traces: list[dict], height: int = 340, **layout) -> dict:
    base = {
        "title": {"text": title, "font": {"size": 15}},
        "height": height, "margin": {"l": 60, "r": 30, "t": 50, "b": 45},
        "paper_bgcolor": "white", "plot_bgcolor": "white",
        "font": {"family": "Noto Sans CJK SC, Microsoft YaHei, Arial, sans-serif", "size": 12},
        "xaxis": dict(AXIS), "yaxis": dict(AXIS), "legend": {"orientation": "h", "y": -0.2},
    }
    for key, value in layout.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return {"data": traces, "layout": base}


def _secondary(title: str, tickformat: str | None = None) -> dict:
    axis = {"title": {"text": title}, "overlaying": "y", "side": "right", "showgrid": False,
            "rangemode": "tozero"}
    if tickformat:
        axis["tickformat"] = tickformat
    return axis


def _date_axis(dates) -> dict:
    """A date x axis in whole days (one point alone would get a sub-second axis)."""
    axis = {"type": "date", "tickformat": "%Y-%m-%d"}
    days = sorted(set(_list(dates)))
    if len(days) == 1:
        day = pd.Timestamp(days[0])
        axis["range"] = [str((day - pd.Timedelta(days=7)).date()), str((day + pd.Timedelta(days=7)).date())]
    return axis


def active_over_time(series: pd.DataFrame) -> dict:
    return figure("Active customers and repurchase rate by as-of date", [
        {"type": "scatter", "mode": "lines+markers", "name": "active customers",
         "x": _list(series["as_of_date"]), "y": _list(series["active"])},
        {"type": "scatter", "mode": "lines+markers", "name": "repurchase rate", "yaxis": "y2",
         "line": {"dash": "dot"}, "x": _list(series["as_of_date"]), "y": _list(series["repurchase_rate"])},
    ], yaxis={"title": {"text": "active customers"}, "rangemode": "tozero"},
        yaxis2=_secondary("repurchase rate", ".0%"), xaxis=_date_axis(series["as_of_date"]))


def tier_distribution(dist: pd.DataFrame) -> dict:
    return figure("Customers by tier", [
        {"type": "bar", "name": "customers", "x": _list(dist["tier"]), "y": _list(dist["customers"]),
         "text": _list(dist["customers"]), "textposition": "auto",
         "marker": {"color": [TIER_COLOURS.get(t, GREY) for t in dist["tier"]]}},
    ])


def lifecycle(dist: pd.DataFrame) -> dict:
    return figure("Customers by lifecycle stage", [
        {"type": "bar", "name": "customers", "x": _list(dist["stage"]), "y": _list(dist["customers"]),
         "text": _list(dist["customers"]), "textposition": "auto", "marker": {"color": "#4a78a8"}},
    ])


def tier_migration(month: str | None, rows: pd.DataFrame) -> dict:
    froms = sorted(rows["from_tier"].unique())
    tos = sorted(rows["to_tier"].unique())
    grid = (rows.pivot_table(index="from_tier", columns="to_tier", values="customers", aggfunc="sum")
            .reindex(index=froms, columns=tos).fillna(0).astype(int))
    z = grid.to_numpy().tolist()
    return figure(f"Tier migration in {month or '-'} (rows: tier at the start of the month, columns: at its end)", [
        {"type": "heatmap", "z": z, "x": tos, "y": froms, "colorscale": "Blues", "text": z,
         "texttemplate": "%{text}", "hovertemplate": "%{y} -> %{x}: %{z}<extra></extra>"},
    ], height=380, yaxis={"autorange": "reversed"})


def segments(sizes: pd.DataFrame) -> dict:
    return figure("Customers by segment (model)", [
        {"type": "bar", "orientation": "h", "name": "customers", "x": _list(sizes["customers"]),
         "y": _list(sizes["segment"]), "text": _list(sizes["customers"]), "textposition": "auto"},
    ], yaxis={"autorange": "reversed"})


def churn_bands(bands: pd.DataFrame) -> dict:
    return figure("Scored customers by churn-risk band", [
        {"type": "bar", "name": "customers", "x": _list(bands["band"]), "y": _list(bands["customers"]),
         "text": _list(bands["customers"]), "textposition": "auto",
         "marker": {"color": [BAND_COLOURS.get(b, GREY) for b in bands["band"]]}},
    ])


def heatmap(grid: pd.DataFrame, label: str) -> dict:
    return figure(f"Orders by local hour and weekday ({label})", [
        {"type": "heatmap", "z": grid.to_numpy().tolist(), "x": [f"{h:02d}" for h in grid.columns],
         "y": [WEEKDAYS[d - 1] for d in grid.index], "colorscale": "YlOrRd", "reversescale": True,
         "hovertemplate": "%{y} %{x}:00 - %{z} orders<extra></extra>"},
    ], height=360, yaxis={"autorange": "reversed"}, xaxis={"title": {"text": "local hour"}, "type": "category"})


def categories(prefs: pd.DataFrame) -> dict:
    labels = [f"{c} ({b})" if isinstance(b, str) else str(c) for c, b in zip(prefs["category_l2"], prefs["top_brand"])]
    return figure("Spend by category, with the brand most customers prefer", [
        {"type": "bar", "orientation": "h", "name": "spend", "x": _list(prefs["spend"]), "y": labels,
         "customdata": _list(prefs["brand_loyalty"]),
         "hovertemplate": "%{y}: %{x:,.0f}, brand loyalty %{customdata:.0%}<extra></extra>"},
    ], height=440, yaxis={"autorange": "reversed"})


def promotion_response(resp: pd.DataFrame, uplift: pd.DataFrame | None) -> dict:
    traces = [
        {"type": "bar", "name": "conversion during promotion", "x": _list(resp["bucket"]),
         "y": _list(resp["promo_conversion"])},
        {"type": "bar", "name": "conversion before (baseline)", "x": _list(resp["bucket"]),
         "y": _list(resp["baseline_conversion"])},
    ]
    layout = {"barmode": "group", "yaxis": {"title": {"text": "conversion"}, "tickformat": ".0%"}}
    if uplift is not None and len(uplift):
        traces.append({"type": "scatter", "mode": "lines+markers", "name": "sales uplift ratio", "yaxis": "y2",
                       "x": _list(uplift["depth_bucket"]), "y": _list(uplift["uplift_ratio"])})
        layout["yaxis2"] = _secondary("sales uplift (x baseline)")
    return figure("Promotion response by discount depth", traces, **layout)


def campaigns(ab: pd.DataFrame) -> dict:
    diff = pd.to_numeric(ab["diff"])
    significant = ab["is_significant"] if "is_significant" in ab else pd.Series(False, index=ab.index)
    return figure("Campaign A/B: conversion of coupon (A) minus control (B), with its confidence interval", [
        {"type": "bar", "name": "difference", "x": _list(ab["campaign_id"]), "y": _list(diff),
         "marker": {"color": ["#27ae60" if s else GREY for s in significant.fillna(False)]},
         "error_y": {"type": "data", "symmetric": False,
                     "array": _list(pd.to_numeric(ab["diff_ci_high"]) - diff),
                     "arrayminus": _list(diff - pd.to_numeric(ab["diff_ci_low"]))}},
    ], yaxis={"tickformat": ".0%"}, xaxis={"type": "category"})


def delivery_slots(by_slot: pd.DataFrame) -> dict:
    return figure("Late deliveries by delivery slot", [
        {"type": "bar", "name": "late share", "x": _list(by_slot["slot"]), "y": _list(by_slot["late_share"])},
        {"type": "scatter", "mode": "lines+markers", "name": "avg delay (min)", "yaxis": "y2",
         "x": _list(by_slot["slot"]), "y": _list(by_slot["avg_delay_minutes"])},
    ], yaxis={"title": {"text": "late share"}, "tickformat": ".0%"}, yaxis2=_secondary("minutes"),
        xaxis={"type": "category"})


def delivery_regions(by_region: pd.DataFrame) -> dict:
    return figure("Late deliveries by region", [
        {"type": "bar", "name": "late share", "x": _list(by_region["region"]), "y": _list(by_region["late_share"]),
         "text": [f"{v:.1%}" if pd.notna(v) else "" for v in by_region["late_share"]], "textposition": "auto"},
    ], yaxis={"tickformat": ".0%"})


def delivery_daily(daily: pd.DataFrame) -> dict:
    return figure("Late share by delivery day", [
        {"type": "scatter", "mode": "lines+markers", "name": "late share", "x": _list(daily["period_start"]),
         "y": _list(daily["late_share"])},
    ], yaxis={"tickformat": ".0%", "rangemode": "tozero"}, xaxis=_date_axis(daily["period_start"]))


def demand(actual: pd.DataFrame, forecast: pd.DataFrame | None) -> dict:
    traces = [{"type": "scatter", "mode": "lines", "name": "actual units", "x": _list(actual["date"]),
               "y": _list(actual["quantity"])}]
    if forecast is not None:
        for as_of, part in forecast.groupby("as_of_date"):
            traces.append({"type": "scatter", "mode": "lines", "line": {"dash": "dash"},
                           "name": f"forecast made {as_of}", "x": _list(part["forecast_date"]),
                           "y": _list(part["forecast_qty"])})
    return figure("Units sold per day and the demand forecast", traces, height=380,
                  xaxis=_date_axis(actual["date"]))


def to_html(fig: dict, div_id: str) -> str:
    """A figure as an HTML fragment for the static report (plotly.js must be on the page)."""
    import plotly.io as pio

    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, validate=False,
                       config={"displaylogo": False})
