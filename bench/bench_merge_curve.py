"""Does the surrogate predict the real proportion curve? SmolLM2 fine-tuned on real ShareGPT mixes at five coding
shares, against the models interpolated between the 0 % and 100 % fine-tunes (2 CPU cores, one command).

    python bench/bench_merge_curve.py [--storage runs] [--total 64] [--limit 8] [--heldout 32]

The figures in bench/results/merge_curve.txt (and the README) came from ``--total 32 --limit 4 --heldout 48
--torch-threads 1 --threads 1`` on two shared cores (about 30 minutes: 14 for the sweep, 15 for the held-out losses).

1. One codemix sweep, run as a user runs it (``codemix run``, resumed if it exists): the ``surrogate`` searcher on
   ``sweeps/surrogate.yaml``'s settings with a 0.25 grid and a budget of five real trials, so every grid point is
   fine-tuned (LoRA, ``--total`` real ShareGPT examples per mix, one epoch) and the models at 25, 50 and 75 % are
   also made by interpolating the 0 % and 100 % LoRA deltas. Each model is evaluated on the twelve reasoning
   tasks, ``--limit`` questions each (two-stage zero-shot CoT, the kept vLLM engine).
2. Held-out loss: ``--heldout`` real ShareGPT conversations per class (coding, math, general), from the sweep's
   labelled pool, none from a conversation any mix in the storage drew from; per model the mean loss per
   assistant token (``codemix.train.conversation_losses``; ``--dtype``).
3. Per metric (the three held-out losses, overall accuracy) and proportion: the real and the surrogate value, the
   paired difference surrogate - real with a 95 % bootstrap interval (conversations, or questions within tasks,
   resampled; the same draws for every model), Spearman's rank correlation of the two five-point curves (the
   anchors are one model in both, so they count once each) with its interval, and each arm's wall time (the
   trials' training, interpolation and evaluation seconds from the tables, plus the held-out losses here).

Every stage is content-addressed in ``--storage``: a rerun reuses the fine-tunes, the interpolations, the
evaluations (the sweep's tables) and the held-out losses (``<experiment>/bench_losses/``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

REPO = Path(__file__).resolve().parents[1]
GRID = [0.0, 0.25, 0.5, 0.75, 1.0]
CLASSES = {"coding": "coding", "math": "math", "general": "other"}  # metric name -> pool label


def cpu_name() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def bench_spec(args) -> dict:
    spec = yaml.safe_load((REPO / "sweeps" / "surrogate.yaml").read_text())
    spec.update(name=args.name, storage=str(Path(args.storage).resolve()))
    spec["mix"]["total"] = args.total
    spec["train"]["heldout"] = 0  # the held-out sets here are common to every model, not drawn per mix
    spec["eval"]["limit"] = args.limit
    spec["search"].update(proportion=GRID, num_samples=len(GRID), target_width=0.01)  # every grid point fine-tuned
    if args.torch_threads:
        spec["resources"]["torch_threads"] = args.torch_threads
    return spec


def run_sweep(args, spec: dict) -> float:
    """Run (or resume) the sweep in a codemix subprocess; returns its wall seconds."""
    experiment = Path(spec["storage"]) / spec["name"]
    path = Path(spec["storage"]) / f"{spec['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    cmd = ["resume", str(experiment)] if (experiment / "spec.yaml").exists() else ["run", str(path)]
    env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}
    start = time.perf_counter()
    print(f"codemix {' '.join(cmd)}", flush=True)
    code = subprocess.call([sys.executable, "-m", "codemix.cli", *cmd], cwd=REPO, env=env)
    if code != 0:
        raise SystemExit(f"codemix {' '.join(cmd)} exited {code}")
    return time.perf_counter() - start


def models(experiment: Path) -> dict[tuple[str, float], dict]:
    """(kind, proportion) -> the trial row, for 'real' and 'surrogate' (the anchors are real ones)."""
    rows = pq.read_table(experiment / "results" / "trials").to_pylist()
    out = {}
    for r in rows:
        if r["status"] == "ok" and r["proportion"] is not None:
            out[("surrogate" if r["anchors"] else "real", round(r["proportion"], 6))] = r
    missing = [(k, p) for k in ("real", "surrogate") for p in GRID if (k, p) not in out
               and not (k == "surrogate" and p in (0.0, 1.0))]
    if missing:
        raise SystemExit(f"{experiment}: no finished trial for {missing}")
    return out


def model_folder(storage: Path, row: dict) -> str:
    from codemix.storage import stage_cache as cache

    key = cache.interpolated_key(row["train_hash"]) if row["anchors"] else cache.checkpoint_key(row["train_hash"])
    return str(storage / key)


def heldout_sets(storage: Path, spec: dict, n: int, tokenizer, max_length: int) -> dict[str, list]:
    """Per class, ``n`` pool conversations no mix in the storage drew from (nor any other piece of the same
    ShareGPT conversation), each with an assistant token within ``max_length``."""
    from codemix.spec import parse_spec
    from codemix.storage import Store
    from codemix.sweep.data_stage import prepare_data
    from codemix.train.tokenize import tokenize_mix, turns_to_messages

    pool_key, _ = prepare_data(parse_spec(spec), Store(str(storage)))  # cached: the sweep made it
    pool = pq.read_table(storage / pool_key / "pool.parquet", columns=["id", "turns", "label"]).to_pylist()
    root = lambda i: i.split("#")[0].rsplit("_", 1)[0]  # noqa: E731 - the ShareGPT conversation an example is from
    used = {root(i) for f in (storage / "_cache" / "mixes").glob("*/mix.parquet")
            for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()}
    sets = {}
    for name, label in CLASSES.items():
        candidates = [r for r in pool if r["label"] == label and root(r["id"]) not in used]
        random.Random(f"bench-merge-curve:{label}").shuffle(candidates)
        picked, roots = [], set()
        for r in candidates:
            chat = turns_to_messages(r["turns"])
            if root(r["id"]) in roots or not tokenize_mix([chat], tokenizer, max_length, "truncate")[0]:
                continue
            picked.append(chat)
            roots.add(root(r["id"]))  # one piece per conversation: the draws are independent
            if len(picked) == n:
                break
        sets[name] = picked
    return sets


def heldout_losses(args, storage: Path, experiment: Path, spec: dict, rows: dict) -> tuple[dict, dict, int]:
    """{(kind, p): {class: (n, 2) losses}}, {(kind, p): seconds}, and the held-out sets' size (cached per model)."""
    import hashlib

    import torch

    from codemix.models.loading import load_causal_lm, load_tokenizer, local_model_dir
    from codemix.train.heldout import conversation_losses

    torch.set_num_threads(args.threads)
    base = local_model_dir(next(iter(rows.values()))["model_id"])
    tokenizer = load_tokenizer(base)
    sets = heldout_sets(storage, spec, args.heldout, tokenizer, spec["train"]["max_length"])
    digest = hashlib.sha256(json.dumps(sets, sort_keys=True).encode()).hexdigest()[:12]
    cache_dir = experiment / "bench_losses"
    cache_dir.mkdir(exist_ok=True)
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
    losses, seconds = {}, {}
    folders = {key: (model_folder(storage, row), row["train_hash"]) for key, row in rows.items()}
    folders[("untuned", -1.0)] = (base, "untuned")  # how far fine-tuning moved the loss at all
    for key, (folder, name) in sorted(folders.items(), key=lambda kv: (kv[0][0] != "untuned", kv[0])):
        path = cache_dir / f"{name}-{digest}-{args.dtype}.json"
        if path.exists():
            saved = json.loads(path.read_text())
        else:
            start = time.perf_counter()
            model = load_causal_lm(folder, dtype=dtype).eval()
            saved = {c: conversation_losses(model, tokenizer, convs, max_length=spec["train"]["max_length"]).tolist()
                     for c, convs in sets.items()}
            saved["seconds"] = time.perf_counter() - start
            del model
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(saved))
            tmp.rename(path)
        label = "untuned" if key[0] == "untuned" else f"{key[0]:9s} {key[1]:.2f}"
        print(f"held-out loss {label}: " + ", ".join(
            f"{c} {np.sum(np.array(saved[c])[:, 0]) / np.sum(np.array(saved[c])[:, 1]):.4f}" for c in sets), flush=True)
        losses[key] = {c: np.array(saved[c]) for c in sets}
        seconds[key] = saved["seconds"]
    return losses, seconds, min(len(v) for v in sets.values())


def correctness(experiment: Path, rows: dict) -> tuple[dict, list]:
    """{(kind, p): (questions,) 0/1 array in one question order}, and that order ((task, example_id) pairs)."""
    from codemix.results import read_level
    from codemix.storage import Store

    preds = read_level(Store(str(experiment)), "predictions", ["trial_key", "task", "example_id", "correct"])
    preds = preds.to_pandas()
    by_key = {r["trial_key"]: k for k, r in rows.items()}
    order = sorted({(t, e) for t, e in zip(preds["task"], preds["example_id"])})
    index = {q: i for i, q in enumerate(order)}
    out = {}
    for key, sub in preds.groupby("trial_key"):
        if key in by_key:
            v = np.full(len(order), np.nan)
            v[[index[(t, e)] for t, e in zip(sub["task"], sub["example_id"])]] = sub["correct"].astype(float)
            out[by_key[key]] = v
    return out, order


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation along the last axis (ties at their mean rank; NaN for a constant row)."""
    def ranks(x):
        order = x.argsort(-1).argsort(-1).astype(float)
        out = np.empty_like(order)
        for idx in np.ndindex(x.shape[:-1]):  # average the ranks of ties
            row, r = x[idx], order[idx].copy()
            for v in np.unique(row):
                tie = row == v
                if tie.sum() > 1:
                    r[tie] = r[tie].mean()
            out[idx] = r
        return out
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(-1, keepdims=True), rb - rb.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(-1) / np.sqrt((ra ** 2).sum(-1) * (rb ** 2).sum(-1))


def curves_for(metric_draws: dict, rows: dict) -> tuple[np.ndarray, np.ndarray]:
    """(B, 5) real and surrogate curves over GRID from per-model draws (the anchors' real model in both)."""
    real = np.stack([metric_draws[("real", p)] for p in GRID], -1)
    surrogate = np.stack([metric_draws[("surrogate", p)] if ("surrogate", p) in metric_draws
                          else metric_draws[("real", p)] for p in GRID], -1)
    return real, surrogate


def interval(x: np.ndarray) -> tuple[float, float]:
    lo, hi = np.nanquantile(x, [0.025, 0.975])
    return float(lo), float(hi)


def per_task_table(correct: dict, tasks: list[str], per_task: list[np.ndarray]) -> None:
    """Accuracy per task and proportion, real / surrogate (the anchors one model), and each task's Spearman over the
    five points: the report's per-task view, at this bench's few questions per task (read the spread, not a cell)."""
    print(f"\naccuracy per task, real / surrogate ({min(len(ix) for ix in per_task)}-"
          f"{max(len(ix) for ix in per_task)} questions each):")
    print(f"{'task':22s}" + "".join(f"{p:>13.2f}" for p in GRID) + f"{'Spearman':>10s}")
    rhos = []
    for task, ix in zip(tasks, per_task):
        acc = {k: float(np.nanmean(v[ix])) for k, v in correct.items()}
        real = np.array([acc[("real", p)] for p in GRID])
        surrogate = np.array([acc.get(("surrogate", p), acc[("real", p)]) for p in GRID])
        rho = float(spearman(real, surrogate))
        rhos.append(rho)
        cells = "".join(f"{r:>6.2f} / {s:4.2f}" if p not in (0.0, 1.0) else f"{r:>13.2f}"
                        for p, r, s in zip(GRID, real, surrogate))
        print(f"{task:22s}{cells}{rho:>+10.2f}")
    finite = [r for r in rhos if np.isfinite(r)]
    print(f"  median per-task Spearman {np.median(finite):+.2f} over {len(finite)} tasks with a varying curve"
          if finite else "  no task's curve varies")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--storage", default="runs", help="codemix storage (stages cached there)")
    ap.add_argument("--name", default="merge-curve", help="the experiment's name in the storage")
    ap.add_argument("--total", type=int, default=64, help="examples per mix (one epoch, micro-batch 4)")
    ap.add_argument("--limit", type=int, default=8, help="questions per task (12 tasks)")
    ap.add_argument("--heldout", type=int, default=32, help="held-out conversations per class")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"], help="held-out loss precision")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the held-out losses here")
    ap.add_argument("--torch-threads", type=int, default=None,
                    help="resources.torch_threads of the trials (default: the spec's 2; 1 on a crowded machine, where "
                         "two threads spin-waiting on each other cost more than they gain)")
    ap.add_argument("--boot", type=int, default=2000)
    args = ap.parse_args()
    storage = Path(args.storage).resolve()
    spec = bench_spec(args)
    experiment = storage / spec["name"]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores", flush=True)
    sweep_seconds = run_sweep(args, spec)
    rows = models(experiment)
    losses, loss_seconds, n_heldout = heldout_losses(args, storage, experiment, spec, rows)
    correct, questions = correctness(experiment, rows)

    rng = np.random.default_rng(0)
    draws = {}  # metric -> {(kind, p): (B+1,) values; index 0 the point estimate}
    for c in CLASSES:
        n = n_heldout
        idx = np.vstack([np.arange(n), rng.integers(0, n, (args.boot, n))])
        draws[f"loss {c}"] = {k: v[c][idx, 0].sum(-1) / v[c][idx, 1].sum(-1) for k, v in losses.items()}
    tasks = sorted({t for t, _ in questions})
    per_task = [np.array([i for i, (t, _) in enumerate(questions) if t == task]) for task in tasks]
    picks = [np.vstack([ix, ix[rng.integers(0, len(ix), (args.boot, len(ix)))]]) for ix in per_task]
    draws["accuracy"] = {k: np.mean([np.nanmean(v[p], -1) for p in picks], 0) for k, v in correct.items()}

    print(f"\nSmolLM2-135M-Instruct, LoRA r16, {args.total} real ShareGPT examples per mix (1 epoch), "
          f"held-out: {n_heldout} conversations per class ({args.dtype}), accuracy: {len(tasks)} tasks x "
          f"{len(questions) // max(len(tasks), 1)} questions; 95% bootstrap intervals ({args.boot} draws)\n")
    print(f"{'metric':14s} {'p':>5s} {'real':>8s} {'surrogate':>9s} {'surrogate - real [95% CI]':>30s}")
    summary = {}
    for metric, d in draws.items():
        real, surrogate = curves_for(d, rows)
        for j, p in enumerate(GRID):
            diff = surrogate[:, j] - real[:, j]
            cell = "anchor (same model)" if p in (0.0, 1.0) else "{:+.4f} [{:+.4f}, {:+.4f}]".format(
                diff[0], *interval(diff[1:]))
            print(f"{metric:14s} {p:5.2f} {real[0, j]:8.4f} {surrogate[0, j]:9.4f} {cell:>30s}")
        rho = spearman(real, surrogate)
        inner = [j for j, p in enumerate(GRID) if p not in (0.0, 1.0)]
        mad = np.abs(surrogate[:, inner] - real[:, inner]).mean(-1)
        spread = real[:, :].max(-1) - real[:, :].min(-1)
        best_real, best_surrogate = GRID[int(np.argmin(real[0]) if "loss" in metric else np.argmax(real[0]))], \
            GRID[int(np.argmin(surrogate[0]) if "loss" in metric else np.argmax(surrogate[0]))]
        summary[metric] = {"spearman": float(rho[0]), "spearman_ci": interval(rho[1:]), "mean_abs_diff": float(mad[0]),
                           "mean_abs_diff_ci": interval(mad[1:]), "real_spread": float(spread[0]),
                           "real_spread_ci": interval(spread[1:]), "best_real": best_real,
                           "best_surrogate": best_surrogate}
    per_task_table(correct, tasks, per_task)
    print(f"\nhow much the curve moves (paired, real models): {'metric':14s}")
    for metric, d in draws.items():
        real, _ = curves_for(d, rows)
        ends = real[:, -1] - real[:, 0]
        hi, lo = int(np.argmax(real[0])), int(np.argmin(real[0]))
        span = real[:, hi] - real[:, lo]
        line = (f"  {metric:14s} 100% - 0%: {ends[0]:+.4f} [{interval(ends[1:])[0]:+.4f}, {interval(ends[1:])[1]:+.4f}]"
                f"; highest - lowest ({GRID[hi]:.2f} - {GRID[lo]:.2f}): {span[0]:+.4f} "
                f"[{interval(span[1:])[0]:+.4f}, {interval(span[1:])[1]:+.4f}]")
        if ("untuned", -1.0) in d:
            tuned = real[:, 0] - d[("untuned", -1.0)]
            line += f"; fine-tuning (0% - untuned): {tuned[0]:+.4f} [{interval(tuned[1:])[0]:+.4f}, " \
                    f"{interval(tuned[1:])[1]:+.4f}]"
        print(line)
    print(f"\n{'metric':14s} {'Spearman [95% CI]':>24s} {'mean |diff| 25-75% [CI]':>28s} "
          f"{'real curve spread [CI]':>26s} {'best: real / surrogate':>24s}")
    for metric, s in summary.items():
        print(f"{metric:14s} {s['spearman']:+8.2f} [{s['spearman_ci'][0]:+.2f}, {s['spearman_ci'][1]:+.2f}]"
              f"   {s['mean_abs_diff']:.4f} [{s['mean_abs_diff_ci'][0]:.4f}, {s['mean_abs_diff_ci'][1]:.4f}]"
              f"   {s['real_spread']:.4f} [{s['real_spread_ci'][0]:.4f}, {s['real_spread_ci'][1]:.4f}]"
              f"   {s['best_real']:.2f} / {s['best_surrogate']:.2f}")

    trials = {k: r for k, r in rows.items()}
    secs = lambda r: float((r["train_seconds"] or 0) + (r["eval_seconds"] or 0))  # noqa: E731
    real_arm = sum(secs(r) for (k, _), r in trials.items() if k == "real")
    real_loss = sum(s for (k, _), s in loss_seconds.items() if k == "real")
    anchors = sum(secs(r) for (k, p), r in trials.items() if k == "real" and p in (0.0, 1.0))
    surrogate_arm = anchors + sum(secs(r) for (k, _), r in trials.items() if k == "surrogate")
    surrogate_loss = sum(s for (k, p), s in loss_seconds.items() if k == "surrogate" or p in (0.0, 1.0))
    train_real = sum(float(r["train_seconds"] or 0) for (k, _), r in trials.items() if k == "real")
    interp = sum(float(r["train_seconds"] or 0) for (k, _), r in trials.items() if k == "surrogate")
    print(f"\nwall time (trial stages as recorded in the tables, + held-out losses here), {cpu_name()}:")
    print(f"  real grid (5 fine-tunes, {train_real:.0f} s of training): {real_arm:.0f} s + {real_loss:.0f} s")
    print(f"  surrogate (2 anchor fine-tunes + 3 interpolations, {interp:.1f} s interpolating): "
          f"{surrogate_arm:.0f} s + {surrogate_loss:.0f} s")
    print(f"  the whole sweep as run (codemix run/resume, start-up included): {sweep_seconds:.0f} s")
    print("\nverdict:")
    for metric, s in summary.items():
        ranks = "orders the proportions as the real models do" if s["spearman_ci"][0] > 0 else \
            "does not order the proportions reliably (rank correlation interval reaches 0 or below)"
        size = "within" if s["mean_abs_diff"] < 0.5 * s["real_spread"] else "not within"
        print(f"  {metric}: the surrogate {ranks}; its mean error between the anchors ({s['mean_abs_diff']:.4f}) is "
              f"{size} half the real curve's spread ({s['real_spread']:.4f})")
    print(json.dumps({"summary": summary, "seconds": {"real": real_arm + real_loss,
                                                      "surrogate": surrogate_arm + surrogate_loss,
                                                      "sweep": sweep_seconds}}))


if __name__ == "__main__":
    main()
