"""Benchmark harness: `python -m bench [NAME ...]` (or `make bench`) runs benchmarks and prints figures.

Each benchmark is a module in this folder with `main(argv=None)`; speed and memory targets live here,
never in timed unit tests.
"""
from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "generate": "bench.generate",  # generator: 100k customers x 1 year within 10 minutes
    "ingest": "bench.ingest",  # bronze ingestion of one day of a 100k-customer retailer
    "audience": "bench.audience",  # `habitlake audience --count` on a 1M-customer profile
    "train_segmentation": "bench.train_segmentation",  # MLlib K-means vs scikit-learn KMeans
    "train_basket": "bench.train_basket",  # MLlib FP-growth vs mlxtend on the same baskets
    "train_demand": "bench.train_demand",  # demand backtest and training time
    "train_year": "bench.train_year",  # the three above at 100k customers x 1 year, in one run
    "orchestration": "bench.orchestration",  # one daily run of the DAG's steps: Spark start-up share
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = [a for a in argv if not a.startswith("-")] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== bench {name}")
        importlib.import_module(BENCHMARKS[name]).main([a for a in argv if a.startswith("-")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
