"""Accuracy vs proportion as quadratic-logistic curves fitted to correct counts, and the posterior of the arg-max.

Each task of a scope has its own curve, ``logit P(correct | x) = b0 + b1 u + b2 u^2`` with ``u`` the proportion
rescaled to [-1, 1] over the searched range; it is fitted by maximum a-posteriori to the correct counts out of
n of every trial (a binomial likelihood, one observation per trial and task, seeds as replicates) under a weak
Gaussian prior (``PRIOR_SD``, which keeps a task at 0 % or 100 % finite and a curve through two points wide).
The scope's accuracy is the mean of its tasks' curves, as the paper averages task accuracies.

Uncertainty is a Laplace approximation: coefficients ~ N(fit, dispersion * H^-1) per task, H the posterior
precision. ``dispersion`` (quasi-binomial, >= 1) is the Pearson chi-square per residual degree of freedom pooled
over tasks, so seed-to-seed variation beyond binomial noise widens the interval instead of being ignored. The
arg-max interval comes from the arg-max of each drawn curve. The same machinery predicts how an interval would
narrow if more trials were run at given proportions (their Fisher information added, the fit held fixed): the
searcher proposes where that predicted width is smallest, and ``grid_trials_for_width`` sizes a grid.

The interval holds when the curves are quadratic in logit over the range (bench/bench_search.py, 200 simulated
sweeps: coverage 0.96); on strongly skewed curves it is too narrow (coverage 0.3-0.4, a grid's 0.45-0.7): the
shape is the model's assumption, not something it checks. ``PRIOR_SD`` sets the degree (a fourth entry adds
a cubic term: coverage 0.975 on the skewed curves, for about twice the trials).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

PRIOR_SD = np.array([10.0, 4.0, 4.0])  # intercept, slope, curvature, in logits over u in [-1, 1]
GRID = 101  # resolution of the arg-max search (refined between grid points by a parabola)


@dataclass(frozen=True)
class Observation:
    """One trial: its proportion and, per task of the scope, (correct, n)."""

    x: float
    counts: dict[str, tuple[int, int]]


def _design(x, lo: float, hi: float) -> np.ndarray:
    u = 2 * (np.asarray(x, float) - lo) / (hi - lo) - 1 if hi > lo else np.zeros_like(np.asarray(x, float))
    return np.stack([u ** d for d in range(len(PRIOR_SD))], axis=-1)


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # stable at any z, no clipping needed


@dataclass
class TaskFit:
    """One task's fitted coefficients, posterior precision (binomial, before dispersion) and Pearson residual."""

    beta: np.ndarray  # (3,)
    precision: np.ndarray  # (3, 3)
    chi2: float
    dof: int  # observations - 3 (negative: fewer observations than coefficients)


def fit_task(x: np.ndarray, k: np.ndarray, n: np.ndarray, lo: float, hi: float) -> TaskFit:
    """MAP fit of one task's quadratic-logistic curve to counts ``k`` out of ``n`` at proportions ``x`` (Newton)."""
    z = _design(x, lo, hi)
    prior = np.diag(1 / PRIOR_SD ** 2)
    beta = np.zeros(len(PRIOR_SD))
    rate = (k.sum() + 0.5) / (n.sum() + 1)
    beta[0] = np.log(rate / (1 - rate))
    for _ in range(100):
        p = _sigmoid(z @ beta)
        grad = z.T @ (k - n * p) - prior @ beta
        hess = (z * (n * p * (1 - p))[:, None]).T @ z + prior
        step = np.linalg.solve(hess, grad)
        step *= min(1.0, 5.0 / max(np.abs(step).max(), 1e-12))  # damped: a separable task moves slowly
        beta = beta + step
        if np.abs(step).max() < 1e-9:
            break
    p = _sigmoid(z @ beta)
    chi2 = float((((k - n * p) ** 2) / np.maximum(n * p * (1 - p), 1e-9)).sum())
    return TaskFit(beta, precision_at(beta, x, n, lo, hi), chi2, len(x) - len(PRIOR_SD))


def precision_at(beta: np.ndarray, x: np.ndarray, n: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The posterior precision (binomial Fisher information of trials of ``n`` examples at ``x``, plus the prior)
    of one task's coefficients at ``beta``."""
    z = _design(x, lo, hi)
    p = _sigmoid(z @ beta)
    return (z * (np.asarray(n, float) * p * (1 - p))[:, None]).T @ z + np.diag(1 / PRIOR_SD ** 2)


@dataclass
class ArgmaxInterval:
    """The optimum of a fitted scope curve and its interval."""

    optimum: float
    low: float
    high: float
    optimum_accuracy: float

    @property
    def width(self) -> float:
        return self.high - self.low


class CurveModel:
    """The fitted curves of a scope's tasks over [lo, hi], with the Laplace posterior of their mean's arg-max."""

    def __init__(self, fits: dict[str, TaskFit], lo: float, hi: float, dispersion: float, n_obs: int):
        self.fits, self.lo, self.hi, self.dispersion, self.n_obs = fits, lo, hi, dispersion, n_obs
        self.tasks = list(fits)
        self.beta = np.stack([fits[t].beta for t in self.tasks])  # (T, 3)
        self.precision = np.stack([fits[t].precision for t in self.tasks])  # (T, 3, 3)
        self.xs = np.linspace(lo, hi, GRID)

    def curve(self, x) -> np.ndarray:
        """The scope's fitted accuracy (mean of task curves) at ``x``."""
        return _sigmoid(np.einsum("...k,tk->...t", _design(x, self.lo, self.hi), self.beta)).mean(-1)

    def information(self, x: float, n: dict[str, int] | int) -> np.ndarray:
        """(T, 3, 3) Fisher information of one trial at ``x`` with ``n`` examples per task (fit held fixed)."""
        z = _design(x, self.lo, self.hi)
        p = _sigmoid(self.beta @ z)
        ns = np.array([n[t] if isinstance(n, dict) else n for t in self.tasks], float)
        return (ns * p * (1 - p))[:, None, None] * np.outer(z, z)[None]

    def coefficient_draws(self, extra: np.ndarray | None = None, n_draws: int = 1000, seed: int = 0) -> np.ndarray:
        """(..., B, T, 3) coefficient draws; ``extra`` (..., T, 3, 3) is information of trials not yet observed.

        The standard-normal draws depend only on ``seed``, so widths under different ``extra`` compare
        without Monte-Carlo noise between them (common random numbers)."""
        precision = self.precision if extra is None else self.precision + extra / self.dispersion
        cov = np.linalg.inv(precision) * self.dispersion  # dispersion scales the binomial covariance
        chol = np.linalg.cholesky(cov)  # (..., T, 3, 3)
        z = np.random.default_rng(seed).standard_normal((n_draws, len(self.tasks), len(PRIOR_SD)))
        return self.beta + np.einsum("...tij,btj->...bti", chol, z)

    def _argmax(self, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arg-max and max of each drawn mean curve over [lo, hi]; ``betas`` is (..., B, T, 3)."""
        zg = _design(self.xs, self.lo, self.hi)  # (G, 3)
        return curve_argmax(_sigmoid(betas @ zg.T).mean(-2), self.xs)  # matmul: much faster than einsum here

    def interval(self, confidence: float = 0.95, extra: np.ndarray | None = None, n_draws: int = 1000,
                 seed: int = 0) -> ArgmaxInterval:
        """The optimum (arg-max of the fitted curve) and the percentile interval of the drawn arg-maxes."""
        x, y = self._argmax(self.coefficient_draws(extra, n_draws, seed))
        q = [(1 - confidence) / 2, 1 - (1 - confidence) / 2]
        point, best = self._argmax(self.beta[None])
        lo, hi = np.quantile(x, q)
        return ArgmaxInterval(float(point[0]), float(lo), float(hi), float(best[0]))

    def widths(self, extras: np.ndarray, confidence: float = 0.95, n_draws: int = 128, seed: int = 0) -> np.ndarray:
        """Predicted arg-max interval widths, one per (C, T, 3, 3) slice of ``extras``."""
        x, _ = self._argmax(self.coefficient_draws(extras, n_draws, seed))  # (C, B)
        q = np.quantile(x, [(1 - confidence) / 2, 1 - (1 - confidence) / 2], axis=-1)
        return q[1] - q[0]

    def band(self, xs: np.ndarray, confidence: float = 0.95, n_draws: int = 1000, seed: int = 0) -> np.ndarray:
        """(2, len(xs)) pointwise interval of the scope curve at ``xs``."""
        betas = self.coefficient_draws(None, n_draws, seed)
        curves = _sigmoid(np.einsum("btk,gk->btg", betas, _design(xs, self.lo, self.hi))).mean(1)
        return np.quantile(curves, [(1 - confidence) / 2, 1 - (1 - confidence) / 2], axis=0)


def curve_argmax(curves: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arg-max and max of curves (..., G) sampled at the evenly spaced ``xs`` (G), the arg-max refined between grid
    points by a parabola through the best point and its neighbours."""
    i = curves.argmax(-1)
    inner = np.clip(i, 1, len(xs) - 2)
    f0, f1, f2 = (np.take_along_axis(curves, (inner + d)[..., None], -1)[..., 0] for d in (-1, 0, 1))
    denom = f0 - 2 * f1 + f2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (f0 - f2) / denom, 0.0)
    h = xs[1] - xs[0]
    x = np.where((i == inner), xs[inner] + np.clip(shift, -0.5, 0.5) * h, xs[i])
    return x, curves.max(-1)


def fit_model(observations: Iterable[Observation], tasks: Sequence[str], lo: float, hi: float) -> CurveModel:
    """Fit every task of ``tasks`` to the observations (a task missing from an observation is skipped there)."""
    obs = list(observations)
    fits = {}
    for t in tasks:
        rows = [(o.x, *o.counts[t]) for o in obs if t in o.counts and o.counts[t][1] > 0]
        x, k, n = (np.array(c, float) for c in zip(*rows)) if rows else (np.zeros(0),) * 3
        fits[t] = fit_task(x, k, n, lo, hi)
    dof = sum(max(f.dof, 0) for f in fits.values())
    chi2 = sum(f.chi2 for f in fits.values() if f.dof > 0)
    dispersion = max(1.0, chi2 / dof) if dof >= 3 else 1.0
    return CurveModel(fits, lo, hi, dispersion, len(obs))


def grid_trials_for_width(model: CurveModel, width: float, n: dict[str, int] | int, *, max_points: int = 101,
                          confidence: float = 0.95) -> int | None:
    """Trials an evenly spaced grid over [lo, hi] would need for an arg-max interval of ``width``, if the curves
    are the fitted ones (predicted from its Fisher information alone, no data); None beyond ``max_points``."""
    prior_only = CurveModel({t: TaskFit(f.beta, np.diag(1 / PRIOR_SD ** 2), 0.0, 0) for t, f in model.fits.items()},
                            model.lo, model.hi, model.dispersion, 0)
    for m in range(3, max_points + 1):
        info = sum(prior_only.information(x, n) for x in np.linspace(model.lo, model.hi, m))
        if prior_only.widths(info[None], confidence, n_draws=400)[0] <= width:
            return m
    return None
