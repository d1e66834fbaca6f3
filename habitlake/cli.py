"""`habitlake`: the command line for people and scripts. Every subcommand has --help.

Heavy imports (pyspark, the generator) happen inside the commands, so `--help` is instant.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from habitlake.settings import Settings

DEMO_CUSTOMERS, DEMO_DAYS, DEMO_START, DEMO_SEED = 3000, 180, "2025-01-01", 42


def _spark(settings: Settings, app: str):
    from habitlake.spark import get_spark

    return get_spark(settings, app_name=f"habitlake-{app}")


# --- setup --------------------------------------------------------------------------------------

def cmd_setup(args, settings: Settings) -> int:
    from habitlake import jars, metastore

    t0 = time.monotonic()
    already = jars.is_resolved(settings.jar_dir)
    found = jars.resolve(settings.jar_dir)
    print(f"jars: {len(found)} in {settings.jar_dir} ({'cached' if already else 'resolved from Maven Central'})")
    if args.no_metastore:
        return 0
    started = metastore.ensure_running(settings)
    print(f"metastore: {metastore.status(settings)}{' (started)' if started else ''}")
    print(f"root: {settings.root}   ({time.monotonic() - t0:.1f}s)")
    return 0


# --- generate -----------------------------------------------------------------------------------

def cmd_generate(args, settings: Settings) -> int:
    from jobs.landing.generator import generate

    out = args.out or settings.landing
    truth = args.truth or settings.truth
    t0 = time.monotonic()
    summary = generate(out, truth, customers=args.customers, days=args.days, start=args.start,
                       seed=args.seed, dirt=args.dirt, progress=not args.quiet)
    _print_generated(summary, out, truth, time.monotonic() - t0)
    return 0


def _print_generated(summary: dict, out: str, truth: str, seconds: float) -> None:
    from tabulate import tabulate

    rows = [(name, s["files"], s["rows"], f"{s['bytes'] / 1e6:.1f}") for name, s in summary.items()]
    total = sum(s["bytes"] for s in summary.values()) / 1e6
    print(tabulate(rows, headers=["source", "files", "rows", "MB"], tablefmt="simple"))
    print(f"wrote {total:.1f} MB of landing files to {out} (truth in {truth}) in {seconds:.1f}s")


# --- ingest -------------------------------------------------------------------------------------

def cmd_ingest(args, settings: Settings) -> int:
    from jobs.bronze import ingest

    if not args.mapping and not args.date:
        raise SystemExit("habitlake ingest: give --date D [--to D2], or --mapping FILE")
    spark = _spark(settings, "ingest")
    t0 = time.monotonic()
    first, last, sources = args.date, args.to, args.source or None
    if args.mapping:
        from jobs.landing import mapping

        out = mapping.run(spark, settings, args.mapping, args.input)
        for source, info in out["sources"].items():
            print(f"mapped {info['rows']:>9,} rows to landing/{source} over {len(info['dates'])} day(s)")
        if not out["dates"]:
            print("the mapping produced no rows")
            return 0
        first, last, sources = out["dates"][0], out["dates"][-1], list(out["sources"])
        print(f"retailer: currency {out['retailer'].get('currency')}, time zone {out['retailer'].get('timezone')} "
              f"(recorded for later runs on this root)")
    log = ingest.run(spark, settings, first, last, sources)
    _print_ingest(log, time.monotonic() - t0)
    if args.mapping:
        print(f"next: habitlake silver --date {first} --to {last}")
    return 0


def _print_ingest(log: list[dict], seconds: float) -> None:
    from tabulate import tabulate

    per_source: dict[str, list[int]] = {}
    for row in log:
        agg = per_source.setdefault(row["source"], [0, 0, 0, 0])
        agg[0] += row["status"] == "ingested"
        agg[1] += row["status"] == "rejected"
        agg[2] += row["rows"]
        agg[3] += row["malformed_rows"]
    table = [(s, *v) for s, v in per_source.items()]
    if table:
        print(tabulate(table, headers=["source", "files", "rejected", "rows", "malformed"]))
    for row in log:
        if row["status"] == "rejected":
            print(f"REJECTED {row['file']}: {row['reason']}", file=sys.stderr)
    print(f"ingested {sum(r['rows'] for r in log)} rows from "
          f"{sum(r['status'] == 'ingested' for r in log)} new files in {seconds:.1f}s"
          + ("" if log else " (nothing new: every file was already ingested)"))


# --- stream -------------------------------------------------------------------------------------

def cmd_stream(args, settings: Settings) -> int:
    from jobs.bronze import events_stream

    spark = _spark(settings, "stream")
    mode = "continuous" if args.continuous else "available_now"
    query = events_stream.start(spark, settings, mode=mode, interval=args.interval,
                                max_files_per_trigger=args.max_files or None)
    print(f"streaming events into bronze.events ({mode}); checkpoint {events_stream.checkpoint_dir(settings)}",
          flush=True)
    try:
        query.awaitTermination()
    except KeyboardInterrupt:
        query.stop()
    progress = query.recentProgress
    print(f"{sum(p['numInputRows'] for p in progress)} events in {len(progress)} micro-batch(es)")
    return 0


# --- silver -------------------------------------------------------------------------------------

def cmd_silver(args, settings: Settings) -> int:
    from jobs.silver import run as silver

    spark = _spark(settings, "silver")
    t0 = time.monotonic()
    print(f"silver {args.date}{' .. ' + args.to if args.to else ''}:")
    silver.run(spark, settings, args.date, args.to, args.table or None)
    print(f"done in {time.monotonic() - t0:.1f}s")
    return 0


# --- gold ---------------------------------------------------------------------------------------

def cmd_gold(args, settings: Settings) -> int:
    from jobs.gold import run as gold

    spark = _spark(settings, "gold")
    t0 = time.monotonic()
    options = {"tier_rules": args.tier_rules} if args.tier_rules else {}
    print(f"gold as of {args.date}{' .. ' + args.to if args.to else ''}:")
    gold.run(spark, settings, args.date, args.to, args.table or None, checks=not args.no_checks, options=options)
    print(f"done in {time.monotonic() - t0:.1f}s")
    return 0


# --- audience -----------------------------------------------------------------------------------

def cmd_audience(args, settings: Settings) -> int:
    """Customers of gold.customer_profile matching an expression (docs/expressions.md): list, count, save."""
    from jobs.gold import audience
    from jobs.gold.expr import ExprError, parse

    try:
        parse(args.expression, audience.source_of(args.expression))  # syntax errors before Spark starts
        spark = _spark(settings, "audience")
        if args.save:
            n = audience.save(spark, settings, args.save, args.expression, args.date)
            print(f"audience {args.save!r}: {n:,} customers -> gold.audiences")
        elif args.count:
            print(audience.count(spark, settings, args.expression, args.date))
        else:
            df = audience.members(spark, settings, args.expression, args.date)
            rows = df.limit(args.limit).collect() if args.limit else df.collect()
            print(format_rows(df.columns, [list(r) for r in rows], args.format))
    except ExprError as bad:
        print(bad, file=sys.stderr)
        return 2
    except (LookupError, ValueError) as bad:
        print(f"habitlake audience: {bad}", file=sys.stderr)
        return 1
    return 0


# --- sql ----------------------------------------------------------------------------------------

def cmd_sql(args, settings: Settings) -> int:
    spark = _spark(settings, "sql")
    df = spark.sql(args.query)
    rows = df.limit(args.limit).collect() if args.limit else df.collect()
    print(format_rows(df.columns, [list(r) for r in rows], args.format))
    return 0


def _cell(value):
    """SQL-style text for a value: booleans as true/false, NULL as empty."""
    return str(value).lower() if isinstance(value, bool) else value


def format_rows(columns: list[str], rows: list[list], fmt: str) -> str:
    """Rows as a text table, CSV or JSON lines (one object per row)."""
    if fmt != "json":
        rows = [[_cell(v) for v in row] for row in rows]
    if fmt == "json":
        return "\n".join(json.dumps(dict(zip(columns, r)), default=str, ensure_ascii=False) for r in rows)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    from tabulate import tabulate

    return tabulate(rows, headers=columns, tablefmt="psql", disable_numparse=True)


# --- metastore ----------------------------------------------------------------------------------

def cmd_metastore(args, settings: Settings) -> int:
    from habitlake import metastore

    if args.action == "start":
        metastore.ensure_running(settings)
    elif args.action == "stop":
        metastore.stop(settings)
    elif args.action == "register":
        from habitlake import catalog

        names = catalog.register_all(_spark(settings, "metastore"), settings)
        print(f"registered {len(names)} tables found under {settings.lake}")
    print(metastore.status(settings))
    return 0


# --- demo ---------------------------------------------------------------------------------------

def cmd_demo(args, settings: Settings) -> int:
    """Generate the demo retailer (unless already there) and run it through the pipeline."""
    from habitlake import demo

    return demo.run(settings, customers=args.customers, days=args.days, start=args.start, seed=args.seed)


# --- export -------------------------------------------------------------------------------------

def cmd_export(args, settings: Settings) -> int:
    """One CSV file for a marketing tool: `export targeting` = gold.campaign_targeting of a date."""
    from jobs.gold import campaign_targeting

    spark = _spark(settings, "export")
    n = campaign_targeting.export_csv(spark, settings, args.date, args.out, bom=not args.no_bom)
    print(f"{n:,} customers of gold.campaign_targeting as of {args.date} -> {args.out}")
    return 0


# --- parser -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="habitlake",
        description="habitlake: a Spark lakehouse for grocery customer-habit analytics. "
                    "Settings come from HABITLAKE_* environment variables (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("setup", help="resolve the jar cache and start the metastore (idempotent)")
    p.add_argument("--no-metastore", action="store_true", help="only resolve jars")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("generate", help="generate a synthetic retailer's landing files",
                       description="Write landing files (CSV, JSON lines) of a synthetic fresh-food "
                                   "e-grocer / frozen-food distributor, and its hidden truth.")
    p.add_argument("--customers", type=int, default=DEMO_CUSTOMERS, help="number of customers (default %(default)s)")
    p.add_argument("--days", type=int, default=DEMO_DAYS, help="days simulated (default %(default)s)")
    p.add_argument("--start", default=DEMO_START, help="first day, YYYY-MM-DD (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed; same seed, same bytes (default %(default)s)")
    p.add_argument("--dirt", type=float, default=0.02, help="rate of each kind of dirt (default %(default)s)")
    p.add_argument("--out", help="landing folder (default: <root>/landing)")
    p.add_argument("--truth", help="truth folder (default: <root>/truth)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("ingest", help="landing files of a date or range -> bronze Delta tables",
                       description="Read each landing source for the date (or every date of "
                                   "--date..--to) into append-only bronze.<source> tables.")
    p.add_argument("--date", help="business date YYYY-MM-DD")
    p.add_argument("--to", help="last date of an inclusive range")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--mapping", help="bring your own data: a mapping YAML (see conf/mappings/) that turns a "
                                     "retailer's export into landing files, which are then ingested")
    p.add_argument("--input", help="with --mapping: the export file(s) to read instead of the mapping's input.path")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("stream", help="stream app / web events from landing into bronze.events",
                       description="Spark Structured Streaming from <landing>/events into bronze.events, "
                                   "exactly once across restarts. By default takes what has landed "
                                   "and stops; --continuous keeps polling (Ctrl-C stops).")
    p.add_argument("--continuous", action="store_true", help="keep running, polling every --interval")
    p.add_argument("--interval", default="10 seconds", help="polling interval in continuous mode")
    p.add_argument("--max-files", type=int, default=0, help="at most this many files per micro-batch")
    p.set_defaults(func=cmd_stream)

    p = sub.add_parser("silver", help="bronze -> typed, conformed, deduplicated silver tables",
                       description="Clean, conform and check every bronze source for the date (or "
                                   "range) into silver.<table>; bad rows go to silver.quarantine.")
    p.add_argument("--date", required=True, help="business date YYYY-MM-DD")
    p.add_argument("--to", help="last date of an inclusive range")
    p.add_argument("--table", action="append", help="only this table (repeatable)")
    p.set_defaults(func=cmd_silver)

    p = sub.add_parser("gold", help="silver -> gold: customer 360, tiers, tags, habits, marketing",
                       description="Rebuild the gold tables as of a date (using only data up to it); "
                                   "with --to, as of each day of the range. Re-running a date replaces its results.")
    p.add_argument("--date", required=True, help="as-of date YYYY-MM-DD")
    p.add_argument("--to", help="last as-of date of a range (inclusive)")
    p.add_argument("--table", action="append", help="only this gold table (repeatable)")
    p.add_argument("--tier-rules", help="tier rule file: a name in conf/tiers/ or a path (default: conf/gold.yaml)")
    p.add_argument("--no-checks", action="store_true", help="skip the Great Expectations suites")
    p.set_defaults(func=cmd_gold)

    p = sub.add_parser("audience", help="count, list or save the customers matching an expression",
                       description="Customers of gold.customer_profile (one as-of slice) matching an expression "
                                   "over its columns and tag ids, e.g. \"hotpot_fan AND tier = 'Gold' AND NOT "
                                   "is_churned\" (docs/expressions.md). An invalid expression exits with 2.")
    p.add_argument("expression", help="a condition over profile fields and tag ids")
    p.add_argument("--date", help="as-of date YYYY-MM-DD (default: the latest slice of the profile)")
    p.add_argument("--count", action="store_true", help="print only the number of customers")
    p.add_argument("--save", metavar="NAME", help="save as audience NAME in gold.audiences (replacing it)")
    p.add_argument("--limit", type=int, default=0, help="list at most this many customers (0 = all)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_audience)

    p = sub.add_parser("sql", help="run Spark SQL over the lakehouse catalog and print the result")
    p.add_argument("query", help="a SQL statement, e.g. \"SELECT count(*) FROM bronze.orders\"")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--limit", type=int, default=0, help="at most this many rows (0 = all)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("metastore", help="start, stop or show the shared metastore server; register tables",
                       description="start / stop / status of the shared metastore server; register: name every "
                                   "table found under the root in the metastore (after restoring or moving a lake).")
    p.add_argument("action", choices=["start", "stop", "status", "register"])
    p.set_defaults(func=cmd_metastore)

    p = sub.add_parser("demo", help="run the demo end to end on embedded defaults")
    p.add_argument("--customers", type=int, default=DEMO_CUSTOMERS)
    p.add_argument("--days", type=int, default=DEMO_DAYS)
    p.add_argument("--start", default=DEMO_START)
    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("export", help="export a gold marketing list as ONE CSV file",
                       description="Write the campaign targeting list of an as-of date (customer_id, "
                                   "phone_hash, tier, coupon_value, channel, push_hour, priority, reason) "
                                   "to one CSV file with a header, UTF-8 with BOM (for Excel) unless --no-bom.")
    p.add_argument("what", choices=["targeting"], help="targeting: gold.campaign_targeting")
    p.add_argument("--date", required=True, help="as-of date YYYY-MM-DD (its gold slice must exist)")
    p.add_argument("--out", required=True, help="the CSV file to write (replaced if it exists)")
    p.add_argument("--no-bom", action="store_true", help="plain UTF-8, without the byte-order mark")
    p.set_defaults(func=cmd_export)

    import importlib

    from habitlake.commands import GROUPS

    for group in GROUPS:
        importlib.import_module(f"habitlake.commands.{group}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
