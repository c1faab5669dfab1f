"""Fixture experiments with known answers, written as per-trial Parquet files in the sweep's layout.

``grid``: llama and mistral x proportion {0, 0.5, 1}, seed 0, six tasks (two per domain), 10
examples each; example i is correct iff i < k (k below), except llama/0.5/coin_flip, correct on
examples 1..9 (so against llama/0/coin_flip, correct on 0..1: b = 1, c = 8 discordant pairs).
A qwen trial at 0.5 failed. ``fine``: gemma at six proportions, accuracy 0.2 + 0.6p - 0.5p^2
exactly (n = 100, optimum p = 0.6), a copy of the grid's llama/0 trial (a duplicate), no
predictions level and no spec.yaml.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from codemix.results.schema import LEVELS

TASKS = {"coin_flip": "symbolic", "reverse_list": "symbolic", "clutrr": "logical", "babi15_deduction": "logical",
         "gsm8k": "arithmetic", "svamp": "arithmetic"}
# correct examples out of 10, in TASKS order
GRID = {
    ("llama", 0.0): [2, 4, 5, 3, 1, 3],
    ("llama", 0.5): [9, 6, 5, 5, 2, 4],
    ("llama", 1.0): [7, 8, 4, 2, 2, 2],
    ("mistral", 0.0): [3, 3, 6, 6, 2, 2],
    ("mistral", 0.5): [5, 5, 6, 7, 3, 3],
    ("mistral", 1.0): [4, 6, 7, 7, 4, 3],
}
OVERRIDE = {("llama", 0.5, "coin_flip"): set(range(1, 10))}
FINE = {0.0: 20, 0.2: 30, 0.4: 36, 0.6: 38, 0.8: 36, 1.0: 30}  # correct of 100: 100 * (0.2 + 0.6p - 0.5p^2)
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def provenance(sweep: str, family: str, p: float, seed: int = 0) -> dict:
    """Provenance of a fixture trial; the hashes do not depend on the sweep, so copies are duplicates."""
    point = f"{family}-{p}-{seed}"
    return {"sweep": sweep, "trial_key": f"key-{point}", "trial_id": f"tid-{sweep}-{point}", "family": family,
            "model_id": f"org/{family}-tiny", "proportion": p, "seed": seed, "code_language": "any",
            "corruption": 0.0, "mix_hash": f"mix-{p}-{seed}", "train_hash": f"train-{point}",
            "eval_hash": f"eval-{point}", "codemix_version": "0.1.0"}


def write_level(exp: Path, level: str, prov: dict, rows: list[dict]) -> None:
    schema = LEVELS[level]
    full = [{**{f.name: None for f in schema}, **row, **prov} for row in rows]
    path = exp / "results" / level / f"{prov['trial_key']}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(full, schema=schema), path)


def write_trial(exp: Path, prov: dict, correct: dict[str, set[int] | int], n: int | dict[str, int] = 10,
                predictions: bool = True, tasks: dict[str, str] = TASKS) -> None:
    """One finished trial: per task, ``correct`` is a count k (examples 0..k-1 right) or a set of indices."""
    scores, preds = [], []
    for task, spec in correct.items():
        size = n[task] if isinstance(n, dict) else n
        right = set(range(spec)) if isinstance(spec, int) else spec
        scores.append({"task": task, "domain": tasks[task], "accuracy": len(right) / size, "n": size,
                       "n_correct": len(right), "finished_at": NOW})
        preds += [{"task": task, "domain": tasks[task], "example_id": f"{task}-{i}", "prompt": "q", "output": "a",
                   "extracted": "a", "gold": "a" if i in right else "b", "correct": i in right, "extractor": "rules"}
                  for i in range(size)]
    if predictions:
        write_level(exp, "predictions", prov, preds)
    write_level(exp, "scores", prov, scores)
    overall = sum(s["accuracy"] for s in scores) / len(scores)
    write_level(exp, "trials", prov, [{"status": "ok", "overall_accuracy": overall, "config": "{}", "stages": "{}",
                                       "started_at": NOW, "finished_at": NOW}])


def write_failed(exp: Path, prov: dict, error: str) -> None:
    write_level(exp, "trials", prov, [{"status": "error", "error": error, "config": "{}", "stages": "{}",
                                       "started_at": NOW, "finished_at": NOW}])


def grid_correct(family: str, p: float) -> dict[str, set[int] | int]:
    return {task: OVERRIDE.get((family, p, task), k) for task, k in zip(TASKS, GRID[(family, p)])}


def build_grid(exp: Path) -> Path:
    """The paper-like grid experiment folder (with spec.yaml, Ray Tune clutter and a failed trial)."""
    for (family, p) in GRID:
        write_trial(exp, provenance("grid", family, p), grid_correct(family, p))
    write_failed(exp, provenance("grid", "qwen", 0.5), "RuntimeError: CUDA out of memory\nTraceback ...")
    spec = {"name": "grid", "storage": str(exp.parent), "data": {"source": "demo"}, "mix": {"total": 48},
            "model": {"size": "tiny"}, "train": {"method": "full", "epochs": 2, "lr": 0.003},
            "eval": {"suite": "paper12", "limit": 10},
            "search": {"proportion": [0.0, 0.5, 1.0], "family": ["llama", "mistral", "qwen"], "seed": [0]}}
    (exp / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (exp / "tuner.pkl").write_bytes(b"ray tune state")  # Tune's own files are ignored
    (exp / "results" / "scores" / "half.parquet.tmp-1234").write_bytes(b"half-written")  # never read
    return exp


def build_fine(exp: Path) -> Path:
    """A fine-grained sweep: gemma at six proportions, one task per domain; plus a duplicate grid trial."""
    for p, k in FINE.items():
        write_trial(exp, provenance("fine", "gemma", p), {"coin_flip": k, "clutrr": k, "gsm8k": k}, n=100,
                    predictions=False)
    write_trial(exp, provenance("fine", "llama", 0.0), grid_correct("llama", 0.0), predictions=False)
    return exp
