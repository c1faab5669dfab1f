"""The number a searcher maximises, computed from a trial's score rows (one per task)."""

from __future__ import annotations

from collections.abc import Iterable


def search_score(scores: Iterable[dict], metric: str) -> float:
    """The number a searcher maximises: 'overall', 'domain:<name>' or 'task:<name>' (mean of task accuracies)."""
    kind, _, name = metric.partition(":")
    picked = [s["accuracy"] for s in scores if kind == "overall" or (kind == "domain" and s["domain"] == name)
              or (kind == "task" and s["task"] == name)]
    if not picked:
        raise ValueError(f"search.metric {metric!r} matches no evaluated task")
    return sum(picked) / len(picked)
