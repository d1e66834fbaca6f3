"""The recommender's entry points for the model runner (models/framework.py): train and score.

- `train(ctx)`: reads silver as of `ctx.cutoff` (nothing later), tunes ALS on the validation
  window, fits it on everything before T and judges guess-you-like (vs popularity) and buy-again
  (vs the customer's most frequent items) on the test window [T, cutoff]. The model returned is that
  fitted pipeline, the one the metrics describe, so `champion_metric` compares a challenger and the
  champion on the very same held-out purchases (a champion trained at an earlier cutoff never saw
  them either). Primary metric: `als_map_at_10`.
- `score(ctx, model)`: as of `ctx.asof.date`, the top N guess-you-like items per customer (ALS,
  regulars excluded, topped up with popular items, so new customers get a list too) and the top N
  buy-again items (due score of the customer's regulars): rows of gold.recommendations.

Parameters: conf/models.yaml `recommend:`, then `ctx.params` (e.g. `{"grid": {}}` skips tuning and
fits `als` as given).
"""
from __future__ import annotations

import hashlib

import pandas as pd
from matplotlib.figure import Figure
from pyspark.sql import functions as F

from jobs.gold.asof import AsOf
from models.framework import ModelSpec, ScoreContext, TrainContext, TrainResult
from models.recommend import backtest as bt
from models.recommend import buy_again as ba
from models.recommend import config
from models.recommend import evaluate as ev
from models.recommend import features as feat
from models.recommend import gold
from models.recommend import recommend as rec

PRIMARY = "als_map_at_{k}"
INPUT_EXAMPLE_ROWS = 5


def _fingerprint(f: bt.Fold) -> str:
    """Identifies the held-out purchases: window, customers and a hash of every relevant pair."""
    row = (f.held.select("customer_id", F.explode("hidden").alias("item"))
           .agg(F.count(F.lit(1)).alias("n"), F.bit_xor(F.xxhash64("customer_id", "item")).alias("h")).first())
    text = f"{f.window.train_end}|{f.window.start}|{f.window.end}|{row['n']}|{row['h']}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _figure(metrics: dict, k: int) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    for ax, (title, names) in zip(fig.subplots(1, 2), (("guess you like", ("als", "popularity")),
                                                       ("buy again", ("buy_again", "frequency")))):
        labels = [f"precision@{k}", f"MAP@{k}"]
        for i, name in enumerate(names):
            values = [metrics[f"{name}_precision_at_{k}"], metrics[f"{name}_map_at_{k}"]]
            ax.bar([x + 0.4 * i for x in range(2)], values, width=0.4, label=name)
        ax.set_xticks([0.2, 1.2], labels)
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    return fig


def train(ctx: TrainContext) -> TrainResult:
    params = config.load(overrides=ctx.params)
    asof = AsOf(ctx.spark, ctx.settings, ctx.cutoff)
    inputs = bt.Inputs.from_asof(asof)
    result = bt.backtest(inputs, ctx.cutoff, params, ctx.seed)
    k, f = params.k, result.fold
    metrics = {key: float(v) for key, v in result.metrics.items()}
    metrics.update({key: float(v) for key, v in result.timings.items()})
    example = f.ratings.select("customer_id", "product_id").orderBy("customer_id", "product_id")
    input_example = pd.DataFrame([r.asDict() for r in example.limit(INPUT_EXAMPLE_ROWS).collect()])

    def champion_metric(model) -> float:
        recs = rec.guess_you_like(model, f.customers, f.regulars, k)
        return ev.ranking(recs, f.held, k)[f"map_at_{k}"]

    chosen = {f"chosen_{key}": value for key, value in result.als.__dict__.items()}
    return TrainResult(
        model=result.model,
        params={**params.flat(), **chosen, "seed": ctx.seed, "cutoff": str(ctx.cutoff),
                "test_start": str(f.window.start), "train_end": str(f.window.train_end)},
        metrics=metrics,
        primary_metric=PRIMARY.format(k=k),
        higher_is_better=True,
        flavor="spark",
        input_example=input_example,
        figures={"recommend_metrics.png": _figure(metrics, k)},
        tables={"als_tuning.csv": result.tuning},
        eval_fingerprint=_fingerprint(f),
        champion_metric=champion_metric,
    )


def score(ctx: ScoreContext, model) -> dict:
    params = config.load(overrides=ctx.params)
    asof = ctx.asof
    inputs = bt.Inputs.from_asof(asof)
    since = feat.since_for(asof.day, params.history_days)
    days = feat.purchase_days(inputs.sale_lines, asof.day, since)
    regulars = feat.regulars(days, params.regular_min_days)
    customers = asof.customers().select("customer_id").distinct()
    n = params.top_n
    popular = rec.recommend_popular(customers, rec.popular_items(days), regulars, n)
    guess = rec.fill_with_popular(rec.guess_you_like(model, customers, regulars, n), popular, n)
    again = ba.buy_again(ba.cycles(days, asof.day, params.regular_min_days), n, horizon_days=params.buy_again_days)
    return {"gold.recommendations": gold.recommendations(guess, again, inputs.products, asof.day)}


SPEC = ModelSpec(
    name="recommend",
    description="Guess you like (ALS on weighted implicit feedback, regulars excluded) and buy again "
                "(each customer's repurchase cycle per item)",
    train=train,
    score=score,
    gold_tables=("gold.recommendations",),
)
