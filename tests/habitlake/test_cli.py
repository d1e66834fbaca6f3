import subprocess
import sys
from pathlib import Path

import pytest

from habitlake.cli import build_parser, format_rows

CLI = str(Path(sys.executable).parent / "habitlake")
SUBCOMMANDS = ["setup", "generate", "ingest", "stream", "silver", "gold", "audience", "export", "sql", "metastore",
               "demo", "train", "score", "models", "mlflow", "airflow", "checks", "publish", "bi", "cockpit", "report",
               "driver"]


def test_the_parser_has_exactly_these_subcommands():
    import argparse

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == sorted(SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert f"usage: habitlake {command}" in capsys.readouterr().out


def test_console_script_is_installed():
    out = subprocess.run([CLI, "--help"], capture_output=True, text=True, check=True).stdout
    for command in SUBCOMMANDS:
        assert command in out


def test_format_rows_in_each_format():
    cols, rows = ["tier", "customers"], [["Gold", 12], ["白银", None]]
    assert format_rows(cols, rows, "csv") == "tier,customers\nGold,12\n白银,"
    assert format_rows(cols, rows, "json") == '{"tier": "Gold", "customers": 12}\n{"tier": "白银", "customers": null}'
    table = format_rows(cols, rows, "table").splitlines()
    assert table[1].split("|")[1:3] == [" tier   ", " customers   "]
    assert [c.strip() for c in table[3].split("|")[1:3]] == ["Gold", "12"]


def test_sql_prints_query_result_as_csv(spark):
    out = subprocess.run([CLI, "sql", "SELECT 6 * 7 AS answer, 'ok' AS status", "--format", "csv"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines() == ["answer,status", "42,ok"]
