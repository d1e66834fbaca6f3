"""One session-scoped Spark session for the whole suite, on a throw-away habitlake root.

Tests that use the `spark` fixture are marked `spark`; the rest are marked `fast` automatically, so
`pytest -m fast` runs everything that needs no JVM.
"""
from __future__ import annotations

import os
import socket

import pytest

from habitlake import jars, metastore
from habitlake.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        "HABITLAKE_METASTORE_PORT": str(_free_port()),
        "HABITLAKE_SPARK_MASTER": "local[2]",
        "HABITLAKE_SHUFFLE_PARTITIONS": "2",
        "HABITLAKE_DRIVER_MEMORY": "2g",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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
