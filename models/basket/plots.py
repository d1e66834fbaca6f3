"""Figures and tables of a trained basket model, built from plain pandas frames (no Spark, no
MLflow; the runner saves them): matplotlib `Figure` objects made without pyplot, so nothing depends
on a display or a global backend.

- `top_rules_by_lift.png`: the strongest rules by lift (bars), with confidence and support;
- `rules_support_confidence.png`: every rule by support x confidence, coloured by lift (the usual
  map of a rule set; the planted bundles stand out top right in lift);
- `cart_completion_vs_popularity.png`: hit rate@10 and MAP@10 of the served recommender, the rules
  alone and the popularity baseline on the held-out orders.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

TOP = 15
TABLE_ROWS = 50


def _label(items) -> str:
    return "{" + ", ".join(str(i) for i in items) + "}"


def top_rules_table(rules: pd.DataFrame, n: int = TABLE_ROWS) -> pd.DataFrame:
    """The `n` strongest rules by lift (ties: confidence, support), items as readable strings."""
    top = rules.sort_values(["lift", "confidence", "support"], ascending=False, kind="stable").head(n)
    return pd.DataFrame({
        "antecedent": top["antecedent"].map(_label), "consequent": top["consequent"].map(_label),
        "support": top["support"].astype(float), "confidence": top["confidence"].astype(float),
        "lift": top["lift"].astype(float),
    }).reset_index(drop=True)


def top_rules_figure(rules: pd.DataFrame, n: int = TOP) -> Figure:
    top = top_rules_table(rules, n).iloc[::-1]
    fig = Figure(figsize=(9, 0.4 * max(len(top), 1) + 1.5))
    ax = fig.add_subplot()
    labels = [f"{a} -> {c}" for a, c in zip(top["antecedent"], top["consequent"])]
    ax.barh(range(len(top)), top["lift"], color="#4C72B0")
    ax.set_yticks(range(len(top)), labels, fontsize=8)
    for y, (lift, conf, sup) in enumerate(zip(top["lift"], top["confidence"], top["support"])):
        ax.text(lift, y, f"  conf {conf:.2f}, supp {sup:.3f}", va="center", fontsize=7)
    ax.set_xlabel("lift")
    ax.set_title(f"Top {len(top)} rules by lift")
    fig.tight_layout()
    return fig


def support_confidence_figure(rules: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(7, 5))
    ax = fig.add_subplot()
    if len(rules):
        points = ax.scatter(rules["support"], rules["confidence"], c=rules["lift"], cmap="viridis", s=12)
        fig.colorbar(points, ax=ax, label="lift")
    ax.set_xscale("log")
    ax.set_xlabel("support (share of training baskets, log scale)")
    ax.set_ylabel("confidence")
    ax.set_title(f"{len(rules):,} association rules")
    fig.tight_layout()
    return fig


def metrics_figure(metrics: dict) -> Figure:
    names = (("served", ""), ("rules only", "rules_"), ("popularity", "popularity_"))
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    width = 0.38
    for i, (metric, label) in enumerate((("hit_rate_at_10", "hit rate@10"), ("map_at_10", "MAP@10"))):
        values = [metrics.get(f"{prefix}{metric}", 0.0) for _, prefix in names]
        bars = ax.bar([x + i * width for x in range(len(names))], values, width, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_xticks([x + width / 2 for x in range(len(names))], [name for name, _ in names])
    ax.set_title(f"Cart completion on {int(metrics.get('orders_evaluated', 0)):,} held-out orders (one item hidden)")
    ax.legend()
    fig.tight_layout()
    return fig


def figures(completer, metrics: dict) -> dict[str, Figure]:
    """File name -> Figure, for the runner to log."""
    return {"top_rules_by_lift.png": top_rules_figure(completer.rules),
            "rules_support_confidence.png": support_confidence_figure(completer.rules),
            "cart_completion_vs_popularity.png": metrics_figure(metrics)}
