"""Benchmark harness: `python -m bench <name>` prints figures; nothing here asserts speed."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from habitlake.net import free_port


@contextlib.contextmanager
def scratch_root(keep: str | None = None) -> Iterator[str]:
    """A habitlake root for one benchmark (exported as HABITLAKE_HOME, with its own metastore
    port); its metastore is stopped afterwards and the folder deleted unless `keep` names it."""
    root = keep or tempfile.mkdtemp(prefix="habitlake_bench_")
    os.environ.update({"HABITLAKE_HOME": root, "HABITLAKE_METASTORE_PORT": str(free_port())})
    try:
        yield root
    finally:
        from habitlake import metastore
        from habitlake.settings import Settings

        metastore.stop(Settings.from_env())
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
