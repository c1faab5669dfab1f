"""A simulated sweep with known accuracy curves, to measure searchers without Ray or training.

A ``Truth`` is one family's per-task accuracy vs proportion; a trial at proportion x draws each task's
correct count as Binomial(n, p_t(x)) (optionally with a per-trial logit shift, the seed-to-seed variation
of real fine-tuning). The true optimum is the arg-max of the mean of the task curves, as the report
defines it. ``run_optimum``, ``run_grid`` and ``run_optuna`` each spend trials on one truth and say how
many they needed for an arg-max interval of a target width and whether the interval covers the truth;
all three use the same curve model (``codemix.search.fit``) for the interval, so they differ only in
where they put their trials. Used by bench_search.py and tests/sweep/test_optimum.py (pytest puts bench/ on the
path: ``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codemix.search.fit import Observation, fit_model
from codemix.search.ledger import FINISHED
from codemix.search.optimum import OptimumSearch, Space
from codemix.search.surrogate import SurrogateSearch, is_surrogate

GROUP = ("llama", "any", 0.0)


@dataclass
class Truth:
    """Per-task curves ``logit p_t(x) = base_t + bump_t(x)``; ``shape`` 'quadratic' (inside the model family)
    or 'skewed' (asymmetric linex bumps: the model is misspecified)."""

    base: np.ndarray  # (T,) logits at the task's optimum
    centre: np.ndarray  # (T,) each task's own optimum
    drop: np.ndarray  # (T,) logit drop at distance 0.5 from the centre
    shape: str = "quadratic"
    seed_sd: float = 0.0  # per-trial, per-task logit noise beyond binomial

    @property
    def tasks(self) -> list[str]:
        return [f"task{i}" for i in range(len(self.base))]

    def logits(self, x) -> np.ndarray:
        d = np.asarray(x, float)[..., None] - self.centre  # (..., T)
        if self.shape == "quadratic":
            bump = (d / 0.5) ** 2
        else:  # linex: quadratic near the centre, steeper on one side (k = 3)
            bump = (np.exp(3 * d) - 3 * d - 1) / (np.exp(1.5) - 2.5)
        return self.base - self.drop * bump

    def accuracy(self, x) -> np.ndarray:
        """The scope's true accuracy (mean over tasks) at ``x``."""
        return (1 / (1 + np.exp(-self.logits(x)))).mean(-1)

    def optimum(self, lo: float = 0.0, hi: float = 1.0) -> float:
        xs = np.linspace(lo, hi, 20001)
        return float(xs[np.argmax(self.accuracy(xs))])

    def trial(self, x: float, n: int, rng: np.random.Generator) -> dict[str, tuple[int, int]]:
        """One trial's (correct, n) per task."""
        logits = self.logits(x) + rng.normal(0, self.seed_sd, len(self.base)) * (self.seed_sd > 0)
        k = rng.binomial(n, 1 / (1 + np.exp(-logits)))
        return {t: (int(c), n) for t, c in zip(self.tasks, k)}


def random_truth(rng: np.random.Generator, n_tasks: int = 12, *, drop: float = 0.4, shape: str = "quadratic",
                 seed_sd: float = 0.0) -> Truth:
    """Tasks between 25 % and 75 % accurate, optima near a common one in [0.15, 0.85], drops around ``drop``."""
    centre = rng.uniform(0.15, 0.85)
    return Truth(base=rng.uniform(-1.1, 1.1, n_tasks), centre=np.clip(centre + rng.normal(0, 0.08, n_tasks), 0, 1),
                 drop=drop * rng.uniform(0.5, 1.5, n_tasks), shape=shape, seed_sd=seed_sd)


@dataclass
class Run:
    """How one search went on one truth."""

    trials: int  # spent
    reached: bool  # the interval got narrower than the target within the budget
    width: float  # of the final interval
    covered: bool  # the final interval holds the true optimum
    optimum: float  # reported
    truth: float


def _result(obs: list[Observation], truth: Truth, target: float, reached: bool | None = None) -> Run:
    model = fit_model(obs, truth.tasks, 0.0, 1.0)
    iv = model.interval()
    true = truth.optimum()
    return Run(len(obs), iv.width <= target if reached is None else reached, iv.width,
               iv.low - 1e-9 <= true <= iv.high + 1e-9, iv.optimum, true)


def run_optimum(truth: Truth, rng: np.random.Generator, *, n: int = 100, budget: int = 30, target: float = 0.1,
                batch: int = 1, seeds: int = 3) -> Run:
    """The optimum searcher's propose/observe loop: ``batch`` trials run at a time, ``budget`` in all."""
    search = OptimumSearch(Space(0.0, 1.0, groups=[GROUP], seeds=list(range(seeds))), truth.tasks, target,
                           n_per_task=n, seed=int(rng.integers(1 << 30)))
    spent, finished = 0, False
    while spent < budget and not finished:
        running = {}
        for i in range(min(batch, budget - spent)):
            config = search.propose(f"t{spent + i}")
            if config == FINISHED:
                finished = True
            if not isinstance(config, dict):
                break
            running[f"t{spent + i}"] = config
        if not running:
            break
        for trial_id, config in running.items():  # the batch finishes together
            search.observe(config, truth.trial(config["proportion"], n, rng), trial_id)
        spent += len(running)
    obs = search._obs(GROUP)
    return _result(obs, truth, target, reached=search.done(GROUP))


@dataclass
class SurrogateError:
    """How the surrogate curve (models interpolated between the anchors' fine-tunes) differs from the truth, in logits
    per task: ``bias`` at most ``size`` (a smooth curve, zero at the anchors 0 and 1, the same shape for every task
    up to ``task_sd`` of its size: a systematic error), plus ``noise_sd`` of independent noise per evaluation and
    task (beyond binomial)."""

    size: float = 0.5
    noise_sd: float = 0.0
    task_sd: float = 0.3

    def bias(self, rng: np.random.Generator, n_tasks: int):
        """A random bias function of this size: a mix of a bump (the middle raised or lowered, as a barrier between
        the fine-tunes would) and a tilt that moves the optimum, each task's scaled by 1 + task_sd N(0, 1)."""
        u, v = rng.normal(size=2)
        xs = np.linspace(0, 1, 201)
        shape = lambda z: u * 4 * z * (1 - z) + v * np.sin(2 * np.pi * z)  # noqa: E731 - a one-line curve
        norm = np.abs(shape(xs)).max() or 1.0
        scale = self.size / norm * (1 + self.task_sd * rng.normal(size=n_tasks))
        return lambda z: np.asarray(shape(np.asarray(z, float)))[..., None] * scale


def run_surrogate(truth: Truth, rng: np.random.Generator, error: SurrogateError, *, n: int = 100, budget: int = 30,
                  target: float = 0.1, points: int = 21, trust: float = 0.2, seeds: int = 3) -> Run:
    """The surrogate searcher: anchors 0 and 1 (real trials), the surrogate over ``points`` grid points (truth +
    ``error``), then real trials until the real interval is narrower than ``target`` or ``budget`` real trials
    ran. ``Run.trials`` counts real trials only (the anchors included)."""
    grid = [round(float(x), 6) for x in np.linspace(0, 1, points)]
    search = SurrogateSearch(Space(0.0, 1.0, grid, groups=[GROUP], seeds=list(range(seeds))), truth.tasks, target,
                             [0.0, 1.0], trust=trust, n_per_task=n, seed=int(rng.integers(1 << 30)))
    bias = error.bias(rng, len(truth.tasks))
    real = 0
    while real < budget:
        config = search.propose(f"t{len(search.observed)}")
        if not isinstance(config, dict):
            break
        x = config["proportion"]
        if is_surrogate(config):
            logits = truth.logits(x) + bias(x) + rng.normal(0, error.noise_sd, len(truth.tasks)) * (error.noise_sd > 0)
            counts = {t: (int(c), n) for t, c in zip(truth.tasks, rng.binomial(n, 1 / (1 + np.exp(-logits))))}
        else:
            counts = truth.trial(x, n, rng)
            real += 1
        search.observe(config, counts, f"t{len(search.observed)}")
    return _result(search.real._obs(GROUP), truth, target, reached=search.real.done(GROUP))


def run_grid(truth: Truth, rng: np.random.Generator, points: int, *, n: int = 100, target: float = 0.1) -> Run:
    """One evenly spaced grid of ``points`` proportions over [0, 1], one trial each."""
    obs = [Observation(float(x), truth.trial(float(x), n, rng)) for x in np.linspace(0, 1, points)]
    return _result(obs, truth, target)


def grid_trials_to_width(runs_by_points: dict[int, list[Run]], share: float = 0.5) -> int | None:
    """The fewest grid points whose interval is narrower than the target in at least ``share`` of repetitions
    (each grid size is drawn independently: stopping at the first narrow one would select lucky draws)."""
    return next((m for m, runs in sorted(runs_by_points.items()) if np.mean([r.reached for r in runs]) >= share),
                None)


def run_optuna(truth: Truth, rng: np.random.Generator, *, n: int = 100, budget: int = 30, target: float = 0.1) -> Run:
    """Optuna's TPE maximising the observed mean accuracy, one trial at a time; the interval is the same
    model's, checked after every trial (once three distinct proportions were run)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=int(rng.integers(1 << 30))))
    obs: list[Observation] = []
    for _ in range(budget):
        trial = study.ask()
        x = trial.suggest_float("proportion", 0.0, 1.0)
        counts = truth.trial(x, n, rng)
        obs.append(Observation(x, counts))
        study.tell(trial, float(np.mean([k / m for k, m in counts.values()])))
        if len(obs) >= 3:
            run = _result(obs, truth, target)
            if run.reached:
                return run
    return _result(obs, truth, target)


def summarise(runs: list[Run]) -> dict:
    """Coverage, share reaching the target, and trials spent (median, mean) over repetitions."""
    trials = np.array([r.trials for r in runs])
    reached = np.array([r.reached for r in runs])
    return {"repetitions": len(runs), "coverage": float(np.mean([r.covered for r in runs])),
            "reached": float(reached.mean()), "median_trials": float(np.median(trials)),
            "mean_trials": float(trials.mean()),
            "median_trials_reached": float(np.median(trials[reached])) if reached.any() else float("nan"),
            "median_width": float(np.median([r.width for r in runs])),
            "median_abs_error": float(np.median([abs(r.optimum - r.truth) for r in runs]))}
