"""Benchmark of the landing data generator: times `generate()` into a temporary folder and prints
seconds, rows and MB per source, total MB written and peak RSS.

    python -m bench.generate --customers 100000 --days 365
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from jobs.landing.generator import generate

BYTES_PER_MB = 1024 * 1024
KB_PER_MB = 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line arguments (defaults: the laptop-scale run)."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", default="2025-01-01")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirt", type=float, default=0.02)
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the output (default: temp dir)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, root: Path) -> dict:
    """Generate under `root` and return the figures."""
    started = time.perf_counter()
    summary = generate(root / "landing", root / "truth", customers=args.customers, days=args.days,
                       start=args.start, seed=args.seed, dirt=args.dirt, progress=not args.quiet)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KB_PER_MB  # ru_maxrss is in KB on Linux
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "sources": summary}


def report(args: argparse.Namespace, figures: dict) -> None:
    """Print the figures as a small table."""
    sources = figures["sources"]
    total_rows = sum(s["rows"] for s in sources.values())
    total_mb = sum(s["bytes"] for s in sources.values()) / BYTES_PER_MB
    print(f"generate: customers={args.customers} days={args.days} seed={args.seed} dirt={args.dirt}")
    print(f"{'source':<16}{'files':>8}{'rows':>14}{'MB':>10}")
    for name, s in sources.items():
        print(f"{name:<16}{s['files']:>8}{s['rows']:>14,}{s['bytes'] / BYTES_PER_MB:>10.1f}")
    print(f"{'total':<16}{'':>8}{total_rows:>14,}{total_mb:>10.1f}")
    print(f"seconds: {figures['seconds']:.1f}")
    print(f"rows per second: {total_rows / figures['seconds']:,.0f}")
    print(f"peak RSS: {figures['peak_rss_mb']:.0f} MB")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; returns the figures it printed."""
    args = parse_args(argv)
    if args.keep is not None:
        figures = run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="habitlake-bench-") as tmp:
            figures = run(args, Path(tmp))
    report(args, figures)
    sys.stdout.flush()
    return figures


if __name__ == "__main__":
    main()
