"""The jar cache: Delta Lake and the Derby network-server jars, resolved once from Maven Central.

`resolve()` runs Apache Ivy (the copy that ships inside pyspark) once during set-up and keeps the
jars in the project's git-ignored cache; every Spark session afterwards starts offline from there.
Ivy also drags in transitive jars that Spark already ships (Hadoop, Scala, Jackson, Parquet); only
the ones Spark lacks are kept, so the classpath holds a single copy of each library.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pyspark

# (organisation, module, revision) to fetch. Derby matches the derby jar inside pyspark 4.2.
ARTIFACTS = (
    ("io.delta", "delta-spark_4.2_2.13", "4.4.0"),
    ("org.apache.derby", "derbynet", "10.16.1.1"),
    ("org.apache.derby", "derbyclient", "10.16.1.1"),
)
# Of everything Ivy retrieves, keep only what pyspark does not already ship.
KEEP_PREFIXES = ("io.delta__", "io.unitycatalog__", "org.apache.derby__derbynet", "org.apache.derby__derbyclient")
MANIFEST = "manifest.json"


def pyspark_jars_dir() -> Path:
    return Path(pyspark.__file__).parent / "jars"


def _ivy_jar() -> Path:
    found = sorted(pyspark_jars_dir().glob("ivy-*.jar"))
    if not found:
        raise RuntimeError(f"no ivy jar inside pyspark ({pyspark_jars_dir()})")
    return found[-1]


def is_resolved(jar_dir: Path) -> bool:
    manifest = jar_dir / MANIFEST
    if not manifest.exists():
        return False
    recorded = json.loads(manifest.read_text())
    return recorded.get("artifacts") == [list(a) for a in ARTIFACTS] and all(
        (jar_dir / name).exists() for name in recorded.get("jars", [])
    )


def resolve(jar_dir: Path, ivy_cache: Path | None = None, quiet: bool = True) -> list[Path]:
    """Fetch the artifacts into `jar_dir` unless already there; return the jar paths."""
    jar_dir = Path(jar_dir)
    if is_resolved(jar_dir):
        return jars(jar_dir)
    ivy_cache = ivy_cache or jar_dir.parent / "ivy"
    with tempfile.TemporaryDirectory() as tmp:
        for org, module, rev in ARTIFACTS:
            cmd = [
                "java", "-jar", str(_ivy_jar()), "-cache", str(ivy_cache),
                "-dependency", org, module, rev, "-confs", "default",
                "-retrieve", f"{tmp}/[organisation]__[artifact]-[revision](-[classifier]).[ext]",
            ]
            done = subprocess.run(cmd, capture_output=quiet, text=True)
            if done.returncode != 0:
                detail = (done.stdout or "")[-2000:] if quiet else ""
                raise RuntimeError(f"could not resolve {org}:{module}:{rev}\n{detail}")
        jar_dir.mkdir(parents=True, exist_ok=True)
        kept = sorted(p.name for p in Path(tmp).glob("*.jar") if p.name.startswith(KEEP_PREFIXES))
        for name in kept:
            shutil.copy2(Path(tmp) / name, jar_dir / name)
    manifest = {"artifacts": [list(a) for a in ARTIFACTS], "jars": kept}
    (jar_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return jars(jar_dir)


def jars(jar_dir: Path) -> list[Path]:
    """The cached jars, or a clear error telling how to create the cache."""
    manifest = Path(jar_dir) / MANIFEST
    if not manifest.exists():
        raise RuntimeError(f"jar cache {jar_dir} is empty: run `habitlake setup` (or `make setup`) once")
    return [Path(jar_dir) / name for name in json.loads(manifest.read_text())["jars"]]


def derby_server_classpath(jar_dir: Path) -> list[Path]:
    """Jars the Derby network server needs: derbynet from the cache plus the engine pyspark ships."""
    engine = [p for p in pyspark_jars_dir().glob("derby*.jar")]
    net = [p for p in jars(jar_dir) if "derbynet" in p.name]
    return sorted(net) + sorted(engine)


def derby_client_jars(jar_dir: Path) -> list[Path]:
    return [p for p in jars(jar_dir) if "derbyclient" in p.name]
