"""Launch one pipeline step (`habitlake <step> --date D`) the way the settings say: the one thing a
DAG task does. Light at import (no pyspark), so DAG files can import it.

| variable                  | default        | meaning                                                     |
|---------------------------|----------------|-------------------------------------------------------------|
| HABITLAKE_RUNNER          | local          | `local`: run the step in the task's own process (a Spark    |
|                           |                | session per task, i.e. per layer); `subprocess`: a fresh    |
|                           |                | `python -m habitlake.cli` per step; `spark-submit`: submit  |
|                           |                | the step to the cluster of HABITLAKE_SPARK_MASTER;          |
|                           |                | `driver`: send it to the long-lived driver of the root      |
|                           |                | (`habitlake driver start`, habitlake/driver.py: a warm      |
|                           |                | session; in this process when no driver answers)            |
| HABITLAKE_SPARK_SUBMIT    | the venv's     | the spark-submit executable                                  |
|                           | spark-submit   |                                                             |
| HABITLAKE_DEPLOY_MODE     | client         | spark-submit --deploy-mode                                   |
| HABITLAKE_SUBMIT_ARGS     | (none)         | extra spark-submit arguments, shell-quoted                   |
|                           |                | (e.g. `--executor-memory 8g --num-executors 20`)             |

Every runner runs the same code: the CLI's command for the step. spark-submit runs this file as its
application (`python launch.py <step> --date D` = `habitlake <step> --date D`), with the project's
packages zipped once per submit into `--py-files` for the executors, and every Spark setting of
`habitlake.spark.spark_conf` passed as `--conf`, so the driver gets the same session as locally.
Steps that need no Spark (data-check verification, publishing) always run in-process.

Also here: the DAGs' failure callback, which records each failed task as one JSON line in
`<state>/airflow/failures.jsonl`.
"""
from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import time
import zipfile
from collections import deque
from contextlib import contextmanager
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as spark-submit's application file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from habitlake.settings import PROJECT_DIR, Settings  # noqa: E402

RUNNERS = ("local", "subprocess", "spark-submit", "driver")
SPARK_STEPS = frozenset({"ingest", "silver", "gold", "score", "train", "sql", "audience", "export"})
PACKAGES = ("habitlake", "jobs", "models", "expectations")  # shipped to executors with --py-files
# settings spark-submit takes as its own options rather than --conf
SUBMIT_OPTIONS = {"spark.master": "--master", "spark.driver.memory": "--driver-memory"}
FAILURES_FILE = "failures.jsonl"
TAIL_LINES = 3  # lines of a failed step's output quoted in its error


class StepFailed(RuntimeError):
    """A launched step exited non-zero."""


def airflow_home(settings: Settings) -> Path:
    """Airflow's home (config, SQLite metadata DB, logs, failure records): <state>/airflow."""
    return settings.state_dir / "airflow"


def runner(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    name = env.get("HABITLAKE_RUNNER", "local")
    if name not in RUNNERS:
        raise ValueError(f"HABITLAKE_RUNNER={name!r}: choose one of {', '.join(RUNNERS)}")
    return name


def step_argv(step: str, day: str | None = None, *extra: str) -> list[str]:
    """The CLI arguments of a step: ['silver', '--date', '2025-03-01', ...]."""
    return [step, *(["--date", day] if day else []), *extra]


def available(step: str) -> bool:
    """True when `habitlake <step>` exists in this checkout (steps added by later milestones)."""
    from habitlake.cli import build_parser

    sub = next(a for a in build_parser()._subparsers._group_actions)  # noqa: SLF001 - argparse has no API
    return step in sub.choices


def spark_submit_command(settings: Settings, argv: Sequence[str], env: Mapping[str, str] | None = None,
                         py_files: str | None = None) -> list[str]:
    """spark-submit command line running `habitlake <argv>` on the cluster of the settings."""
    from habitlake.spark import spark_conf

    env = os.environ if env is None else env
    conf = spark_conf(settings)
    cmd = [env.get("HABITLAKE_SPARK_SUBMIT", str(Path(sys.executable).parent / "spark-submit")),
           "--master", settings.spark_master,
           "--deploy-mode", env.get("HABITLAKE_DEPLOY_MODE", "client"),
           "--name", f"habitlake-{argv[0]}",
           "--driver-memory", settings.driver_memory]
    if py_files:
        cmd += ["--py-files", py_files]
    for key, value in sorted(conf.items()):
        if key not in SUBMIT_OPTIONS:
            cmd += ["--conf", f"{key}={value}"]
    cmd += shlex.split(env.get("HABITLAKE_SUBMIT_ARGS", ""))
    return [*cmd, str(Path(__file__).resolve()), *argv]


def build_py_files(settings: Settings) -> str:
    """Zip the project's packages for the executors: <state>/airflow/habitlake-src.zip."""
    out = airflow_home(settings) / "habitlake-src.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in PACKAGES:
            for path in sorted((PROJECT_DIR / package).rglob("*.py")):
                zf.write(path, path.relative_to(PROJECT_DIR).as_posix())
    tmp.replace(out)
    return str(out)


def command(settings: Settings, argv: Sequence[str], env: Mapping[str, str] | None = None) -> list[str] | None:
    """The process to start for a step, or None when it runs in this process."""
    env = os.environ if env is None else env
    how = runner(env)
    if how in ("local", "driver") or argv[0] not in SPARK_STEPS:
        return None
    if how == "subprocess":
        return [sys.executable, "-m", "habitlake.cli", *argv]
    return spark_submit_command(settings, argv, env, py_files=build_py_files(settings))


def run(argv: Sequence[str], env: Mapping[str, str] | None = None, echo: Callable[[str], None] = print) -> float:
    """Run `habitlake <argv>` as the runner says; the seconds it took. A failure raises StepFailed,
    whose message ends with the last lines the step wrote."""
    env = dict(os.environ if env is None else env)
    settings = Settings.from_env(env)
    cmd = command(settings, argv, env)
    to_driver = runner(env) == "driver" and argv[0] in SPARK_STEPS
    t0 = time.monotonic()
    echo(f"habitlake {' '.join(argv)}  [runner: {runner(env) if cmd or to_driver else 'local'}]")
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    if cmd is None:
        rc = _in_driver(settings, argv, echo, tail) if to_driver else None
        if rc is None:
            with _environ(env):
                rc = in_process(argv, tail)
    else:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_DIR), env.get("PYTHONPATH")) if p)
        if "SPARK_HOME" not in env and "HABITLAKE_SPARK_SUBMIT" not in env:
            env["SPARK_HOME"] = _pyspark_home()  # the venv's spark-submit: the Spark that pyspark ships
        rc = _stream(cmd, env, echo, tail)
    seconds = time.monotonic() - t0
    if rc:
        said = " | ".join(line.strip() for line in tail if line.strip())
        raise StepFailed(f"habitlake {' '.join(argv)} exited with {rc} after {seconds:.1f}s: {said}")
    echo(f"habitlake {argv[0]} finished in {seconds:.1f}s")
    return seconds


def _in_driver(settings: Settings, argv: Sequence[str], echo: Callable[[str], None], tail: deque) -> int | None:
    """The step's exit code from the long-lived driver; None (and a note) when none answers."""
    from habitlake import driver

    rc = driver.submit(settings, argv, echo, tail)
    if rc is None:
        echo(f"no habitlake driver answers at {driver.socket_path(settings)}: the step runs in this process")
    return rc


def _pyspark_home() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    return str(Path(spec.origin).parent) if spec and spec.origin else ""


@contextmanager
def _environ(env: Mapping[str, str]):
    """os.environ as `env` for an in-process step (the CLI reads its settings from it)."""
    if env == os.environ:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _Tee(io.TextIOBase):
    """Writes through to a stream and keeps the last lines written."""

    def __init__(self, stream, tail: deque):
        self.stream, self.tail = stream, tail

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.tail.extend(line for line in text.splitlines() if line.strip())
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def in_process(argv: Sequence[str], tail: deque) -> int:
    from contextlib import redirect_stderr

    from habitlake.cli import main

    with redirect_stderr(_Tee(sys.stderr, tail)):
        try:
            return main(list(argv))
        except SystemExit as done:  # argparse errors and commands that exit
            if isinstance(done.code, str):
                print(done.code, file=sys.stderr)
                return 1
            return done.code or 0


def _stream(cmd: list[str], env: dict[str, str], echo: Callable[[str], None], tail: deque) -> int:
    """Run a process, passing its output line by line to the task log."""
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            echo(line.rstrip("\n"))
            tail.append(line)
        return proc.wait()


def step(name: str, day: str | None = None, *extra: str, optional: bool = False) -> str:
    """What a DAG task calls: run `habitlake <name> --date <day>`. An `optional` step whose command
    this checkout lacks is reported and skipped rather than failed."""
    if optional and not available(name):
        message = f"habitlake {name}: command not available in this checkout; step skipped"
        print(message)
        return message
    seconds = run(step_argv(name, day, *extra))
    return f"habitlake {name} {day or ''} ok in {seconds:.1f}s".replace("  ", " ")


# --- what the DAGs share ------------------------------------------------------------------------

def default_args(env: Mapping[str, str] | None = None) -> dict:
    """default_args of every habitlake DAG: retries (HABITLAKE_AIRFLOW_RETRIES, default 2) after
    HABITLAKE_AIRFLOW_RETRY_DELAY seconds (default 300), the failure record, a time limit."""
    from datetime import timedelta

    env = os.environ if env is None else env
    return {
        "owner": "habitlake",
        "retries": int(env.get("HABITLAKE_AIRFLOW_RETRIES", 2)),
        "retry_delay": timedelta(seconds=int(env.get("HABITLAKE_AIRFLOW_RETRY_DELAY", 300))),
        "execution_timeout": timedelta(hours=int(env.get("HABITLAKE_AIRFLOW_TASK_HOURS", 4))),
        "on_failure_callback": record_failure,
    }


def is_week_end(day: str) -> bool:
    """True for the last day of an ISO week (Sunday): the daily run that closes the week."""
    from datetime import date

    return date.fromisoformat(day).isoweekday() == 7


def score(day: str) -> str:
    """The daily scoring step: `habitlake score --date D --champions`, every model that has a
    champion. Before the first weekly training no model has one and the step is skipped, as it
    says; a model added since is left out until it has one."""
    return step("score", day, "--champions")


def training_cutoff(params: Mapping | None, events: Mapping | None) -> str | None:
    """Cutoff of a training run: the `cutoff` param when given, else the latest as-of date the
    triggering asset events carry (the week the daily DAG closed), else None (the runner's default:
    the latest order date in silver)."""
    if params and params.get("cutoff"):
        return str(params["cutoff"])
    dates = [str(e.extra["as_of"]) for evs in (events or {}).values() for e in evs
             if getattr(e, "extra", None) and e.extra.get("as_of")]
    return max(dates) if dates else None


def model_names() -> list[str]:
    """The models that can be trained in this checkout (their spec exists)."""
    from models import runner

    return [a.name for a in runner.discover() if a.spec is not None]


def models_to_train(params: Mapping | None) -> list[str]:
    """The models a training run trains: the `models` param's (in the order of `model_names()`), or
    every trainable model when it is empty or null. An unknown or untrainable name is an error."""
    known = model_names()
    wanted = list((params or {}).get("models") or [])
    if not wanted:
        return known
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(f"models param: {', '.join(map(repr, unknown))} cannot be trained; "
                         f"trainable: {', '.join(known)}")
    return [name for name in known if name in wanted]


def review_models(models: Sequence[str] | None = None) -> str:
    """After training: print the registry (`habitlake models`) and fail when a model of the run
    (default: every trainable model) has no champion."""
    from models import runner

    step("models")
    checked = set(models if models is not None else model_names())
    missing = [e.name for e in runner.registry(Settings.from_env()) if e.name in checked and not e.champion]
    if missing:
        raise StepFailed(f"no champion after training for: {', '.join(missing)}")
    return f"champions: {', '.join(sorted(checked))}"


# --- failure records ------------------------------------------------------------------------------

def failure_record(context: Mapping) -> dict:
    """One failed task as a plain dict (from an Airflow callback context)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    logical = context.get("logical_date") or getattr(dag_run, "logical_date", None)
    return {
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        "logical_date": logical.isoformat() if hasattr(logical, "isoformat") else logical,
        "try_number": getattr(ti, "try_number", None),
        "error": repr(context.get("exception")) if context.get("exception") is not None else None,
    }


def record_failure(context: Mapping) -> None:
    """Failure callback of every habitlake task: append the failure to <state>/airflow/failures.jsonl."""
    path = airflow_home(Settings.from_env()) / FAILURES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    record = failure_record(context)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    print(f"failure recorded in {path}: {record['dag_id']}.{record['task_id']} {record['run_id']}")


def read_failures(settings: Settings) -> list[dict]:
    path = airflow_home(settings) / FAILURES_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":  # spark-submit's application: the CLI
    from habitlake.cli import main

    sys.exit(main(sys.argv[1:]))
