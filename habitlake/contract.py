"""The landing contract (conf/landing.yaml): which sources exist, their format and columns.

Both the data generator (which writes landing files) and bronze ingestion (which reads them) take
their column lists from here, so the two can never drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from habitlake.settings import CONF_DIR_NAME, PROJECT_DIR

CONF_DIR = PROJECT_DIR / CONF_DIR_NAME
LANDING_CONTRACT = CONF_DIR / "landing.yaml"


@dataclass(frozen=True)
class Source:
    """One landing source: a system's export of one kind of record."""

    name: str
    system: str
    format: str  # "csv" or "jsonl"
    encoding: str  # "detect" or a codec name
    kind: str  # "daily", "snapshot" or "reference"
    key: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def extension(self) -> str:
        return "csv" if self.format == "csv" else "jsonl"

    def file_name(self, day: str, part: int | None = None) -> str:
        """File name for business date `day` (YYYY-MM-DD), e.g. orders_20250101.csv."""
        stem = f"{self.name}_{day.replace('-', '')}"
        if part is not None:
            stem += f"_part{part:02d}"
        return f"{stem}.{self.extension}"

    def day_dir(self, day: str) -> str:
        """Folder of one business date, relative to the landing root."""
        return f"{self.name}/dt={day}"


@lru_cache(maxsize=4)
def load_contract(path: str | None = None) -> dict[str, Source]:
    """Read the landing contract; sources keyed by name, in file order."""
    raw = yaml.safe_load(Path(path or LANDING_CONTRACT).read_text(encoding="utf-8"))
    sources = {}
    for name, spec in raw["sources"].items():
        fmt = spec["format"]
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"{path or LANDING_CONTRACT}: source {name!r} has unknown format {fmt!r}")
        sources[name] = Source(
            name=name,
            system=spec.get("system", ""),
            format=fmt,
            encoding=spec.get("encoding", "utf-8"),
            kind=spec.get("kind", "daily"),
            key=tuple(spec["key"]),
            columns=tuple(spec["columns"]),
        )
    return sources
