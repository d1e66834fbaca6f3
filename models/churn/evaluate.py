"""Evaluation of churn scores on held-out rows (the test cutoff): plain numpy on (label, score)
pairs, one per customer, so every number is exact and reproducible.

- roc_auc: the probability that a churner scores above a non-churner (ties count half; the
  Mann-Whitney statistic);
- pr_auc: average precision, sum over distinct thresholds of (recall step) x precision (what
  scikit-learn's average_precision_score computes);
- brier: mean squared error of the score as a probability; calibration: the rows ranked by score and
  cut into `bins` equal-count groups (deciles), mean score vs observed churn rate per group, and
  calibration_error = the count-weighted mean |mean score - observed rate|;
- threshold_for_precision: the threshold (flag score >= t) with the highest recall among those whose
  precision reaches the target (ties: the higher threshold); when none reaches it, threshold 1.0,
  recall 0 and target_met 0.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TARGET_PRECISION = 0.7
BINS = 10


def _arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError("labels and scores must be non-empty 1-d arrays of the same length")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return y, s


def roc_auc(labels, scores) -> float:
    y, s = _arrays(labels, scores)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        raise ValueError("ROC AUC needs both classes")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def _curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds descending, true positives, false positives) flagged at score >= each threshold."""
    y, s = _arrays(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return s[last_of_tie], tp, fp


def roc_curve(labels, scores) -> pd.DataFrame:
    """threshold, fpr, tpr from (inf, 0, 0) to the lowest score (1, 1)."""
    thresholds, tp, fp = _curve(labels, scores)
    return pd.DataFrame({"threshold": np.r_[np.inf, thresholds], "fpr": np.r_[0.0, fp / max(fp[-1], 1.0)],
                         "tpr": np.r_[0.0, tp / max(tp[-1], 1.0)]})


def pr_auc(labels, scores) -> float:
    thresholds, tp, fp = _curve(labels, scores)
    if tp[-1] == 0:
        raise ValueError("PR AUC needs at least one positive")
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(labels, scores) -> float:
    y, s = _arrays(labels, scores)
    return float(np.mean((s - y) ** 2))


def calibration_table(labels, scores, bins: int = BINS) -> pd.DataFrame:
    """bin (1 = lowest scores), rows, mean_score, observed_rate, min_score, max_score: rows ranked by
    score (stable) and cut into `bins` groups of equal size (the first groups one row larger)."""
    y, s = _arrays(labels, scores)
    order = np.argsort(s, kind="mergesort")
    groups = [g for g in np.array_split(order, min(bins, len(s))) if len(g)]
    return pd.DataFrame([{"bin": k, "rows": len(g), "mean_score": float(s[g].mean()),
                          "observed_rate": float(y[g].mean()), "min_score": float(s[g].min()),
                          "max_score": float(s[g].max())} for k, g in enumerate(groups, start=1)])


def calibration_error(table: pd.DataFrame) -> float:
    weights = table["rows"] / table["rows"].sum()
    return float((weights * (table["mean_score"] - table["observed_rate"]).abs()).sum())


def threshold_for_precision(labels, scores, target: float = TARGET_PRECISION) -> dict:
    """threshold, precision, recall, flagged (rows at or above it), target_met (1.0 / 0.0)."""
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target precision must be in (0, 1], got {target}")
    thresholds, tp, fp = _curve(labels, scores)
    precision = tp / (tp + fp)
    recall = tp / tp[-1] if tp[-1] else np.zeros_like(tp)
    ok = np.flatnonzero(precision >= target)
    if len(ok) == 0:
        return {"threshold": 1.0, "precision": 0.0, "recall": 0.0, "flagged": 0.0, "target_met": 0.0}
    best = ok[np.argmax(recall[ok])]  # argmax takes the first (highest threshold) among equal recalls
    return {"threshold": float(thresholds[best]), "precision": float(precision[best]),
            "recall": float(recall[best]), "flagged": float(tp[best] + fp[best]), "target_met": 1.0}


def metrics(labels, scores, target_precision: float = TARGET_PRECISION, bins: int = BINS) -> dict:
    """One flat dict: roc_auc, pr_auc, brier, calibration_error, threshold_at_precision,
    precision_at_threshold, recall_at_precision, flagged_at_precision, precision_target_met,
    rows, positives, base_rate."""
    y, s = _arrays(labels, scores)
    at = threshold_for_precision(y, s, target_precision)
    return {
        "roc_auc": roc_auc(y, s), "pr_auc": pr_auc(y, s), "brier": brier(y, s),
        "calibration_error": calibration_error(calibration_table(y, s, bins)),
        "threshold_at_precision": at["threshold"], "precision_at_threshold": at["precision"],
        "recall_at_precision": at["recall"], "flagged_at_precision": at["flagged"],
        "precision_target_met": at["target_met"],
        "rows": float(len(y)), "positives": float(y.sum()), "base_rate": float(y.mean()),
    }


# --- figures (matplotlib; returned, never shown or saved here) ---------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def roc_figure(curves: dict[str, pd.DataFrame], aucs: dict[str, float]):
    """ROC curves of several models ({name: roc_curve frame}) on one plot."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, curve in curves.items():
        ax.plot(curve["fpr"], curve["tpr"], label=f"{name} (AUC {aucs[name]:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="Churn ROC (test cutoff)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def calibration_figure(tables: dict[str, pd.DataFrame]):
    """Mean score vs observed churn rate per score decile, one line per model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, table in tables.items():
        ax.plot(table["mean_score"], table["observed_rate"], marker="o", label=name)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="mean predicted churn probability", ylabel="observed churn rate",
           title="Calibration by score decile", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def importance_figure(importances: dict[str, float], title: str):
    """Horizontal bars of feature importances, largest on top."""
    plt = _pyplot()
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(names) + 1))
    ax.barh(names, [importances[n] for n in names])
    ax.set(xlabel="importance (share)", title=title)
    fig.tight_layout()
    return fig
