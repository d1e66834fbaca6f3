"""The recommender's time-split backtest: tune ALS on the validation window, fit before T, judge
guess-you-like and buy-again on the test window against their baselines.

`Inputs` holds the silver frames the recommender reads (completed sale lines, events, products);
`Inputs.from_asof` takes them from a `jobs.gold.asof.AsOf` cut at the training cutoff, so nothing
after the cutoff can reach a model. Every step is one of the package's pure functions; this module
only wires them together (no MLflow, no writes).
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.recommend import buy_again as ba
from models.recommend import evaluate as ev
from models.recommend import features as feat
from models.recommend import recommend as rec
from models.recommend import split, train
from models.recommend.config import ALSParams, Params


@dataclass
class Inputs:
    """Completed sale lines (order_id, customer_id, order_date, product_id), silver.events or None,
    and the products (product_id, product_name, category_l1, category_l2) or None."""

    sale_lines: DataFrame
    events: DataFrame | None = None
    products: DataFrame | None = None

    @classmethod
    def from_asof(cls, asof) -> "Inputs":
        products = asof.table("products") if asof.has("products") else None
        return cls(asof.sale_lines(), asof.optional("events"), products)


@dataclass
class Fold:
    """What a model fitted up to `window.train_end` sees and is judged on."""

    window: split.Window
    ratings: DataFrame  # feedback up to train_end
    days: DataFrame  # purchase days up to train_end
    regulars: DataFrame  # regulars at train_end
    customers: DataFrame  # customers with feedback up to train_end
    held: DataFrame  # guess-you-like relevance in the window (regulars excluded), known customers only

    def unpersist(self) -> None:
        for df in (self.ratings, self.days, self.regulars, self.customers, self.held):
            df.unpersist()


def fold(inputs: Inputs, window: split.Window, params: Params) -> Fold:
    """Features as of the window's train_end and the window's guess-you-like relevance."""
    end = window.train_end
    since = feat.since_for(end, params.history_days)
    ratings = feat.implicit_ratings(feat.signal_counts(inputs.sale_lines, inputs.events, end, since),
                                    params.weights, params.scale).cache()
    days = feat.purchase_days(inputs.sale_lines, end, since).cache()
    regulars = feat.regulars(days, params.regular_min_days).cache()
    customers = ratings.select("customer_id").distinct().cache()
    future = feat.purchase_days(inputs.sale_lines, window.end, window.start)
    held = ev.restrict(split.held_out(future, window, exclude=regulars), customers).cache()
    return Fold(window, ratings, days, regulars, customers, held)


def tune(inputs: Inputs, window: split.Window, params: Params, seed: int) -> tuple[ALSParams, pd.DataFrame]:
    """Fit every grid point (`train.grid(params.als, params.grid)`) up to the validation window's
    train_end; the best map@k in the window wins (ties: the first in grid order). Returns it and the
    table of every grid point. A grid of one point is not tuned: it is returned as it is."""
    candidates = train.grid(params.als, params.grid)
    if len(candidates) == 1:
        return candidates[0], pd.DataFrame([candidates[0].__dict__])
    f = fold(inputs, window, params)
    rows = []
    for als in candidates:
        started = time.perf_counter()
        model = train.fit(f.ratings, als, seed)
        recs = rec.guess_you_like(model, f.customers, f.regulars, params.k)
        found = ev.ranking(recs, f.held, params.k)
        rows.append({**als.__dict__, **{key: found[key] for key in (f"map_at_{params.k}", f"precision_at_{params.k}")},
                     "seconds": round(time.perf_counter() - started, 2)})
    f.unpersist()
    table = pd.DataFrame(rows)
    key = f"map_at_{params.k}"
    best = table.iloc[int(table[key].values.argmax())]  # argmax: the first of equal maxima
    chosen = ALSParams(rank=int(best["rank"]), reg_param=float(best["reg_param"]), alpha=float(best["alpha"]),
                       max_iter=int(best["max_iter"]))
    return chosen, table


@dataclass
class Backtest:
    model: PipelineModel  # ALS fitted up to T - 1 with the chosen parameters
    als: ALSParams
    metrics: dict[str, float]
    tuning: pd.DataFrame
    fold: Fold
    timings: dict[str, float] = field(default_factory=dict)


def guess_you_like_lists(model: PipelineModel, f: Fold, k: int) -> dict[str, DataFrame]:
    """ALS and popularity lists of the fold's known customers, regulars excluded."""
    popular = rec.popular_items(f.days)
    return {"als": rec.guess_you_like(model, f.customers, f.regulars, k),
            "popularity": rec.recommend_popular(f.customers, popular, f.regulars, k)}


def evaluate_buy_again(inputs: Inputs, f: Fold, params: Params) -> dict[str, float]:
    """buy_again_* and frequency_* on the first `buy_again_days` days of the fold's window."""
    window = f.window.first(params.buy_again_days)
    cycle_rows = ba.cycles(f.days, f.window.train_end, params.regular_min_days).cache()
    future = feat.purchase_days(inputs.sale_lines, window.end, window.start)
    held = split.held_out(future.join(f.regulars.select("customer_id", "product_id"),
                                      ["customer_id", "product_id"], how="inner"), window)
    lists = {"buy_again": ba.buy_again(cycle_rows, params.k, horizon_days=params.buy_again_days),
             "frequency": ba.most_frequent(cycle_rows, params.k)}
    metrics = ev.evaluate_lists(lists, held, params.k, prefix="")
    metrics["buy_again_customers"] = metrics.pop("customers")
    cycle_rows.unpersist()
    return metrics


def evaluate_all_items(inputs: Inputs, f: Fold, model: PipelineModel, params: Params) -> dict[str, float]:
    """Lists without exclusions against every item bought in the window (re-buys included)."""
    future = feat.purchase_days(inputs.sale_lines, f.window.end, f.window.start)
    held = ev.restrict(split.held_out(future, f.window), f.customers)
    popular = rec.popular_items(f.days)
    lists = {"als": rec.guess_you_like(model, f.customers, None, params.k),
             "popularity": rec.recommend_popular(f.customers, popular, None, params.k)}
    metrics = ev.evaluate_lists(lists, held, params.k, prefix="all_items_")
    return metrics


def backtest(inputs: Inputs, cutoff: str | dt.date, params: Params, seed: int = 42) -> Backtest:
    """Tune on the validation window, fit up to T - 1, evaluate on [T, cutoff]."""
    validation, test = split.windows(cutoff, params.test_days, params.validation_days)
    started = time.perf_counter()
    als, tuning = tune(inputs, validation, params, seed)
    tuned = time.perf_counter()
    f = fold(inputs, test, params)
    model = train.fit(f.ratings, als, seed)
    fitted = time.perf_counter()
    metrics = ev.evaluate_lists(guess_you_like_lists(model, f, params.k), f.held, params.k)
    metrics["test_customers"] = metrics.pop("customers")
    metrics.update(evaluate_buy_again(inputs, f, params))
    metrics.update(evaluate_all_items(inputs, f, model, params))
    counts = f.ratings.agg(F.count(F.lit(1)).alias("pairs"), F.countDistinct("customer_id").alias("customers"),
                           F.countDistinct("product_id").alias("products")).first()
    metrics.update({"train_pairs": int(counts["pairs"]), "train_customers": int(counts["customers"]),
                    "train_products": int(counts["products"])})
    timings = {"tuning_seconds": tuned - started, "training_seconds": fitted - tuned,
               "evaluation_seconds": time.perf_counter() - fitted}
    return Backtest(model, als, metrics, tuning, f, timings)
