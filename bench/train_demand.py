"""Benchmark: the demand forecast's rolling backtest and training time on a habitlake root.

    python -m bench.train_demand --home DIR [--date D] [--folds 4] [--step 7] [--score]
                                 [--model gbt|lstm|compare]

Runs `models.demand.spec.train_and_evaluate` as `habitlake train demand` would (no MLflow): the
rolling-origin backtest (features as of each fold's cutoff, GBT fitted, 14 days forecast
recursively) against the seasonal-naive baseline, then the final fit up to D. Prints WAPE and bias of
both, overall, on holiday periods and per fold, at series x day and coarser grains; the planted
holiday spikes against the forecast when the root has a generator truth folder; the seconds of each
step. `--score` also times `score` (gold.demand_forecast and gold.replenishment rows, not written).
`--model lstm` backtests the LSTM instead (needs the optional torch extra, `make lstm`); `--model
compare` backtests both on the same folds and prints them side by side with the baseline (WAPE, bias,
train seconds), then fits the one with the lower overall WAPE. The root's metastore port comes from
HABITLAKE_METASTORE_PORT. Asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path


def _args(argv):
    parser = argparse.ArgumentParser(prog="bench train_demand")
    parser.add_argument("--home", required=True, help="a habitlake root with silver (and gold) tables")
    parser.add_argument("--date", help="the training cutoff (default: the last order date)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--step", type=int, default=7, help="days between fold cutoffs")
    parser.add_argument("--score", action="store_true", help="also time score() as of the cutoff")
    parser.add_argument("--model", choices=("gbt", "lstm", "compare"), default="gbt",
                        help="the demand spec's `model` parameter (compare: GBT and LSTM side by side)")
    return parser.parse_args(argv)


def _fmt(value) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def report(result, settings, total: float) -> None:
    """Print the figures of a demand TrainResult (and the planted spikes when the root has truth)."""
    import pandas as pd

    from models.demand import evaluate

    m = result.metrics
    print("\nfold  cutoff      test window              rows   WAPE   bias  | naive WAPE  bias | "
          "features  fit  forecast (s)")
    for row in result.tables["backtest_folds.json"].to_dict("records"):
        print(f"{row['fold']:>4}  {row['cutoff']}  {row['test_start']}..{row['test_end']}  {row['rows']:>7,} "
              f"{_fmt(row['wape'])} {_fmt(row['bias'])} | {_fmt(row['baseline_wape'])} {_fmt(row['baseline_bias'])} | "
              f"{row['features_seconds']:8.1f} {row['train_seconds']:4.1f} {row['predict_seconds']:6.1f}")
    kind = result.params.get("model", "gbt").upper()
    print(f"\n                      {kind:>3} WAPE   bias | naive WAPE   bias")
    for label, prefix in (("overall (series x day)", ""), ("holiday periods", "holiday_"),
                          ("other days", "non_holiday_"), ("product x day", "product_day_"),
                          ("category_l2 x day", "category_l2_day_")):
        print(f"{label:<22} {_fmt(m.get(prefix + 'wape'))} {_fmt(m.get(prefix + 'bias'))} | "
              f"{_fmt(m.get(prefix + 'baseline_wape'))} {_fmt(m.get(prefix + 'baseline_bias'))}")
    print(f"\nholiday-period rows: {int(m['holiday_rows']):,} of {int(m['overall_rows']):,}")
    if "gbt_wape" in m:
        side_by_side(m)
    if "feature_importances.json" in result.tables:
        print("top GBT features (WAPE increase when shuffled, last fold):")
        for row in result.tables["feature_importances.json"].head(8).itertuples():
            print(f"  {row.feature:<20} {row.importance:+.4f}")

    truth = Path(settings.truth) / "holidays_spikes.csv"
    if truth.exists():
        lift = evaluate.spike_lift(result.tables["backtest_daily.csv"], pd.read_csv(truth))
        if lift.empty:
            print("\nno planted spike falls inside a test window")
        else:
            print("\nplanted spikes inside test windows (mean units/day of the category: spike days vs other days)")
            with pd.option_context("display.width", 160, "display.float_format", "{:.1f}".format):
                print(lift.drop(columns=["holiday_code"]).to_string(index=False))

    print(f"\nbacktest {m['backtest_seconds']:.1f} s, final fit {m['final_fit_seconds']:.1f} s "
          f"({int(m['final_train_rows']):,} rows), train_and_evaluate in all {total:.1f} s")


def side_by_side(m: dict) -> None:
    """GBT, LSTM and seasonal naive on the same backtest (metrics of `--model compare`)."""
    print("\nsame folds, same actuals        GBT WAPE   bias |  LSTM WAPE   bias | naive WAPE   bias")
    rows = (("overall (series x day)", "", ""), ("holiday periods", "holiday_", "holiday_"),
            ("other days", "non_holiday_", "non_holiday_"), ("product x day", "product_day_", "product_day_"),
            ("category_l2 x day", "category_l2_day_", "category_l2_day_"))
    for label, prefix, base in rows:
        print(f"{label:<30} {_fmt(m.get('gbt_' + prefix + 'wape'))} {_fmt(m.get('gbt_' + prefix + 'bias'))} | "
              f" {_fmt(m.get('lstm_' + prefix + 'wape'))} {_fmt(m.get('lstm_' + prefix + 'bias'))} | "
              f"{_fmt(m.get(base + 'baseline_wape'))} {_fmt(m.get(base + 'baseline_bias'))}")
    folds = sorted({k[len("gbt_fold"):-len("_wape")] for k in m if k.startswith("gbt_fold") and k.endswith("_wape")})
    for fold in folds:
        print(f"{'fold ' + fold:<30} {_fmt(m.get(f'gbt_fold{fold}_wape'))}        | "
              f" {_fmt(m.get(f'lstm_fold{fold}_wape'))}        | {_fmt(m.get(f'fold{fold}_baseline_wape'))}")
    print(f"{'train seconds (all folds)':<30} {m['gbt_train_seconds']:6.1f}        |  {m['lstm_train_seconds']:6.1f}")
    print(f"shipped: {'LSTM' if m['shipped_lstm'] else 'GBT'} (the lower overall WAPE)\n")


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    import logging

    logging.basicConfig(format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("models.demand.spec").setLevel(logging.INFO)  # the compare figures as soon as known
    os.environ["HABITLAKE_HOME"] = args.home
    os.environ.setdefault("HABITLAKE_SPARK_MASTER", "local[2]")
    os.environ.setdefault("HABITLAKE_SHUFFLE_PARTITIONS", "2")
    from habitlake import catalog
    from habitlake.settings import Settings
    from habitlake.spark import get_spark
    from jobs.gold.asof import AsOf
    from models.demand import spec
    from models.framework import ScoreContext, TrainContext

    settings = Settings.from_env()
    started = time.perf_counter()
    spark = get_spark(settings, app_name="bench-train-demand")
    print(f"spark start-up {time.perf_counter() - started:.1f} s")
    day = dt.date.fromisoformat(args.date) if args.date else \
        catalog.read(spark, settings, "silver.orders").agg({"order_date": "max"}).first()[0]
    params = {"n_folds": args.folds, "step_days": args.step, "model": args.model}
    print(f"root {args.home}, cutoff {day}, {args.folds} folds {args.step} days apart, horizon 14, "
          f"model {args.model}")

    started = time.perf_counter()
    result = spec.train_and_evaluate(TrainContext(spark, settings, day, params=params))
    report(result, settings, time.perf_counter() - started)
    if args.score:
        started = time.perf_counter()
        out = spec.score(ScoreContext(spark, settings, AsOf(spark, settings, day)), result.model)
        counts = {name: df.count() for name, df in out.items()}
        print(f"score: {counts} in {time.perf_counter() - started:.1f} s")
    spark.stop()


if __name__ == "__main__":
    main()
