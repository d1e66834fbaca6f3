"""What a logged model declares it needs to load: its flavor's packages and the model's own extras,
pinned to the versions installed here."""
from __future__ import annotations

from importlib.metadata import version

import pytest

from models.mlflow_utils import pip_requirements

pytestmark = pytest.mark.fast


def test_a_flavor_pins_its_packages_to_the_installed_versions():
    assert pip_requirements("sklearn") == [f"{p}=={version(p)}" for p in
                                           ("mlflow", "scikit-learn", "cloudpickle", "pandas", "numpy")]


def test_a_model_extra_is_added_once_and_pinned():
    pins = pip_requirements("pyfunc", ("pyyaml", "numpy"))
    assert pins[-1] == f"pyyaml=={version('pyyaml')}"
    assert sum(p.startswith("numpy==") for p in pins) == 1


def test_an_extra_the_model_needs_but_is_missing_is_an_error():
    with pytest.raises(ValueError, match="needs no-such-package-habitlake to load"):
        pip_requirements("pyfunc", ("no-such-package-habitlake",))
