"""Which cutoffs train and which one tests: an out-of-time split over stacked cutoffs.

The model learns from the eligible customers of several earlier cutoffs (their features and labels
stacked, one row per cutoff x customer) and is judged on a later cutoff it never saw, as it will be
used (trained on the past, scoring the present).

Rule, checked by `check`:

1. every cutoff's label window (cutoff, cutoff + N] ends on or before the last day of data (the
   label is observed, never "no purchase yet");
2. every train cutoff is strictly before the test cutoff, and the test cutoff is not among them;
3. with `strict=True`, every train label window also ends on or before the test cutoff (train
   cutoff + N <= test cutoff): at the test cutoff everything the model learnt from was already
   known, a faithful replay of production. Without it (the default) the train label windows may
   overlap the test window by `label_overlap_days` (reported): on a 150-day world with N = 90 the
   strict rule leaves no train cutoff at all (the only testable cutoff, 2025-03-01, would need train
   cutoffs before 2024-12-02). The features of every cutoff still end at that cutoff; what overlaps
   is only the period whose purchases define the labels.

Default cutoffs (`default_cutoffs`): the test cutoff is the latest one whose label window is fully
observed, data_end - N; the train cutoffs are `n_train` cutoffs `step_days` apart before it (with
strict, the first one is test - N).
"""
from __future__ import annotations

import datetime as dt

from models.churn.features import day
from models.churn.label import check_observed, window_end

N_TRAIN = 3
STEP_DAYS = 14


def default_cutoffs(data_end: str | dt.date, horizon: int, n_train: int = N_TRAIN, step_days: int = STEP_DAYS,
                    strict: bool = False) -> tuple[list[dt.date], dt.date]:
    """(train cutoffs ascending, test cutoff) for data up to `data_end`."""
    if n_train < 1 or step_days < 1:
        raise ValueError(f"need n_train >= 1 and step_days >= 1, got {n_train}, {step_days}")
    test = day(data_end) - dt.timedelta(days=horizon)
    last_train = test - dt.timedelta(days=horizon if strict else step_days)
    train = [last_train - dt.timedelta(days=step_days * k) for k in range(n_train)]
    return sorted(train), test


def check(train_cutoffs: list[dt.date], test_cutoff: dt.date, horizon: int, data_end: str | dt.date,
          strict: bool = False) -> dict:
    """Raises ValueError when the cutoffs break the rule (module docstring); returns the facts of the
    split: train_cutoffs, test_cutoff (ISO strings), horizon_days, label_overlap_days (days of the
    last train label window after the test cutoff), strict."""
    train = sorted(day(c) for c in train_cutoffs)
    test = day(test_cutoff)
    if not train:
        raise ValueError("no train cutoff")
    if len(set(train)) != len(train):
        raise ValueError(f"train cutoffs repeat: {train}")
    for c in [*train, test]:
        check_observed(c, horizon, data_end)
    if train[-1] >= test:
        raise ValueError(f"train cutoff {train[-1]} is not before the test cutoff {test}")
    overlap = max(0, (window_end(train[-1], horizon) - test).days)
    if strict and overlap:
        raise ValueError(f"strict split: the label window of train cutoff {train[-1]} ends "
                         f"{window_end(train[-1], horizon)}, after the test cutoff {test}")
    return {"train_cutoffs": [c.isoformat() for c in train], "test_cutoff": test.isoformat(),
            "horizon_days": horizon, "label_overlap_days": overlap, "strict": strict}
