"""Every notebook in notebooks/ runs top to bottom, on the generated `world`, in a real Jupyter kernel.

The kernel is the venv's own Python (a kernelspec written for this run whose argv is
`sys.executable -m ipykernel_launcher`, so no Jupyter installed elsewhere can be picked up), executed
with nbclient. Its environment points habitlake at the world's root and metastore port
(`world.settings`), so notebooks read the world's real tables with `Settings.from_env()`; Spark in
the kernel runs with the test sizes. The metastore server the kernel starts is stopped afterwards.

New notebooks are picked up by the glob. A notebook must not hard-code where the lakehouse is.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from habitlake import metastore
from habitlake.settings import PROJECT_DIR

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "habitlake-venv"
CELL_TIMEOUT_S = 300
# a notebook must find the lakehouse through the environment, never by a literal path
HARD_CODED = re.compile(r"(/work/|/home/|/tmp/|\.habitlake\b|HABITLAKE_HOME\s*=|os\.environ\[[^]]+\]\s*=)")

pytestmark = pytest.mark.spark


def kernel_spec_dir(base: Path) -> Path:
    """A kernelspec folder whose kernel is this interpreter (the venv's Python)."""
    folder = base / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "habitlake (venv)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec))
    return base / "kernels"


def world_env(settings) -> dict[str, str]:
    """The kernel's environment: this process's, pointed at the world's root and metastore."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HABITLAKE_", "MLFLOW_"))}
    env.update({
        "HABITLAKE_HOME": settings.root,
        "HABITLAKE_METASTORE_PORT": str(settings.metastore_port),
        "HABITLAKE_SPARK_MASTER": "local[2]",
        "HABITLAKE_SHUFFLE_PARTITIONS": "2",
        "HABITLAKE_DRIVER_MEMORY": "1g",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(PROJECT_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    return env


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Path:
    return kernel_spec_dir(tmp_path_factory.mktemp("jupyter"))


def test_notebooks_exist():
    names = [p.name for p in NOTEBOOKS]
    assert "01_customer_360_and_habits.ipynb" in names and "02_segments.ipynb" in names, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_hard_coded_paths(path: Path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for n, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            found = HARD_CODED.search(cell.source)
            assert found is None, f"{path.name} cell {n}: hard-coded location {found.group(0)!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, world, kernels):
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    assert km.kernel_spec.argv[0] == sys.executable
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(PROJECT_DIR)}})
    started = time.perf_counter()
    try:
        client.execute(env=world_env(world.settings))  # raises CellExecutionError on the first failing cell
    finally:
        metastore.stop(world.settings)
    seconds = time.perf_counter() - started
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "not every code cell ran"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    print(f"{path.name}: {len(code)} code cells in {seconds:.1f} s")
