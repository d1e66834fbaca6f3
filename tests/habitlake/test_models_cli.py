"""The model commands' argument handling (no Spark, no MLflow store): the runs themselves are
tested in tests/models/test_runner.py."""
from __future__ import annotations

import subprocess
import sys

import pytest

from habitlake.cli import build_parser
from habitlake.commands.models import _parse_params

HABITLAKE = [sys.executable, "-m", "habitlake.cli"]


@pytest.mark.parametrize("argv", [["train", "--help"], ["score", "--help"], ["models", "--help"],
                                  ["mlflow", "ui", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(argv)
    assert done.value.code == 0
    assert "usage: habitlake " + argv[0] in capsys.readouterr().out


def test_arguments_and_defaults():
    args = build_parser().parse_args(["train", "churn", "--cutoff", "2025-05-30", "--param", "k=5"])
    assert (args.model, args.cutoff, args.seed, args.param) == ("churn", "2025-05-30", 42, ["k=5"])
    args = build_parser().parse_args(["mlflow", "ui"])
    assert (args.action, args.host, args.port) == ("ui", "127.0.0.1", 5000)
    args = build_parser().parse_args(["score", "--date", "2025-05-30"])
    assert (args.model, args.date) == (None, "2025-05-30")


def test_params_are_yaml_scalars():
    assert _parse_params(["threshold=0.8", "k=5", "name=west", "flag=true"]) == {
        "threshold": 0.8, "k": 5, "name": "west", "flag": True}
    with pytest.raises(SystemExit, match="expected KEY=VALUE"):
        _parse_params(["threshold"])


def test_unknown_model_exits_2_before_spark(tmp_path):
    done = subprocess.run(HABITLAKE + ["train", "no_such_model"], capture_output=True, text=True, timeout=120,
                          env={"HABITLAKE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.strip() == ("habitlake: unknown model(s) no_such_model; known: segmentation, churn, "
                                   "recommend, basket, demand, price_sensitivity")
