"""Benchmark: basket rules with Spark MLlib FP-growth (+ every rule derived in Spark) against
mlxtend's fpgrowth + association_rules, on the same baskets, min support and min confidence, in one
run; checks that both find the same itemsets and rules and prints the figures. Asserts nothing.

    python -m bench.train_basket                      # the UCI Online Retail file in ../shared/data
    python -m bench.train_basket --uci PATH           # another copy of it
    python -m bench.train_basket --home DIR [--date D]  # silver of a habitlake root, as of D (default: its last order)
    python -m bench.train_basket --landing DIR        # a dirt-free generated landing folder (no lakehouse needed)
      [--min-support 0.01] [--min-confidence 0.1] [--max-items 50 | --no-guard] [--item-col product_id]
      [--stack-demo]                                  # also fit every basket in a JVM without -Xss

Both sides get the guarded baskets (features.guard; `--no-guard` mines every basket). MLlib's time
is FP-growth's itemsets plus the derivation of every rule (multi-item consequents included, like
mlxtend); mlxtend's time is fpgrowth plus association_rules on a sparse one-hot frame, and the
time to collect and encode the baskets for it is shown apart. `--stack-demo` fits the unguarded
baskets in a fresh JVM with the default 1 MB thread stack, then says whether it overflowed
(java.lang.StackOverflowError) -- the reason habitlake/spark.py sets -Xss16m.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from bench import scratch_root

PROJECT = Path(__file__).resolve().parents[1]
UCI = PROJECT.parent / "shared" / "data" / "online_retail.csv.gz"
TOLERANCE = 1e-9


def _args(argv):
    parser = argparse.ArgumentParser(prog="bench train_basket")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--uci", help=f"UCI Online Retail CSV (default {UCI})")
    source.add_argument("--home", help="a habitlake root whose silver tables to read")
    source.add_argument("--landing", help="a dirt-free generated landing folder")
    parser.add_argument("--date", help="as-of date for --home (default: the last order date)")
    parser.add_argument("--min-support", type=float, default=0.01)
    parser.add_argument("--min-confidence", type=float, default=0.1)
    parser.add_argument("--max-items", type=int, default=50)
    parser.add_argument("--no-guard", action="store_true", help="mine every basket, however large")
    parser.add_argument("--item-col", default="product_id", choices=("product_id", "category_l2"))
    parser.add_argument("--stack-demo", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    if args.home:
        os.environ["HABITLAKE_HOME"] = args.home
        run(args)
    elif os.environ.get("HABITLAKE_HOME"):  # a root (and metastore port) chosen by the caller
        run(args)
    else:
        with scratch_root():
            run(args)


def _baskets(spark, settings, args):
    from models.basket import features, sources

    if args.home:
        from jobs.gold.asof import AsOf
        from habitlake import catalog

        day = args.date or str(catalog.read(spark, settings, "silver.orders").agg({"order_date": "max"}).first()[0])
        return f"silver of {args.home} as of {day}", features.baskets(AsOf(spark, settings, day).sale_lines(),
                                                                     day, args.item_col)
    if args.landing:
        lines = sources.landing_sale_lines(spark, args.landing)
        return f"landing files {args.landing}", features.baskets(lines, None, args.item_col)
    path = args.uci or str(UCI)
    return f"UCI Online Retail {path}", features.baskets(sources.online_retail_sale_lines(spark, path))


def mlxtend_rules(transactions: list[list[str]], min_support: float, min_confidence: float):
    """(itemsets {frozenset: support}, rules {(antecedent, consequent): (support, confidence, lift)},
    seconds encoding, seconds mining) with mlxtend on a sparse one-hot frame."""
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    t = time.perf_counter()
    encoder = TransactionEncoder()
    onehot = encoder.fit(transactions).transform(transactions, sparse=True)
    with warnings.catch_warnings():  # pandas' SparseDtype fill_value deprecation, inside mlxtend's recipe
        warnings.simplefilter("ignore", FutureWarning)
        frame = pd.DataFrame.sparse.from_spmatrix(onehot, columns=encoder.columns_)
    encoded = time.perf_counter()
    itemsets = fpgrowth(frame, min_support=min_support, use_colnames=True)
    rules = association_rules(itemsets, num_itemsets=len(transactions), metric="confidence",
                              min_threshold=min_confidence)
    mined = time.perf_counter()
    found_sets = {frozenset(s): float(v) for s, v in zip(itemsets["itemsets"], itemsets["support"])}
    found_rules = {(tuple(sorted(a)), tuple(sorted(c))): (float(s), float(k), float(lift))
                   for a, c, s, k, lift in zip(rules["antecedents"], rules["consequents"], rules["support"],
                                               rules["confidence"], rules["lift"])}
    return found_sets, found_rules, encoded - t, mined - encoded


def compare(ours: dict, theirs: dict, what: str) -> bool:
    """Print how two {key: values} maps differ; True when they hold the same keys and values."""
    only_ours, only_theirs = set(ours) - set(theirs), set(theirs) - set(ours)
    differ = [k for k in set(ours) & set(theirs)
              if any(abs(a - b) > TOLERANCE for a, b in zip(_tuple(ours[k]), _tuple(theirs[k])))]
    same = not (only_ours or only_theirs or differ)
    print(f"  {what}: MLlib {len(ours):,}, mlxtend {len(theirs):,} -> "
          + ("identical (keys and values to 1e-9)" if same else
             f"DIFFER: {len(only_ours)} only MLlib, {len(only_theirs)} only mlxtend, {len(differ)} values"))
    for key in sorted(only_ours, key=str)[:3]:
        print(f"    only MLlib: {key} {ours[key]}")
    for key in sorted(only_theirs, key=str)[:3]:
        print(f"    only mlxtend: {key} {theirs[key]}")
    return same


def _tuple(value):
    return value if isinstance(value, tuple) else (value,)


STACK_SCRIPT = """
import json, sys
from pyspark.sql import SparkSession
from models.basket import features, sources, train
conf, path, support, confidence = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
builder = SparkSession.builder.appName("basket-stack-demo")
for key, value in conf.items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
baskets = features.baskets(sources.online_retail_sale_lines(spark, path))
try:
    model = train.fit(baskets, min_support=support, min_confidence=confidence)
    print("FIT_OK " + json.dumps(model.metrics), flush=True)
except Exception as error:
    print("FIT_FAILED " + type(error).__name__, flush=True)
    sys.exit(3)
"""


def stack_demo(settings, path: str, min_support: float, min_confidence: float, xss: bool) -> str:
    """Fit every UCI basket in a fresh JVM, with or without habitlake's -Xss; what happened."""
    from habitlake.spark import THREAD_STACK, spark_conf

    conf = spark_conf(settings)
    conf["spark.sql.catalogImplementation"] = "in-memory"
    if not xss:
        for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
            conf[key] = conf[key].replace(THREAD_STACK, "").strip()
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", STACK_SCRIPT, json.dumps(conf), path, str(min_support),
                           str(min_confidence)], cwd=PROJECT, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - t
    overflow = "java.lang.StackOverflowError" in done.stderr
    result = next((line for line in done.stdout.splitlines() if line.startswith("FIT_")), "no result")
    return (f"{'with ' + THREAD_STACK if xss else 'default thread stack'}: exit {done.returncode}, "
            f"{'StackOverflowError, ' if overflow else ''}{result[:160]} ({seconds:.0f}s incl. JVM start)")


def run(args) -> None:
    from pyspark.sql import functions as F

    from habitlake.settings import Settings
    from habitlake.spark import get_spark
    from models.basket import features, train

    settings = Settings.from_env()
    t = time.perf_counter()
    spark = get_spark(settings, "habitlake-bench-basket")
    print(f"spark start-up: {time.perf_counter() - t:.1f}s")
    what, basket_rows = _baskets(spark, settings, args)
    basket_rows = basket_rows.cache()
    kept, stats = features.guard(basket_rows, None if args.no_guard else args.max_items)
    print(f"baskets of {what} ({args.item_col}): {stats['orders']:,} orders, largest {stats['largest_basket']} items; "
          f"guard {stats['max_items']}: {stats['orders_oversized']:,} held back ({stats['oversized_share']:.1%}), "
          f"{stats['orders_kept']:,} mined")
    kept = kept.cache()
    n = kept.count()
    print(f"min support {args.min_support} (>= {args.min_support * n:,.1f} baskets), min confidence {args.min_confidence}")

    t = time.perf_counter()
    model = train.fit(kept, min_support=args.min_support, min_confidence=args.min_confidence)
    spark_total = time.perf_counter() - t
    m, tm = model.metrics, model.timings
    t = time.perf_counter()
    mllib_single = train.mllib_rules(model.model).count()
    mllib_rules_s = time.perf_counter() - t
    print(f"MLlib FP-growth: {spark_total:.1f}s = itemsets {tm['fpgrowth_seconds']:.1f}s + every rule "
          f"{tm['rules_seconds']:.1f}s -> {m['frequent_itemsets']:,} itemsets (longest {m['max_itemset_size']}), "
          f"{m['rules']:,} rules ({m['rules_single_consequent']:,} single-item consequents, "
          f"{m['rules_multi_consequent']:,} multi-item)")
    print(f"  MLlib's own associationRules: {mllib_single:,} rules (single-item consequents only), {mllib_rules_s:.1f}s")

    t = time.perf_counter()
    transactions = [list(r["items"]) for r in kept.select("items").collect()]
    collect_s = time.perf_counter() - t
    sets, rules, encode_s, mine_s = mlxtend_rules(transactions, args.min_support, args.min_confidence)
    print(f"mlxtend fpgrowth + association_rules: {mine_s:.1f}s (+ collect {collect_s:.1f}s, one-hot {encode_s:.1f}s) "
          f"-> {len(sets):,} itemsets, {len(rules):,} rules")

    ours_sets = {frozenset(r["items"]): r["support"] for r in model.itemsets.collect()}
    ours_rules = {(tuple(r["antecedent"]), tuple(r["consequent"])): (r["support"], r["confidence"], r["lift"])
                  for r in model.rules.collect()}
    same = compare(ours_sets, sets, "frequent itemsets") & compare(ours_rules, rules, "rules")
    print(f"same itemsets and rules: {same}; mining time MLlib / mlxtend: {spark_total / mine_s:.1f}x")
    top = model.rules.orderBy(F.desc("lift"), F.desc("confidence"), "antecedent").limit(5).collect()
    for r in top:
        print(f"  {r.antecedent} -> {r.consequent}: support {r.support:.4f}, confidence {r.confidence:.3f}, "
              f"lift {r.lift:.1f}")
    model.unpersist()
    if args.stack_demo and not (args.home or args.landing):
        path = args.uci or str(UCI)
        print("every basket (no guard) in a fresh JVM:")
        print("  " + stack_demo(settings, path, args.min_support, args.min_confidence, xss=False))
        print("  " + stack_demo(settings, path, args.min_support, args.min_confidence, xss=True))
    spark.stop()


if __name__ == "__main__":
    main()
