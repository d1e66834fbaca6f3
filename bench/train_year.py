"""Benchmark: the models' training at 100k customers x 1 year, each beside what a data scientist
would reach for on one machine, in one run. Asserts nothing; prints the figures.

    python -m bench.train_year --keep DIR [--customers 100000] [--days 365] [--start 2025-01-01]
                               [--seed 11] [--only segmentation,basket,demand]
    python -m bench.train_year --keep DIR --only=        # build the year only (e.g. while the machine is busy)

1. The year, built once into DIR and reused by later runs (`--keep`; without it a scratch root is
   built and deleted): `habitlake generate` (with its default dirt), then `habitlake ingest` and
   `habitlake silver` over the whole range in one pass each, for the sources the models read
   (SOURCES: not events, reviews, complaints, deliveries, campaign sends). Their seconds are printed
   apart: they are the pipeline's, not the training's.
2. As of the year's last day, on the same Spark settings, one model after the other:
   - segmentation (`bench.train_segmentation`): MLlib K-means against scikit-learn KMeans for every
     k of 3..10 on the same standardised matrix of the customer profile;
   - basket (`bench.train_basket`): MLlib FP-growth plus every rule against mlxtend's fpgrowth plus
     association_rules, on the same guarded baskets, support and confidence; both rule sets compared;
   - demand (`bench.train_demand`): the GBT's rolling backtest (4 folds) and final fit, against the
     seasonal-naive baseline (there is no one-machine library to compare with that does the same job).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import scratch_root

SOURCES = ("customers", "products", "orders", "order_lines", "holidays", "weather", "promotions", "inventory")
TABLES = ("customers", "products", "orders", "order_lines", "calendar", "weather", "promotions", "inventory")
MODELS = ("segmentation", "basket", "demand")
BUILT = "bench_train_year.json"  # in the root: the parameters the silver tables were built with


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.train_year", description=__doc__.split("\n")[0])
    parser.add_argument("--keep", help="build the year in this folder and keep it (a later run reuses it)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", default="2025-01-01")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    return parser.parse_args(argv)


def _cli(*argv: str) -> float:
    """Run `habitlake ARGV` in a new process (the root is in the environment); its seconds."""
    t = time.perf_counter()
    print(f"$ habitlake {' '.join(argv)}", flush=True)
    subprocess.run([sys.executable, "-m", "habitlake.cli", *argv], check=True)
    return time.perf_counter() - t


def build(root: Path, params: dict) -> str:
    """Generate, ingest and silver the year unless `root` holds it already; the last day."""
    last = (dt.date.fromisoformat(params["start"]) + dt.timedelta(days=params["days"] - 1)).isoformat()
    marker = root / BUILT
    if marker.exists():
        built = json.loads(marker.read_text())
        if built != params:
            raise SystemExit(f"{root} holds a year built with {built}: use another folder for {params}")
        print(f"root {root}: the year is built already ({params})")
        return last
    from habitlake.demo import generated_with
    from habitlake.settings import Settings

    generated = generated_with(Settings.from_env()) or {}
    seconds = {}
    if any(generated.get(k) != v for k, v in params.items()):
        seconds["generate"] = _cli("generate", "--customers", str(params["customers"]), "--days", str(params["days"]),
                                   "--start", params["start"], "--seed", str(params["seed"]), "--quiet")
    seconds["ingest"] = _cli("ingest", "--date", params["start"], "--to", last,
                             *(a for s in SOURCES for a in ("--source", s)))
    seconds["silver"] = _cli("silver", "--date", params["start"], "--to", last,
                             *(a for t in TABLES for a in ("--table", t)))
    marker.write_text(json.dumps(params))
    print("year built: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()), flush=True)
    return last


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    params = {"customers": args.customers, "days": args.days, "start": args.start, "seed": args.seed}
    wanted = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(wanted) - set(MODELS))
    if unknown:
        raise SystemExit(f"--only: unknown model(s) {unknown}; choose from {list(MODELS)}")
    os.environ.setdefault("HABITLAKE_SPARK_MASTER", "local[2]")
    os.environ.setdefault("HABITLAKE_DRIVER_MEMORY", "12g")  # a year of sale lines; the machine has 24 GiB
    with scratch_root(args.keep) as root:
        from habitlake import metastore
        from habitlake.settings import Settings

        last = build(Path(root), params)
        metastore.ensure_running(Settings.from_env())  # for the three harnesses, stopped by scratch_root
        figures = {}
        for name in wanted:
            print(f"\n== {name}, {args.customers:,} customers x {args.days} days, as of {last}", flush=True)
            t = time.perf_counter()
            importlib.import_module(f"bench.train_{name}").main(["--home", root, "--date", last])
            figures[name] = time.perf_counter() - t
        print("\nin all (each with its Spark start-up and feature building): "
              + ", ".join(f"{k} {v:.0f} s" for k, v in figures.items()))


if __name__ == "__main__":
    main()
