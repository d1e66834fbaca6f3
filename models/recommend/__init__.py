"""Recommendations: "guess you like" (ALS on implicit feedback) and "buy again" (each customer's own
repurchase cycle per item), written to gold.recommendations.

Recommending new items and re-buys are different jobs, so there are two lists that never repeat
each other. An item the customer bought on at least two distinct days (`regular_min_days`) is a
"regular": it belongs to buy-again, ranked by how due it is, and is left out of guess-you-like,
which proposes what the customer has not made a habit of (never bought, or tried once).

One module per step, each a pure function of DataFrames and parameters (no MLflow, no writes; the
runner, models/runner.py, logs what `spec.train` returns):

- `config`: parameters from conf/models.yaml `recommend:` (signal weights, ALS and its tuning grid,
  windows, K, N), overridable per run;
- `features`: implicit feedback per customer x product as of a cutoff (purchases, favourites, cart
  adds, views, weighted), purchase days, regulars;
- `split`: validation and test windows (fit before T, judge on [T, cutoff]) and the held-out
  purchases;
- `train`: the Spark ML pipeline (id indexers + ALS, implicitPrefs, fixed seed) and the grid;
- `recommend`: guess-you-like from the model, the popularity baseline, the two merged;
- `buy_again`: repurchase cycles (median gap between purchase days), the due score, and the
  "most frequently bought" baseline;
- `evaluate`: precision@K and MAP@K (MAP, recall, hit rate from `models.basket.evaluate`);
- `backtest`: tune on the validation window, fit, evaluate both lists against their baselines;
- `gold`: the rows of gold.recommendations;
- `spec`: `SPEC` for the runner (`train(ctx)`, `score(ctx, model)`).
"""
