"""How far two labelings agree: confusion matrix, accuracy, Cohen's kappa, and a sample to read."""

from __future__ import annotations

import random
from collections import Counter

from codemix.data.schema import LABELS


def confusion_matrix(truth: list[str], pred: list[str], labels: tuple[str, ...] = LABELS) -> list[list[int]]:
    """Counts, rows = ``truth`` label, columns = ``pred`` label, in the order of ``labels``."""
    index = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, pred, strict=True):
        m[index[t]][index[p]] += 1
    return m


def cohen_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa: agreement beyond chance, 1 = perfect, 0 = chance level (nan when undefined)."""
    n = len(a)
    if n == 0 or n != len(b):
        raise ValueError(f"need two equally long, non-empty labelings (got {len(a)} and {len(b)})")
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def agreement(truth: list[str], pred: list[str], labels: tuple[str, ...] = LABELS) -> dict:
    """{n, accuracy, kappa, labels, confusion, per_class: {label: {precision, recall}}}."""
    m = confusion_matrix(truth, pred, labels)
    n = len(truth)
    per_class = {}
    for i, lab in enumerate(labels):
        predicted = sum(row[i] for row in m)
        actual = sum(m[i])
        per_class[lab] = {"precision": m[i][i] / predicted if predicted else None,
                          "recall": m[i][i] / actual if actual else None, "support": actual}
    return {"n": n, "accuracy": sum(m[i][i] for i in range(len(labels))) / n if n else None,
            "kappa": cohen_kappa(truth, pred) if n else None, "labels": list(labels), "confusion": m,
            "per_class": per_class}


def sample_per_class(ids: list[str], labels: list[str], k: int, seed: int = 0) -> dict[str, list[int]]:
    """Up to ``k`` random row indices per label (seeded), for a person to read."""
    rng = random.Random(seed)
    by: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    return {lab: sorted(rng.sample(rows, min(k, len(rows)))) for lab, rows in sorted(by.items())}
