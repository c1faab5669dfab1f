"""Optimum search vs grid vs Optuna (TPE) vs the surrogate search on simulated sweeps with known curves (no Ray, no
training).

For each repetition a random truth (12 tasks, binomial noise at n examples per task) is drawn; each method
spends trials until the 95 % arg-max interval (the same quadratic-logistic model for all) is narrower than
--target, or its budget is spent. Printed per method: coverage of the final interval, the share reaching the
target, trials spent. The grid's "trials to width" is the fewest evenly spaced points whose interval is
narrow enough in half the repetitions (each grid size drawn independently).

The surrogate search (``--surrogate-bias``, one run per size) sees, besides real trials, a surrogate curve over
``--surrogate-points`` grid points: the truth plus a smooth bias of at most the stated size in logits (zero at
the anchors 0 and 1, a bump and a tilt, shared by the tasks up to 30 % of its size; ``search_sim.SurrogateError``)
plus binomial noise. Its trials are real trials only (the two anchors included); the surrogate's evaluations
come on top.

    .venv/bin/python bench/bench_search.py --reps 200 [--surrogate-bias 0 0.5 1 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from search_sim import (
    SurrogateError,
    grid_trials_to_width,
    random_truth,
    run_grid,
    run_optimum,
    run_optuna,
    run_surrogate,
    summarise,
)

GRID_SIZES = (5, 7, 9, 12, 15, 20, 25, 30, 40, 50, 60)


def main() -> None:
    """Run the comparison and print one JSON line per method (and the settings)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=100, help="examples per task and trial")
    ap.add_argument("--drop", type=float, default=0.4, help="logit drop at distance 0.5 from a task's optimum")
    ap.add_argument("--shape", default="quadratic", choices=["quadratic", "skewed"])
    ap.add_argument("--seed-sd", type=float, default=0.0, help="per-trial logit noise beyond binomial")
    ap.add_argument("--target", type=float, default=0.1)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--skip-optuna", action="store_true")
    ap.add_argument("--skip-grid", action="store_true")
    ap.add_argument("--skip-optimum", action="store_true")
    ap.add_argument("--surrogate-bias", type=float, nargs="*", default=[],
                    help="surrogate searches, one per bias size (logits, at most, between the anchors)")
    ap.add_argument("--surrogate-noise", type=float, default=0.0, help="surrogate logit noise per evaluation")
    ap.add_argument("--surrogate-points", type=int, default=21, help="grid points of the surrogate search")
    ap.add_argument("--surrogate-trust", type=float, default=0.2, help="search.surrogate.trust")
    a = ap.parse_args()

    def truth(i):
        return random_truth(np.random.default_rng(i), drop=a.drop, shape=a.shape, seed_sd=a.seed_sd)

    def rng(i):
        return np.random.default_rng(10 ** 6 + i)

    print(json.dumps({"settings": vars(a)}))
    if not a.skip_optimum:
        t0 = time.perf_counter()
        runs = [run_optimum(truth(i), rng(i), n=a.n, budget=a.budget, target=a.target, batch=a.batch)
                for i in range(a.reps)]
        print(json.dumps({"method": "optimum", **summarise(runs), "seconds": round(time.perf_counter() - t0, 1)}))
    for size in a.surrogate_bias:
        t0 = time.perf_counter()
        error = SurrogateError(size=size, noise_sd=a.surrogate_noise)
        runs = [run_surrogate(truth(i), rng(i), error, n=a.n, budget=a.budget, target=a.target,
                              points=a.surrogate_points, trust=a.surrogate_trust) for i in range(a.reps)]
        print(json.dumps({"method": "surrogate", "bias_logits": size, "noise_logits": a.surrogate_noise,
                          **summarise(runs), "seconds": round(time.perf_counter() - t0, 1)}))
    if not a.skip_grid:
        t0 = time.perf_counter()
        by_size = {m: [run_grid(truth(i), rng(i), m, n=a.n, target=a.target) for i in range(a.reps)]
                   for m in GRID_SIZES}
        per_size = {m: {k: round(v, 3) for k, v in summarise(r).items()
                        if k in ("reached", "coverage", "median_width")} for m, r in by_size.items()}
        print(json.dumps({"method": "grid", "trials_to_width": grid_trials_to_width(by_size), "by_points": per_size,
                          "seconds": round(time.perf_counter() - t0, 1)}))
    if not a.skip_optuna:
        t0 = time.perf_counter()
        runs = [run_optuna(truth(i), rng(i), n=a.n, budget=a.budget, target=a.target) for i in range(a.reps)]
        print(json.dumps({"method": "optuna", **summarise(runs), "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
