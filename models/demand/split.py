"""Rolling-origin backtest folds: several cutoffs a week apart; each trains on what was known by its
cutoff and predicts the `horizon` days after it.

    folds = rolling_origin("2025-02-16", n_folds=4, horizon=7)
    # cutoffs 2025-01-19, 01-26, 02-02, 02-09; the last fold predicts 02-10 .. 02-16

The last fold's test window ends on `last_day` (the last day with actuals); earlier folds step back
`step` days each. Test windows of consecutive folds overlap when step < horizon (14-day horizon,
weekly cutoffs): every fold is scored on its own window.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jobs.gold.asof import parse_day


@dataclass(frozen=True)
class Fold:
    index: int
    cutoff: dt.date  # the as-of date of the features: train on days up to it
    test_start: dt.date  # cutoff + 1
    test_end: dt.date  # cutoff + horizon

    @property
    def horizon(self) -> int:
        return (self.test_end - self.cutoff).days

    def as_dict(self) -> dict:
        return {"fold": self.index, "cutoff": self.cutoff.isoformat(), "test_start": self.test_start.isoformat(),
                "test_end": self.test_end.isoformat()}


def fold(index: int, cutoff: str | dt.date, horizon: int) -> Fold:
    cutoff = parse_day(cutoff)
    return Fold(index, cutoff, cutoff + dt.timedelta(days=1), cutoff + dt.timedelta(days=horizon))


def rolling_origin(last_day: str | dt.date, n_folds: int = 4, horizon: int = 7, step: int = 7,
                   first_cutoff: str | dt.date | None = None) -> list[Fold]:
    """`n_folds` folds whose cutoffs are `step` days apart, the last test window ending on
    `last_day`. `first_cutoff`: refuse folds whose cutoff is before it (e.g. the first day with a
    full look-back), raising instead of silently training on too little."""
    if n_folds < 1 or horizon < 1 or step < 1:
        raise ValueError(f"n_folds, horizon and step must be positive: {n_folds}, {horizon}, {step}")
    last = parse_day(last_day)
    last_cutoff = last - dt.timedelta(days=horizon)
    cutoffs = [last_cutoff - dt.timedelta(days=step * (n_folds - 1 - i)) for i in range(n_folds)]
    if first_cutoff is not None and cutoffs[0] < parse_day(first_cutoff):
        raise ValueError(f"the first fold's cutoff {cutoffs[0]} is before {parse_day(first_cutoff)}: "
                         f"fewer folds, a shorter step or more history")
    return [fold(i, c, horizon) for i, c in enumerate(cutoffs)]


def from_cutoffs(cutoffs: list[str | dt.date], horizon: int = 7) -> list[Fold]:
    """Folds at the given cutoffs (sorted), each predicting `horizon` days."""
    days = sorted(parse_day(c) for c in cutoffs)
    if len(set(days)) != len(days):
        raise ValueError(f"duplicate cutoffs in {cutoffs}")
    return [fold(i, c, horizon) for i, c in enumerate(days)]
