"""Settings: one root for everything a run writes, overridable by environment variables.

Read once at an entry point (CLI, DAG task, test fixture) with `Settings.from_env()` and passed down;
jobs never read the environment themselves.

| variable                       | default                                  | meaning                               |
|--------------------------------|------------------------------------------|---------------------------------------|
| HABITLAKE_HOME                 | <project>/.habitlake                     | root of landing, lake, truth; a local |
|                                |                                          | folder or any Hadoop URI (s3a://...)  |
| HABITLAKE_STATE                | HABITLAKE_HOME if local, else            | local services' files: metastore DB,  |
|                                | ~/.habitlake-state                       | MLflow store, Airflow home, logs      |
| HABITLAKE_LANDING              | <root>/landing                           | where source systems drop files       |
| HABITLAKE_SPARK_MASTER         | local[*]                                 | Spark master URL                      |
| HABITLAKE_SHUFFLE_PARTITIONS   | 8                                        | spark.sql.shuffle.partitions          |
| HABITLAKE_DRIVER_MEMORY        | 4g                                       | spark.driver.memory                   |
| HABITLAKE_SPARK_UI             | 0                                        | 1 to start the Spark web UI           |
| HABITLAKE_METASTORE_URL        | Derby network server on 127.0.0.1        | JDBC URL of the metastore DB, or      |
|                                | (database under the state folder)        | thrift://host:9083 for a Hive         |
|                                |                                          | metastore service                     |
| HABITLAKE_METASTORE_DRIVER     | org.apache.derby.jdbc.ClientDriver       | JDBC driver class for a JDBC URL      |
| HABITLAKE_METASTORE_PORT       | 1527                                     | port of the embedded Derby server     |
| HABITLAKE_JARS                 | <project>/.cache/jars                    | the resolved jar cache                |
| MLFLOW_TRACKING_URI            | sqlite:///<state>/mlflow/mlflow.db       | MLflow tracking store                 |
| HABITLAKE_TIMEZONE             | Asia/Shanghai (or <state>/retailer.yaml)  | the retailer's local time zone        |
| HABITLAKE_CURRENCY             | CNY (or <state>/retailer.yaml)            | the retailer's currency               |

Currency and time zone are per retailer: `habitlake ingest --mapping FILE` records the mapping's
`retailer:` block in `<state>/retailer.yaml`, which later runs on that root read as their defaults.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONF_DIR_NAME = "conf"
DEFAULT_ROOT = PROJECT_DIR / ".habitlake"
DEFAULT_JARS = PROJECT_DIR / ".cache" / "jars"
DEFAULT_METASTORE_PORT = 1527
DERBY_CLIENT_DRIVER = "org.apache.derby.jdbc.ClientDriver"


def is_local(uri: str) -> bool:
    """True for a plain path or a file: URI; False for s3a://, abfss://, hdfs:// ..."""
    return "://" not in uri or uri.startswith("file://")


def local_path(uri: str) -> Path:
    """A local URI as a Path (file:///x -> /x)."""
    return Path(uri[len("file://"):] if uri.startswith("file://") else uri)


def join(root: str, *parts: str) -> str:
    """Join path parts onto a local path or a URI with '/'."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


@dataclass(frozen=True)
class Settings:
    root: str
    state_dir: Path
    landing: str
    spark_master: str = "local[*]"
    shuffle_partitions: int = 8
    driver_memory: str = "4g"
    spark_ui: bool = False
    metastore_url: str = ""
    metastore_driver: str = DERBY_CLIENT_DRIVER
    metastore_port: int = DEFAULT_METASTORE_PORT
    jar_dir: Path = DEFAULT_JARS
    mlflow_tracking_uri: str = ""
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    extra_spark_conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        root = env.get("HABITLAKE_HOME", str(DEFAULT_ROOT)).rstrip("/")
        if is_local(root):
            root = str(local_path(root).resolve())
        default_state = Path(root) if is_local(root) else Path.home() / ".habitlake-state"
        state_dir = Path(env.get("HABITLAKE_STATE", str(default_state))).resolve()
        port = int(env.get("HABITLAKE_METASTORE_PORT", DEFAULT_METASTORE_PORT))
        retailer = read_retailer(state_dir)
        return cls(
            root=root,
            state_dir=state_dir,
            landing=env.get("HABITLAKE_LANDING", join(root, "landing")),
            spark_master=env.get("HABITLAKE_SPARK_MASTER", "local[*]"),
            shuffle_partitions=int(env.get("HABITLAKE_SHUFFLE_PARTITIONS", 8)),
            driver_memory=env.get("HABITLAKE_DRIVER_MEMORY", "4g"),
            spark_ui=env.get("HABITLAKE_SPARK_UI", "0") == "1",
            metastore_url=env.get("HABITLAKE_METASTORE_URL", derby_url(state_dir, port)),
            metastore_driver=env.get("HABITLAKE_METASTORE_DRIVER", DERBY_CLIENT_DRIVER),
            metastore_port=port,
            jar_dir=Path(env.get("HABITLAKE_JARS", str(DEFAULT_JARS))),
            mlflow_tracking_uri=env.get(
                "MLFLOW_TRACKING_URI", f"sqlite:///{state_dir / 'mlflow' / 'mlflow.db'}"
            ),
            timezone=env.get("HABITLAKE_TIMEZONE", retailer.get("timezone", "Asia/Shanghai")),
            currency=env.get("HABITLAKE_CURRENCY", retailer.get("currency", "CNY")),
        )

    def with_overrides(self, **changes: object) -> "Settings":
        return replace(self, **changes)

    # Everything a run writes is built from the root.
    @property
    def lake(self) -> str:
        return join(self.root, "lake")

    @property
    def truth(self) -> str:
        return join(self.root, "truth")

    @property
    def warehouse(self) -> str:
        return join(self.root, "warehouse")

    def table_path(self, layer: str, table: str) -> str:
        return join(self.lake, layer, table)

    @property
    def local_master(self) -> bool:
        """True when Spark runs in this one process (`local`, `local[2]`, `local[*]` ...): the
        laptop case, which some settings are tuned for (habitlake/spark.py, jobs/silver/run.py)."""
        return self.spark_master.startswith("local")

    @property
    def uses_embedded_metastore(self) -> bool:
        """True when habitlake runs the Derby network server itself."""
        return self.metastore_url == derby_url(self.state_dir, self.metastore_port)

    @property
    def metastore_dir(self) -> Path:
        return self.state_dir / "metastore"


RETAILER_FILE = "retailer.yaml"


def read_retailer(state_dir: Path) -> dict:
    """The per-retailer defaults recorded by `habitlake ingest --mapping` ({} when none)."""
    path = Path(state_dir) / RETAILER_FILE
    if not path.exists():
        return {}
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def write_retailer(settings: "Settings", retailer: Mapping[str, str]) -> Path:
    import yaml

    path = Path(settings.state_dir) / RETAILER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(retailer), allow_unicode=True), encoding="utf-8")
    return path


def derby_url(state_dir: Path, port: int) -> str:
    """JDBC URL of the metastore database, by absolute path, on the local Derby network server.

    The database is named by its absolute path, so whichever habitlake Derby server answers on the
    port opens this root's database, never another root's.
    """
    db = state_dir / "metastore" / "metastore_db"
    return f"jdbc:derby://127.0.0.1:{port}/{db};create=true"
