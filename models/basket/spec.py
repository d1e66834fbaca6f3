"""The basket model's contract with the runner (models/framework.py): `SPEC`.

train(ctx): the completed sales known at the end of `ctx.cutoff` (silver through
`jobs.gold.asof.AsOf`) -> one basket per order (guarded against huge wholesale baskets) -> time
split (train: orders before cutoff - test_days + 1; test: the last `test_days` days up to the
cutoff) -> MLlib FP-growth on train and every rule (multi-item consequents included) -> hide one
item of each test order with at least two items (seeded by `ctx.seed`), complete the cart from the
rest, and measure hit rate@10 and MAP@10 of the hidden items for the served recommender (rules
topped up with popular items), the rules alone and the popularity baseline.

The model is a `model.CartCompleter` (flavor "pyfunc": rules and popularity as pandas frames; it
serves carts and `score` publishes its rules as gold.basket_rules). The primary metric is
`map_at_10` of the served recommender; `champion_metric` re-evaluates another CartCompleter on the
very same hidden items.

Metrics (all on the held-out orders, except the counts of what was mined):
hit_rate_at_10, map_at_10, recall_at_10, coverage (served recommender); rules_* (rules alone,
no top-up); popularity_* (baseline); test_orders, orders_evaluated, hidden_items; baskets (train),
frequent_items, frequent_itemsets, max_itemset_size, rules, rules_single_consequent,
rules_multi_consequent; orders, orders_oversized, oversized_share, largest_basket (the guard, over
every basket up to the cutoff).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf, parse_day
from models.basket import evaluate as ev
from models.basket import features, gold, plots, split, train
from models.basket import recommend as rec
from models.basket.model import CartCompleter
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult

NAME = "basket"
GOLD_TABLE = "gold.basket_rules"
PRIMARY = "map_at_10"
K = 10
DEFAULTS: dict[str, Any] = {
    "item_col": "product_id",  # product_id | category_l2
    "max_items": features.DEFAULT_MAX_ITEMS,  # the wholesale guard (None: off)
    "min_support": 0.002,
    "min_count": 5,  # ... and in at least 5 baskets: a small retailer's floor (train.effective_min_support)
    "min_confidence": 0.05,
    "test_days": 28,  # the held-out window: the last 28 days up to the cutoff
    "hide": "one",  # evaluate.hide_items
    "score": "confidence",  # recommend.SCORES
    "fill_popular": True,  # the served recommender tops up with popular items
    "n": K,  # items a cart gets
    "num_partitions": None,  # FP-growth's partitions (None: the input's)
}
GUARD_METRICS = ("orders", "orders_oversized", "oversized_share", "largest_basket")
EVAL_KEYS = ("hit_rate_at_10", "map_at_10", "recall_at_10", "coverage")


def _params(ctx_params) -> dict[str, Any]:
    unknown = set(ctx_params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown basket parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    params = {**DEFAULTS, **dict(ctx_params)}
    if int(params["test_days"]) < 1:
        raise ValueError(f"test_days must be at least 1, got {params['test_days']}")
    return params


def split_date(cutoff: dt.date, test_days: int) -> dt.date:
    """The first day of the held-out window: the last `test_days` days up to the cutoff are tested."""
    return cutoff - dt.timedelta(days=int(test_days) - 1)


def fingerprint(held: DataFrame, params: dict, cutoff: dt.date) -> str:
    """Identifies the evaluation data: the hidden and visible items of every held-out order and what
    shaped them (one Spark job)."""
    digest = held.agg(F.bit_xor(F.xxhash64("order_id", "visible", "hidden")).cast("string"),
                      F.count(F.lit(1))).first()
    text = f"{cutoff}|{params['item_col']}|{params['max_items']}|{params['test_days']}|{params['hide']}|" \
           f"{digest[0]}|{digest[1]}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def served_metrics(completer: CartCompleter, spark, held: DataFrame, test: DataFrame) -> dict[str, float]:
    """The metrics of a model on held-out carts (held: order_id, visible, hidden): its rules, its
    popularity ranking, and both as served."""
    got = ev.evaluate(completer.rules_frame(spark), None, test, k=K, score=completer.score, held=held,
                      popular=completer.popular_frame(spark))
    served = "rules_filled" if completer.fill_popular else "rules"
    out = {key: got[f"{served}_{key}"] for key in EVAL_KEYS}
    out.update({f"rules_{key}": got[f"rules_{key}"] for key in EVAL_KEYS})
    out.update({f"popularity_{key}": got[f"popularity_{key}"] for key in EVAL_KEYS})
    out.update({key: got[key] for key in ("test_orders", "orders_evaluated", "hidden_items")})
    return out


def train_on(ctx: TrainContext, basket_rows: DataFrame, guard_stats: dict, params: dict) -> TrainResult:
    """Everything after the baskets: split, fit, evaluate, figures (tests call it on hand-made baskets)."""
    spark, cutoff = ctx.spark, parse_day(ctx.cutoff)
    first_test = split_date(cutoff, params["test_days"])
    trn, tst = split.time_split(basket_rows, first_test, end=cutoff)
    trn, tst = trn.cache(), tst.cache()
    fitted = train.fit(trn, min_support=params["min_support"], min_confidence=params["min_confidence"],
                       num_partitions=params["num_partitions"], min_count=params["min_count"])
    completer = CartCompleter.from_frames(
        fitted.rules, rec.popular_items(trn), item_col=params["item_col"], n=params["n"], score=params["score"],
        fill_popular=params["fill_popular"],
        mined_as_of=(first_test - dt.timedelta(days=1)).isoformat())
    trn.unpersist()
    held = ev.hide_items(tst, params["hide"], seed=ctx.seed).cache()
    metrics = {**served_metrics(completer, spark, held, tst), **fitted.metrics,
               **{key: guard_stats[key] for key in GUARD_METRICS}}
    fitted.unpersist()
    example = held.orderBy("order_id").limit(3).select(F.col("visible").alias("items")).toPandas()
    example["items"] = example["items"].map(list)
    fp = fingerprint(held, params, cutoff)

    def champion_metric(other: Any) -> float:
        """`map_at_10` of another CartCompleter on these very hidden items; NaN (never better, so
        this model wins) when the other one ranks other items (product_id vs category_l2)."""
        if not isinstance(other, CartCompleter):
            raise TypeError(f"expected a CartCompleter, got {type(other).__name__}")
        if other.item_col != params["item_col"]:
            return float("nan")
        return float(served_metrics(other, spark, held, tst)[PRIMARY])

    return TrainResult(
        model=completer,
        params={**params, "cutoff": cutoff.isoformat(), "split_date": first_test.isoformat(), "seed": ctx.seed,
                "k": K},
        metrics={key: float(value) for key, value in metrics.items()},
        primary_metric=PRIMARY,
        higher_is_better=True,
        flavor="pyfunc",
        input_example=example,
        figures=plots.figures(completer, metrics),
        tables={"top_rules.json": plots.top_rules_table(completer.rules)},
        eval_fingerprint=fp,
        champion_metric=champion_metric,
    )


def train_and_evaluate(ctx: TrainContext) -> TrainResult:
    """Baskets as of `ctx.cutoff` from silver, then `train_on`."""
    params = _params(ctx.params)
    asof = AsOf(ctx.spark, ctx.settings, parse_day(ctx.cutoff))
    basket_rows, stats = features.baskets_as_of(asof, params["item_col"], params["max_items"])
    return train_on(ctx, basket_rows, stats, params)


def score(ctx: ScoreContext, model: CartCompleter) -> dict[str, DataFrame]:
    """gold.basket_rules as of the scoring date: the model's rules (mined as of its cutoff)."""
    if not isinstance(model, CartCompleter):
        raise TypeError(f"expected a CartCompleter, got {type(model).__name__}")
    rows = gold.basket_rules(model.rules_frame(ctx.spark), ctx.asof.day, model.item_col,
                             model.mined_as_of or None)
    return {GOLD_TABLE: rows}


SPEC = ModelSpec(
    name=NAME,
    description="Basket rules (MLlib FP-growth, multi-item consequents) and cart completion; "
                "primary metric MAP@10 of hidden items of held-out orders",
    train=train_and_evaluate,
    score=score,
    gold_tables=(GOLD_TABLE,),
)
