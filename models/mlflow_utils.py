"""MLflow plumbing for the model runner: store set-up, logging a model by flavor, loading it back.

Only `models/runner.py` (and `habitlake mlflow ui`) use this module; model packages never import
MLflow. The tracking store and the model registry are the same database,
`Settings.mlflow_tracking_uri` (`sqlite:///<state>/mlflow/mlflow.db` unless MLFLOW_TRACKING_URI is
set); artifacts of a local store live next to it in `<state>/mlflow/artifacts/<experiment>/`.

Flavors (`TrainResult.flavor`) and what `score` / `champion_metric` get back when the runner loads
a logged model:

| flavor   | logged with                            | loaded back as                                       |
|----------|----------------------------------------|------------------------------------------------------|
| spark    | `mlflow.spark.log_model`               | the same Spark ML model class that was trained (MLflow |
|          |                                        | wraps a single model in a PipelineModel; the runner unwraps it) |
| sklearn  | `mlflow.sklearn.log_model`             | the fitted scikit-learn estimator                    |
| pyfunc   | `mlflow.pyfunc.log_model`: a `PythonModel` | the `PythonModel` itself; any other picklable object |
|          | as is, any other object wrapped        | (e.g. a dataclass of rules) comes back unwrapped     |
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from habitlake.settings import Settings

FLAVORS = ("spark", "sklearn", "pyfunc")
MODEL_ARTIFACT = "model"  # run-relative artifact path of the logged model

# tags the runner writes on runs and model versions
TAG_MODEL = "habitlake.model"
TAG_CUTOFF = "habitlake.cutoff"
TAG_SEED = "habitlake.seed"
TAG_FINGERPRINT = "habitlake.eval_fingerprint"
TAG_PRIMARY = "habitlake.primary_metric"
TAG_HIGHER = "habitlake.higher_is_better"
TAG_FLAVOR = "habitlake.flavor"
TAG_CLASS = "habitlake.model_class"
TAG_DECISION = "habitlake.decision"  # promoted | kept
TAG_REASON = "habitlake.decision_reason"
TAG_NEW_VALUE = "habitlake.challenger_metric"
TAG_CHAMPION_VALUE = "habitlake.champion_metric"
TAG_CHAMPION_VERSION = "habitlake.champion_version"


def artifact_root(settings: Settings) -> Path:
    return Path(settings.state_dir) / "mlflow" / "artifacts"


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def uses_local_store(settings: Settings) -> bool:
    """True when the tracking store is a local file (sqlite), so artifacts go under the state dir."""
    return _sqlite_path(settings.mlflow_tracking_uri) is not None


def configure(settings: Settings):
    """Point MLflow (tracking and registry) at the settings' store, once per entry point; returns
    an `MlflowClient` on it."""
    import mlflow
    from mlflow import MlflowClient

    uri = settings.mlflow_tracking_uri
    db = _sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
        artifact_root(settings).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client, settings: Settings, name: str) -> str:
    """The experiment `name`, created on first use (artifacts under the state dir for a local store)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = (artifact_root(settings) / name).as_uri() if uses_local_store(settings) else None
    return client.create_experiment(name, artifact_location=location)


def flat_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested params as `a.b` keys with string values (MLflow params are strings)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(value)[:6000]
    return out


def clean_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Metrics as floats; MLflow keeps NaN, but a NaN can never win a promotion."""
    return {str(k): float(v) for k, v in metrics.items()}


def is_better(new: float, old: float, higher_is_better: bool) -> bool:
    """Strictly better (a tie keeps the champion); NaN is never better, anything beats a NaN."""
    if math.isnan(new):
        return False
    if math.isnan(old):
        return True
    return new > old if higher_is_better else new < old


# --- signatures ---------------------------------------------------------------------------------

def _spark_output(model, example, spark):
    """The `prediction` column the Spark model gives for the example (what pyfunc serves)."""
    out = model.transform(spark.createDataFrame(example))
    return out.select("prediction").toPandas() if "prediction" in out.columns else None


def signature_for(result, spark) -> Any:
    """Model signature inferred from the input example and, where possible, the model's output on
    it; None when there is no example."""
    from mlflow.models import infer_signature

    example = result.input_example
    if example is None:
        return None
    output = None
    try:
        if result.flavor == "spark":
            output = _spark_output(result.model, example, spark)
        elif hasattr(result.model, "predict"):
            output = result.model.predict(example)
    except Exception:  # noqa: BLE001 - a model whose output cannot be computed on the example
        output = None
    try:
        return infer_signature(example, output)
    except Exception:  # noqa: BLE001 - output of an unsupported type: describe the inputs only
        return infer_signature(example)


# --- logging and loading by flavor --------------------------------------------------------------

def _pickled_model_class():
    import mlflow.pyfunc

    class PickledModel(mlflow.pyfunc.PythonModel):
        """Any picklable Python object as an MLflow pyfunc model; `predict` delegates to the
        object's own `predict` when it has one."""

        def __init__(self, obj):
            self.obj = obj

        def predict(self, context, model_input, params=None):
            if not hasattr(self.obj, "predict"):
                raise NotImplementedError(f"{type(self.obj).__name__} has no predict(); load it with the runner")
            return self.obj.predict(model_input)

    return PickledModel


# What a logged model needs to load, pinned to the versions installed here. Given explicitly: by
# default MLflow infers it by loading the model in a fresh Python process (and, for Spark, a fresh
# JVM), which costs minutes on a busy laptop. Loading models also needs this project on the path.
REQUIREMENTS = {
    "spark": ("mlflow", "pyspark", "pandas", "numpy"),
    "sklearn": ("mlflow", "scikit-learn", "cloudpickle", "pandas", "numpy"),
    "pyfunc": ("mlflow", "cloudpickle", "pandas", "numpy", "pyspark", "scikit-learn"),
}


def pip_requirements(flavor: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The flavor's packages and `extra` ones, pinned to the installed versions. A flavor package
    not installed here is left out; an `extra` one (the model needs it to load) must be installed."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for package in REQUIREMENTS[flavor] + tuple(p for p in extra if p not in REQUIREMENTS[flavor]):
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            if package in extra:
                raise ValueError(f"the model needs {package} to load, but it is not installed") from None
    return pins


def log_model(result, signature) -> Any:
    """Log `result.model` in its flavor under the active run; returns MLflow's ModelInfo."""
    import mlflow

    if result.flavor not in FLAVORS:
        raise ValueError(f"unknown flavor {result.flavor!r}; known: {', '.join(FLAVORS)}")
    common = {"signature": signature, "input_example": result.input_example,
              "pip_requirements": pip_requirements(result.flavor, result.requirements)}
    if result.flavor == "spark":
        import mlflow.spark

        return mlflow.spark.log_model(result.model, MODEL_ARTIFACT, **common)
    if result.flavor == "sklearn":
        import mlflow.sklearn

        return mlflow.sklearn.log_model(result.model, name=MODEL_ARTIFACT, **common)
    import mlflow.pyfunc

    python_model = (result.model if isinstance(result.model, mlflow.pyfunc.PythonModel)
                    else _pickled_model_class()(result.model))
    return mlflow.pyfunc.log_model(name=MODEL_ARTIFACT, python_model=python_model, **common)


def load_model(uri: str, flavor: str, model_class: str = "") -> Any:
    """A logged model as its training code returned it (see the module docstring)."""
    if flavor == "spark":
        import mlflow.spark
        from pyspark.ml import PipelineModel

        model = mlflow.spark.load_model(uri)
        if model_class and model_class != "PipelineModel" and isinstance(model, PipelineModel) \
                and len(model.stages) == 1:
            return model.stages[0]
        return model
    if flavor == "sklearn":
        import mlflow.sklearn

        return mlflow.sklearn.load_model(uri)
    if flavor == "pyfunc":
        import mlflow.pyfunc

        python_model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
        return getattr(python_model, "obj", python_model) if type(python_model).__name__ == "PickledModel" \
            else python_model
    raise ValueError(f"unknown flavor {flavor!r}; known: {', '.join(FLAVORS)}")


def log_figures(figures: dict[str, Any]) -> None:
    """Each matplotlib figure as a PNG under `figures/` of the active run (then closed)."""
    import matplotlib.pyplot as plt
    import mlflow

    for name, fig in figures.items():
        file = name if name.lower().endswith(".png") else f"{name}.png"
        mlflow.log_figure(fig, f"figures/{file}")
        plt.close(fig)


def log_tables(tables: dict[str, Any]) -> None:
    """Each pandas DataFrame under `tables/`: `.json` as an MLflow table (shown in the UI), other
    names as CSV."""
    import mlflow

    for name, df in tables.items():
        if name.lower().endswith(".json"):
            mlflow.log_table(data=df, artifact_file=f"tables/{name}")
        else:
            file = name if name.lower().endswith(".csv") else f"{name}.csv"
            mlflow.log_text(df.to_csv(index=False), f"tables/{file}")


# --- the UI -------------------------------------------------------------------------------------

def ui_command(settings: Settings, host: str, port: int) -> list[str]:
    """`mlflow server` on the settings' store (one worker, no job runner: a laptop UI)."""
    import sys

    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", settings.mlflow_tracking_uri,
           "--host", host, "--port", str(port), "--workers", "1"]
    if uses_local_store(settings):
        cmd += ["--default-artifact-root", artifact_root(settings).as_uri()]
    return cmd
