"""The management cockpit: a Dash app over the gold tables (`habitlake cockpit [--port P]`).

Dash rather than Streamlit: a Dash app is a plain Flask (WSGI) app whose filters call stateless
callbacks (one small HTTP request recomputes only the page shown), its figures are Plotly figures
that the static daily report reuses as they are, and its DOM has stable element ids a browser test
can read. Streamlit reruns the whole script over a websocket on every interaction and owns its
server process, which is harder to test and to embed.

Layout: a header, links to the pages (`habitlake.cockpit.pages.PAGES`), one filter bar (as-of date,
time window, region, tier, ordering channel) shared by every page, and the page. Filters can also be
given in the URL (`/habits?region=west_sichuan&tier=Gold&asof=2025-05-30&window=90`) to share a view.
"""
from __future__ import annotations

import time
import urllib.parse

from habitlake.cockpit import metrics
from habitlake.cockpit.data import GoldReader
from habitlake.settings import Settings

WINDOWS = {"30": "last 30 days", "90": "last 90 days", "180": "last 180 days", "365": "last 365 days",
           "0": "everything"}
DEFAULT_WINDOW = "90"
FILTER_KEYS = ("asof", "window", "region", "tier", "channel")

CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", Arial, sans-serif; margin: 0; background: #f4f6f8; color: #222; }
header { background: #1f3a5f; color: white; padding: 10px 20px; display: flex; align-items: baseline; gap: 20px; }
header h1 { font-size: 20px; margin: 0; } header .root { font-size: 12px; opacity: .75; }
nav { background: #fff; padding: 6px 20px; border-bottom: 1px solid #dde; display: flex; gap: 16px; flex-wrap: wrap; }
nav a { color: #1f3a5f; text-decoration: none; font-weight: 600; } nav a.current { text-decoration: underline; }
.filters { display: flex; gap: 12px; padding: 8px 20px; background: #eef2f6; flex-wrap: wrap; align-items: end; }
.filters .filter { width: 190px; } .filters label { font-size: 12px; color: #555; display: block; }
main { padding: 12px 20px; }
.kpis { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 12px; }
.kpi { background: white; border-radius: 6px; padding: 10px 14px; min-width: 150px; box-shadow: 0 1px 2px #0002; }
.kpi-label { font-size: 12px; color: #666; } .kpi-value { font-size: 26px; font-weight: 700; color: #1f3a5f; }
.kpi-note { font-size: 11px; color: #888; }
.card { background: white; border-radius: 6px; padding: 8px; margin-bottom: 12px; box-shadow: 0 1px 2px #0002; flex: 1; min-width: 420px; overflow-x: auto; }
.card h3 { font-size: 14px; margin: 4px 6px 8px; }
.row { display: flex; gap: 12px; flex-wrap: wrap; }
.note { font-size: 12px; color: #777; padding: 2px 8px; }
.missing { border-left: 4px solid #e67e22; padding: 12px 16px; color: #8a4b08; }
table.data { border-collapse: collapse; font-size: 12px; width: 100%; }
table.data th, table.data td { border-bottom: 1px solid #eee; padding: 3px 6px; text-align: left; white-space: nowrap; }
table.data th { background: #f7f9fb; }
.footer { font-size: 11px; color: #999; padding: 4px 20px 16px; }
"""


def _options(values) -> list[dict]:
    return [{"label": "all", "value": metrics.ALL}] + [{"label": str(v), "value": str(v)} for v in values]


def filter_values(reader: GoldReader) -> dict[str, list]:
    """Choices of the filter bar from the latest profile slice (as-of dates: every profile slice)."""
    dates = reader.as_of_dates("gold.customer_profile")
    if not dates:
        return {"asof": [], "region": [], "tier": [], "channel": []}
    profile = reader.read("gold.customer_profile", ["region", "tier", "preferred_channel"], as_of=dates[-1])
    tiers = metrics._ordered(profile["tier"].dropna().astype(str).unique(), metrics.TIER_ORDER)
    return {"asof": dates[::-1], "region": sorted(profile["region"].dropna().astype(str).unique()),
            "tier": tiers, "channel": sorted(profile["preferred_channel"].dropna().astype(str).unique())}


def parse_query(search: str | None) -> dict[str, str]:
    query = urllib.parse.parse_qs((search or "").lstrip("?"))
    return {k: v[0] for k, v in query.items() if k in FILTER_KEYS and v}


def create_app(settings: Settings, reader: GoldReader | None = None):
    """The Dash app for the habitlake root of `settings` (Flask server: `app.server`)."""
    import dash
    from dash import Input, Output, dcc, html

    from habitlake.cockpit import pages

    reader = reader or GoldReader(settings)
    app = dash.Dash(__name__, title="habitlake cockpit", suppress_callback_exceptions=True,
                    update_title=None, serve_locally=True)
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + CSS + "</style>")

    def dropdown(key: str, label: str, options: list[dict], value) -> html.Div:
        return html.Div(className="filter", children=[
            html.Label(label, htmlFor=f"f-{key}"),
            dcc.Dropdown(id=f"f-{key}", options=options, value=value, clearable=False, searchable=False),
        ])

    def layout():
        choices = filter_values(reader)
        asof = choices["asof"][0] if choices["asof"] else None
        return html.Div([
            dcc.Location(id="url"),
            html.Header([html.H1("habitlake cockpit"), html.Span(f"gold tables of {settings.root}", className="root")]),
            html.Nav(id="nav", children=[dcc.Link(title, href=path, id=f"nav-{path.strip('/') or 'overview'}")
                                         for path, (title, _) in pages.PAGES.items()]),
            html.Div(className="filters", children=[
                dropdown("asof", "as of", [{"label": d, "value": d} for d in choices["asof"]], asof),
                dropdown("window", "time window", [{"label": v, "value": k} for k, v in WINDOWS.items()],
                         DEFAULT_WINDOW),
                dropdown("region", "region", _options(choices["region"]), metrics.ALL),
                dropdown("tier", "tier", _options(choices["tier"]), metrics.ALL),
                dropdown("channel", "ordering channel", _options(choices["channel"]), metrics.ALL),
            ]),
            html.Main(id="page"),
            html.Div(id="footer", className="footer"),
        ])

    app.layout = layout

    @app.callback(*[Output(f"f-{k}", "value") for k in FILTER_KEYS], Input("url", "search"))
    def from_query(search):
        query = parse_query(search)
        return tuple(query.get(k, dash.no_update) for k in FILTER_KEYS)

    @app.callback(Output("page", "children"), Output("footer", "children"),
                  Input("url", "pathname"), *[Input(f"f-{k}", "value") for k in FILTER_KEYS])
    def render(pathname, asof, window, region, tier, channel):
        t0 = time.perf_counter()
        title, build = pages.PAGES.get(pathname or "/", pages.PAGES["/"])
        if not asof:
            content = [html.Div(id="no-gold", className="card missing", children=[
                html.Strong("No gold tables yet"), f" under {settings.root}: run habitlake demo, or "
                "habitlake gold --date D after silver."])]
        else:
            f = metrics.Filters(as_of=asof, window_days=int(window or 0) or None, region=region or metrics.ALL,
                                tier=tier or metrics.ALL, channel=channel or metrics.ALL)
            try:
                content = build(pages.Context(reader, f))
            except Exception as bad:  # a broken table must not take the cockpit down
                content = [html.Div(className="card missing", id="page-error", children=[
                    html.Strong(f"{title}: could not be drawn"), f" ({type(bad).__name__}: {bad})"])]
            content = [html.H2(f"{title} - {f.label()}, as of {asof}", id="page-title")] + content
        ms = (time.perf_counter() - t0) * 1000
        state = "|".join(str(v) for v in (pathname or "/", asof, window, region, tier, channel))
        footer = [html.Span(f"page computed in {ms:.0f} ms from the gold Delta tables (read with delta-rs)"),
                  html.Span(state, id="render-state", style={"display": "none"})]
        return content, footer

    return app


def warm(reader: GoldReader) -> None:
    """Read what the first pages need, so the first visitor does not wait for cold reads."""
    from habitlake.cockpit import pages

    choices = filter_values(reader)
    if not choices["asof"]:
        return
    f = metrics.Filters(as_of=choices["asof"][0])
    for _, (_, build) in pages.PAGES.items():
        try:
            build(pages.Context(reader, f))
        except Exception:  # noqa: BLE001 - warming is best effort; the page shows the error itself
            pass


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Run the cockpit until interrupted (threaded WSGI server of Werkzeug)."""
    import logging

    from werkzeug.serving import run_simple

    reader = GoldReader(settings)
    t0 = time.monotonic()
    warm(reader)
    app = create_app(settings, reader)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"habitlake cockpit on http://{host}:{port}/  (gold tables of {settings.root}; "
          f"warmed in {time.monotonic() - t0:.1f}s; Ctrl-C stops)", flush=True)
    run_simple(host, port, app.server, threaded=True, use_reloader=False, use_debugger=False)
