"""One session-scoped Spark session for the whole suite, on a throw-away habitlake root.

Tests that use the `spark` fixture are marked `spark`; the rest are marked `fast` automatically, so
`pytest -m fast` runs everything that needs no JVM.
"""
from __future__ import annotations

import os

import pytest

from habitlake import jars, metastore
from habitlake.net import free_port
from habitlake.settings import Settings


def pytest_collection_modifyitems(items):
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()) or item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.spark)
        elif not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.fast)


@pytest.fixture(scope="session")
def test_env(tmp_path_factory) -> dict[str, str]:
    """Environment of the test lakehouse; also exported so subprocesses (the CLI) share it."""
    root = tmp_path_factory.mktemp("habitlake_home")
    env = {
        "HABITLAKE_HOME": str(root),
        "HABITLAKE_METASTORE_PORT": str(free_port()),
        "HABITLAKE_SPARK_MASTER": "local[2]",
        "HABITLAKE_SHUFFLE_PARTITIONS": "2",
        # 3g: one session serves the whole suite (model tests fit ALS, GBT and FP-growth in it).
        "HABITLAKE_DRIVER_MEMORY": "3g",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True, scope="module")
def _release_cached_frames():
    """Unpersist what a test module cached in the shared session, so frames cached by earlier
    modules (models keep their evaluation sets cached) cannot starve later ones of driver memory."""
    yield
    import sys

    if "pyspark.sql" in sys.modules:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.catalog.clearCache()


@pytest.fixture(scope="session")
def settings(test_env) -> Settings:
    return Settings.from_env(test_env)


@pytest.fixture(scope="session")
def spark(settings):
    from habitlake.spark import get_spark

    jars.resolve(settings.jar_dir)
    session = get_spark(settings, app_name="habitlake-tests")
    yield session
    session.stop()
    metastore.stop(settings)


# --- one generated retailer, through every layer, for tests against the planted truth -------------

WORLD = {"customers": 600, "days": 150, "start": "2025-01-01", "seed": 7}
WORLD_LAST = "2025-05-30"  # the generated window's last day
WORLD_MID = "2025-04-30"  # an earlier as-of date (tier history and migration need two months)


# Inputs that decide the world's contents: same inputs, same world (generation, silver and gold are
# deterministic). A world built once is kept under .cache/test-world/<hash> and copied for later
# runs in this working copy; a fresh clone (CI) has no cache and builds it. HABITLAKE_TEST_WORLD_CACHE=0
# turns the cache off.
WORLD_INPUTS = ("jobs", "expectations", "conf/landing.yaml", "conf/silver.yaml", "conf/gold.yaml",
                "conf/tags.yaml", "conf/tiers", "conf/tables.yaml", "habitlake/settings.py",
                "habitlake/catalog.py", "habitlake/contract.py", "habitlake/pii.py", "habitlake/fs.py")


def _world_key() -> str:
    import hashlib
    from pathlib import Path

    project = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(repr((WORLD, WORLD_MID, WORLD_LAST)).encode())
    for name in WORLD_INPUTS:
        path = project / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            if f.is_file() and f.suffix in (".py", ".yaml", ".yml", ".json") and "__pycache__" not in f.parts:
                digest.update(str(f.relative_to(project)).encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def world(tmp_path_factory, spark):
    """A generated retailer (600 customers x 150 days, seed 7) taken through landing, bronze,
    silver and gold by the `habitlake` CLI, as a user would, in its own root and metastore (so it
    never mixes with the tables other tests write). Tests read its tables by path with the
    session's Spark: `catalog.read(spark, world.settings, "gold.customer_profile")`.
    """
    import subprocess
    import sys
    from dataclasses import dataclass
    import shutil
    from pathlib import Path

    root = tmp_path_factory.mktemp("world")
    env = {**os.environ, "HABITLAKE_HOME": str(root), "HABITLAKE_METASTORE_PORT": str(free_port())}
    habitlake = [sys.executable, "-m", "habitlake.cli"]
    cache = None
    if os.environ.get("HABITLAKE_TEST_WORLD_CACHE", "1") != "0":
        cache = Path(__file__).resolve().parents[1] / ".cache" / "test-world" / _world_key()
    w = WORLD
    steps = [
        ["generate", "--customers", str(w["customers"]), "--days", str(w["days"]), "--start", w["start"],
         "--seed", str(w["seed"]), "--quiet"],
        ["ingest", "--date", w["start"], "--to", WORLD_LAST],
        ["silver", "--date", w["start"], "--to", WORLD_LAST],
        ["gold", "--date", WORLD_MID, "--table", "customer_profile", "--no-checks"],
        ["gold", "--date", WORLD_LAST],
    ]
    if cache is not None and (cache / "DONE").exists():  # the same world, built earlier: copy it
        for item in cache.iterdir():
            if item.name != "DONE":
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, root / item.name)
        steps = [["metastore", "register"]]  # a new metastore names the copied tables
    world_settings = Settings.from_env(env)
    try:
        for step in steps:
            done = subprocess.run(habitlake + step, env=env, capture_output=True, text=True, timeout=1800)
            assert done.returncode == 0, f"habitlake {' '.join(step)} failed:\n{done.stdout}\n{done.stderr}"
    finally:
        metastore.stop(world_settings)
    if cache is not None and not (cache / "DONE").exists():
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")  # several test runs may build at once
        shutil.copytree(root, tmp, ignore=shutil.ignore_patterns("metastore", "airflow", "mlflow", "bi"))
        (tmp / "DONE").write_text("built by tests/conftest.py world fixture\n")
        try:
            tmp.rename(cache)  # atomic; fails if another run got there first
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)

    @dataclass(frozen=True)
    class World:
        settings: Settings
        truth: Path
        last: str
        mid: str

    return World(world_settings, Path(world_settings.truth), WORLD_LAST, WORLD_MID)
