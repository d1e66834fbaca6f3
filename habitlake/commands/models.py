"""`habitlake` commands for models: train, score, models, mlflow ui.

They are thin: `models/runner.py` does the work (and is the only code that talks to MLflow).
"""
from __future__ import annotations

import json
import sys

from habitlake.settings import Settings

UI_HOST, UI_PORT = "127.0.0.1", 5000
NO_CHAMPION = "no model has a champion yet (the weekly training promotes them): scoring skipped"


def _parse_params(pairs: list[str] | None) -> dict:
    """`--param key=value` pairs; values are read as YAML scalars (3 -> int, 0.5 -> float, true -> bool)."""
    import yaml

    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--param {pair!r}: expected KEY=VALUE")
        params[key.strip()] = yaml.safe_load(value)
    return params


def _available(names: list[str] | None):
    """Specs of the requested models (default: every known one); prints those not available.
    Exits with 2 for an unknown name, 1 when a model asked for by name is not available."""
    from models import runner

    try:
        found = runner.discover(names)
    except ValueError as unknown:
        print(f"habitlake: {unknown}", file=sys.stderr)
        raise SystemExit(2) from None
    missing = [a for a in found if a.spec is None]
    for a in missing:
        print(f"{a.name}: {a.reason}", file=sys.stderr)
    if names and missing:
        raise SystemExit(1)
    return [a.spec for a in found if a.spec is not None]


def _spark(settings: Settings, app: str):
    from habitlake.spark import get_spark

    return get_spark(settings, app_name=f"habitlake-{app}")


def cmd_train(args, settings: Settings) -> int:
    from models import runner

    specs = _available([args.model] if args.model else None)
    if not specs:
        print("no model is available to train")
        return 1
    spark = _spark(settings, "train")
    failed = []
    cutoff = args.cutoff or runner.default_cutoff(spark, settings)
    print(f"training {', '.join(s.name for s in specs)} as of {cutoff} (seed {args.seed}); "
          f"MLflow store {settings.mlflow_tracking_uri}")
    for spec in specs:
        try:
            runner.train(spark, settings, [spec], cutoff, args.seed, _parse_params(args.param))
        except Exception as error:  # noqa: BLE001 - one failing model must not stop the others
            import traceback

            traceback.print_exc()
            print(f"{spec.name}: FAILED: {error}", file=sys.stderr)
            failed.append(spec.name)
    return 1 if failed else 0


def cmd_score(args, settings: Settings) -> int:
    from models import runner

    specs = _available([args.model] if args.model else None)
    if not specs:
        print("no model is available to score")
        return 1
    if args.champions:  # the daily step: a model not promoted yet is not an error
        ready = {e.name for e in runner.registry(settings) if e.champion}
        waiting = [s.name for s in specs if s.name not in ready]
        specs = [s for s in specs if s.name in ready]
        if not specs:
            print(NO_CHAMPION)
            return 0
        if waiting:
            print(f"not scored, no champion yet: {', '.join(waiting)}")
    spark = _spark(settings, "score")
    failed = []
    print(f"scoring {', '.join(s.name for s in specs)} as of {args.date}")
    for spec in specs:
        try:
            runner.score(spark, settings, [spec], args.date, _parse_params(args.param))
        except LookupError as no_champion:
            print(f"{spec.name}: {no_champion}", file=sys.stderr)
            failed.append(spec.name)
        except Exception as error:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            print(f"{spec.name}: FAILED: {error}", file=sys.stderr)
            failed.append(spec.name)
    return 1 if failed else 0


def _metric(info: dict | None) -> str:
    if not info:
        return ""
    value = info["metrics"].get(info["primary_metric"])
    return f"{info['primary_metric']}={value:.6g}" if value is not None else ""


def cmd_models(args, settings: Settings) -> int:
    from models import runner

    entries = runner.registry(settings)
    if args.format == "json":
        print(json.dumps([e.as_dict() for e in entries], indent=2, ensure_ascii=False))
        return 0
    from tabulate import tabulate

    rows = [(e.name, e.status, e.versions or "",
             f"v{e.champion['version']}" if e.champion else "", _metric(e.champion),
             f"v{e.challenger['version']}" if e.challenger else "", _metric(e.challenger))
            for e in entries]
    print(tabulate(rows, headers=["model", "status", "versions", "champion", "metric", "challenger", "metric"]))
    print(f"MLflow store: {settings.mlflow_tracking_uri}")
    return 0


def cmd_mlflow(args, settings: Settings) -> int:
    """Replace this process with the MLflow UI server on the habitlake store (Ctrl-C stops it)."""
    import os

    from models import mlflow_utils

    mlflow_utils.configure(settings)  # creates the store folders
    cmd = mlflow_utils.ui_command(settings, args.host, args.port)
    print(f"MLflow UI on http://{args.host}:{args.port} (store {settings.mlflow_tracking_uri}); Ctrl-C stops it",
          flush=True)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    os.execve(cmd[0], cmd, env)
    return 0  # not reached


def register(sub) -> None:
    """Add this group's subcommands to the parser's subparsers `sub`."""
    known = "segmentation, churn, recommend, basket, demand, price_sensitivity"

    p = sub.add_parser("train", help="train, evaluate, log to MLflow and register the models",
                       description="Train each model (or MODEL) on data up to --cutoff, evaluate it on held-out "
                                   "data, log params, metrics, plots and the model to its MLflow experiment and "
                                   "register a new version: it becomes 'challenger', and 'champion' only if it "
                                   f"beats the champion on the same evaluation data. Models: {known}.")
    p.add_argument("model", nargs="?", help="one model (default: every available model)")
    p.add_argument("--cutoff", help="features use data up to this date, YYYY-MM-DD "
                                    "(default: the latest order date in silver.orders)")
    p.add_argument("--seed", type=int, default=42, help="random seed; same seed and data, same metrics (default %(default)s)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="override a model parameter (repeatable)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("score", help="score the champion models as of a date into their gold tables",
                       description="Load models:/habitlake_<name>@champion for each model (or MODEL) and write "
                                   "its predictions as of --date to its gold tables (replacing that date's slice), "
                                   "tagged with model_name and model_version; one row per model in gold.model_scores.")
    p.add_argument("model", nargs="?", help="one model (default: every available model)")
    p.add_argument("--date", required=True, help="as-of date YYYY-MM-DD")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="scoring parameter (repeatable)")
    p.add_argument("--champions", action="store_true",
                   help="only the models that have a champion (the daily step); none is not an error")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("models", help="list the registered models with champion and challenger metrics")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("mlflow", help="the MLflow UI on habitlake's tracking store")
    p.add_argument("action", choices=["ui"], help="ui: start the MLflow web UI (Ctrl-C stops it)")
    p.add_argument("--port", type=int, default=UI_PORT, help="port (default %(default)s)")
    p.add_argument("--host", default=UI_HOST, help="interface to listen on (default %(default)s)")
    p.set_defaults(func=cmd_mlflow)
