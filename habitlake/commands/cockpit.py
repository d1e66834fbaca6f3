"""`habitlake` commands: cockpit (the management dashboard) and report (the static daily report)."""
from __future__ import annotations

import sys
import time

DEFAULT_PORT = 8050


def cmd_cockpit(args, settings) -> int:
    from habitlake.cockpit.app import serve

    try:
        serve(settings, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_report(args, settings) -> int:
    from habitlake.cockpit import report

    t0 = time.monotonic()
    try:
        path = report.write(settings, args.date, args.out)
    except LookupError as bad:
        print(f"habitlake report: {bad}", file=sys.stderr)
        return 1
    print(f"report of {args.date} -> {path} ({path.stat().st_size / 1e6:.1f} MB, {time.monotonic() - t0:.1f}s)")
    return 0


def register(sub) -> None:
    """Add this group's subcommands to the parser's subparsers `sub`."""
    p = sub.add_parser("cockpit", help="the management cockpit: a web dashboard over the gold tables",
                       description="Serve the management cockpit (Dash) over the gold tables of the root: "
                                   "customers, tiers, segments, churn risk and win-back, habits, promotions, "
                                   "campaigns, delivery, demand and stock, with date, region, tier and channel "
                                   "filters. Reads the Delta tables directly (no Spark), so pages answer in "
                                   "about a second.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    p.set_defaults(func=cmd_cockpit)

    p = sub.add_parser("report", help="the static daily report: main charts as one self-contained HTML file",
                       description="Write the cockpit's main charts and numbers for an as-of date as ONE HTML "
                                   "file with Plotly embedded inline (no network needed), for people who "
                                   "read email.")
    p.add_argument("--date", required=True, help="as-of date YYYY-MM-DD (its gold.customer_profile slice must exist)")
    p.add_argument("--out", help="the HTML file (default <root>/reports/habitlake_report_<date>.html)")
    p.set_defaults(func=cmd_report)
