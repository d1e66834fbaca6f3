"""Demand forecast: daily units per product x region (split per buyer tier), gradient-boosted trees.

Separate pure functions, no MLflow (the runner logs what `spec.train_and_evaluate` returns):

- `features`: the daily demand of every product x region from silver as of a cutoff (`AsOf`), on a
  fully filled date spine, with calendar, holiday, weather, promotion, last-year and lag features;
  nothing after the cutoff reaches a feature. Built with Spark, collected once per cutoff (pandas).
- `split`: rolling-origin backtest folds (weekly cutoffs; train before, predict the next days).
- `train`: the model (scikit-learn HistGradientBoostingRegressor, Poisson loss), deterministic seed.
- `lstm`: the LSTM challenger (PyTorch on CPU, the optional `lstm` extra): one global
  sequence-to-horizon network, scored in the same backtest (spec parameter `model`: gbt | lstm |
  compare).
- `forecast`: the recursive multi-day forecast (or a model's own `forecast`: the LSTM's), the seasonal-naive baseline, the tier split, and
  `gold.replenishment` (forecast vs stock on hand and shelf life, suggested order).
- `evaluate`: WAPE and bias per fold, overall and on holiday periods, against the baseline; the
  rolling backtest itself; the lift on planted holiday spikes.
- `spec`: `SPEC` for models/runner.py (`habitlake train demand`, `habitlake score`).

Typical use (what the runner does through `spec`)::

    from models.demand import evaluate, features, forecast, split, train

    asof = AsOf(spark, settings, "2025-05-30")
    folds = split.rolling_origin(asof.day, n_folds=4, horizon=14, step=7)
    result = evaluate.backtest(asof, folds)                 # metrics dict + predictions frame
    fs = features.build(asof, features.FeatureSpec(horizon=14))
    model, info = train.fit(fs.training_rows())
    demand = forecast.forecast_frame(model, fs)             # product x region x day, with the baseline
"""
