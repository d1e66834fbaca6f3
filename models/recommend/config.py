"""The recommender's parameters: conf/models.yaml `recommend:` over the defaults below, then the
overrides a run passes (`TrainContext.params`). Read once at the entry point (`spec.train`,
`spec.score`) and passed down as a `Params`; the transforms never read configuration.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from habitlake.contract import CONF_DIR

MODELS_CONF = CONF_DIR / "models.yaml"
SECTION = "recommend"
SCALES = ("log", "linear")
PURCHASE = "purchase"  # the signal kind of an order holding the product (the others are event types)


@dataclass(frozen=True)
class ALSParams:
    rank: int = 4
    reg_param: float = 0.1
    alpha: float = 0.1
    max_iter: int = 10

    def __post_init__(self) -> None:
        if self.rank < 1 or self.max_iter < 1:
            raise ValueError(f"ALS rank and max_iter must be at least 1, got {self.rank}, {self.max_iter}")
        if self.reg_param < 0 or self.alpha < 0:
            raise ValueError(f"ALS reg_param and alpha must be >= 0, got {self.reg_param}, {self.alpha}")


@dataclass(frozen=True)
class Params:
    weights: Mapping[str, float] = field(default_factory=lambda: {
        PURCHASE: 4.0, "favorite": 3.0, "add_cart": 2.0, "view": 0.5})
    scale: str = "log"
    history_days: int | None = 365
    regular_min_days: int = 2
    als: ALSParams = ALSParams()
    grid: Mapping[str, tuple] = field(default_factory=lambda: {
        "rank": (4, 8, 16), "reg_param": (0.01, 0.1), "alpha": (0.1, 1.0)})
    test_days: int = 28
    validation_days: int = 28
    buy_again_days: int = 7
    k: int = 10
    top_n: int = 10

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"recommend.scale must be one of {SCALES}, got {self.scale!r}")
        if not self.weights or any(w < 0 for w in self.weights.values()):
            raise ValueError(f"recommend.weights must be non-negative and not empty, got {dict(self.weights)}")
        if self.regular_min_days < 2:
            raise ValueError(f"recommend.regular_min_days must be at least 2 (a cycle needs two purchases), "
                             f"got {self.regular_min_days}")
        for name in ("test_days", "validation_days", "buy_again_days", "k", "top_n"):
            if getattr(self, name) < 1:
                raise ValueError(f"recommend.{name} must be at least 1, got {getattr(self, name)}")
        if self.buy_again_days > min(self.test_days, self.validation_days):
            raise ValueError("recommend.buy_again_days must fit in the test and validation windows")
        unknown = set(self.grid) - {"rank", "reg_param", "alpha", "max_iter"}
        if unknown:
            raise ValueError(f"recommend.grid: unknown ALS parameter(s) {sorted(unknown)}")

    def flat(self) -> dict[str, Any]:
        """Every parameter as a flat dict of plain values (what the runner logs)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("weights", "als", "grid")}
        out.update({f"weight_{k}": float(v) for k, v in sorted(self.weights.items())})
        out.update({f"als_{k}": v for k, v in asdict(self.als).items()})
        out.update({f"grid_{k}": ",".join(str(x) for x in v) for k, v in sorted(self.grid.items())})
        return out


def _build(values: Mapping[str, Any]) -> Params:
    values = dict(values)
    unknown = set(values) - set(Params.__dataclass_fields__)
    if unknown:
        raise ValueError(f"recommend: unknown parameter(s) {sorted(unknown)}")
    if "als" in values and not isinstance(values["als"], ALSParams):
        values["als"] = ALSParams(**values["als"])
    if "grid" in values:
        values["grid"] = {k: tuple(v if isinstance(v, (list, tuple)) else [v]) for k, v in values["grid"].items()}
    return Params(**values)


def load(path: Path = MODELS_CONF, overrides: Mapping[str, Any] | None = None) -> Params:
    """conf/models.yaml `recommend:` (defaults for what it leaves out), then `overrides`. An override
    of `als` or `weights` replaces single keys (`{"als": {"rank": 8}}` keeps the other ALS values)."""
    conf: dict[str, Any] = {}
    if Path(path).exists():
        with open(path, encoding="utf-8") as f:
            conf = dict((yaml.safe_load(f) or {}).get(SECTION) or {})
    params = _build(conf)
    return with_overrides(params, overrides or {})


def with_overrides(params: Params, overrides: Mapping[str, Any]) -> Params:
    """`params` with `overrides` applied (nested `als` and `weights` merged key by key)."""
    if not overrides:
        return params
    values = dict(overrides)
    if "als" in values and not isinstance(values["als"], ALSParams):
        values["als"] = replace(params.als, **values["als"])
    if "weights" in values:
        values["weights"] = {**params.weights, **values["weights"]}
    unknown = set(values) - set(Params.__dataclass_fields__)
    if unknown:
        raise ValueError(f"recommend: unknown parameter(s) {sorted(unknown)}")
    if "grid" in values:
        values["grid"] = {k: tuple(v if isinstance(v, (list, tuple)) else [v]) for k, v in values["grid"].items()}
    return replace(params, **values)
