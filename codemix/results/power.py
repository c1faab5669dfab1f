"""What a comparison can show: the minimum detectable effect (MDE) of the report's paired tests.

The report compares two mixes on the same questions with McNemar's test (``analysis.mcnemar``):
of ``n`` paired questions, ``b`` are right under the first model only and ``c`` under the second
only; the test reads the ``b + c`` discordant pairs. With ``p_d = (b + c) / n`` the share of
questions on which the two models disagree (the discordance), the difference in accuracy is
``delta = (b - c) / n`` and, given the discordant pairs, the statistic ``(b - c) / sqrt(b + c)``
is about normal with mean ``delta * sqrt(n / p_d)`` and variance 1. The test (two-sided, level
``alpha``) then detects ``delta`` with probability ``power`` when

    delta = (z_{1 - alpha/2} + z_{power}) * sqrt(p_d / n)          (the MDE)

e.g. 2.80 * sqrt(0.2 / 100) = 0.125 at alpha 0.05 and power 0.8: 100 questions on which two
models disagree 20 % of the time cannot reliably tell apart accuracies closer than 12.5 points.
A non-significant difference smaller than that is "too small to tell", not "no effect".

The same formula forecasts a design before it runs (``codemix plan``, ``codemix.sweep.power_forecast``):
``design_mde`` takes the questions per task, the seeds and a forecast discordance per task, and both
it and the report's ``paired_mde`` are ``mde_of_pairs``; ``questions_for`` inverts it for a target.

Caveats, stated where the report prints the numbers:

- no discordant pair observed: the discordance is then unknown but small; ``paired_mde`` counts
  half a discordant pair (``0.5 / n``, the usual correction for an empty cell) and marks the result
  ``assumed``. So the MDE grows with the discordant pairs seen (0 < 1 < 2 ...), as it should; an upper
  bound (``3 / n``, the rule of three) would put zero discordant pairs above one;
- the formula is a normal approximation; with few discordant pairs the exact binomial test the
  report runs is weaker still, and below ``min_discordant(alpha)`` pairs (6 at alpha 0.05) it
  cannot reject at all;
- without paired predictions the report's significance comes from the bootstrap CI of the
  difference; ``bootstrap_mde`` reads the standard error off that CI (unpaired).

The normal quantiles come from ``statistics.NormalDist``; ``questions_for`` scans limits with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from codemix.results.analysis import mcnemar

POWER = 0.8  # the power the report's MDEs are computed for
_NORMAL = NormalDist()


def z_sum(alpha: float = 0.05, power: float = POWER) -> float:
    """z_{1 - alpha/2} + z_{power}: 1.96 + 0.84 = 2.80 at alpha 0.05 (two-sided) and power 0.8."""
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"alpha and power must lie in (0, 1), not {alpha}, {power}")
    return _NORMAL.inv_cdf(1 - alpha / 2) + _NORMAL.inv_cdf(power)


def mde_mcnemar(n_pairs: int, discordance: float, *, alpha: float = 0.05, power: float = POWER) -> float:
    """The smallest accuracy difference McNemar's test detects with ``power`` (normal approximation).

    ``n_pairs`` questions answered by both models, ``discordance`` the share of them on which the
    two disagree: (z_{1-alpha/2} + z_power) * sqrt(discordance / n_pairs). NaN without pairs.
    """
    if n_pairs <= 0:
        return float("nan")
    if not 0 <= discordance <= 1:
        raise ValueError(f"discordance is a share in [0, 1], not {discordance}")
    return z_sum(alpha, power) * math.sqrt(discordance / n_pairs)


ASSUMED_DISCORDANT = 0.5  # discordant pairs counted where none was observed (see the module docstring)


@dataclass(frozen=True)
class MDE:
    """A minimum detectable effect and where it came from.

    ``method``: "mcnemar" (paired, from the discordance), "bootstrap" (unpaired, from the CI of the
    difference) or "none" (nothing to compute it from: ``value`` is NaN). ``assumed``: the discordance
    was not observed (no discordant pair) but taken as ``ASSUMED_DISCORDANT`` pairs out of the n.
    """

    value: float
    method: str
    discordance: float = float("nan")
    assumed: bool = False


def paired_mde(n_pairs: int, b: int, c: int, *, alpha: float = 0.05, power: float = POWER) -> MDE:
    """The MDE of a paired comparison from its discordant counts ``b`` and ``c`` out of ``n_pairs``
    (``ASSUMED_DISCORDANT`` discordant pairs where none was observed: ``assumed``)."""
    return mde_of_pairs(n_pairs, b + c, alpha=alpha, power=power)


def design_mde(questions: Sequence[int], discordance: Sequence[float], seeds: int = 1, *, alpha: float = 0.05,
               power: float = POWER) -> MDE:
    """The MDE a design will have: ``questions[t]`` questions of task t, each seed's pairs matched (as the report
    pairs them), ``discordance[t]`` the share of task t's pairs expected to disagree.

    n = seeds * sum(questions) pairs, of which seeds * sum(q_t * d_t) discordant: ``mde_of_pairs``, the function
    the report's after-the-fact MDE (``paired_mde``) is.
    """
    discordant = seeds * sum(q * d for q, d in zip(questions, discordance, strict=True))
    return mde_of_pairs(seeds * sum(questions), discordant, alpha=alpha, power=power)


def mde_of_pairs(n_pairs: int, discordant: float, *, alpha: float = 0.05, power: float = POWER) -> MDE:
    """The MDE of a comparison of ``n_pairs`` paired questions of which ``discordant`` disagree, pooled over the
    tasks in scope as the report pools them: observed counts after the run, expected ones before it.

    Fewer than ``ASSUMED_DISCORDANT`` discordant pairs count as that many (``assumed``): an observed zero, or a
    forecast that expects almost none.
    """
    if n_pairs <= 0:
        return MDE(float("nan"), "none")
    assumed = discordant < ASSUMED_DISCORDANT
    share = (ASSUMED_DISCORDANT if assumed else discordant) / n_pairs
    return MDE(mde_mcnemar(n_pairs, min(share, 1.0), alpha=alpha, power=power), "mcnemar", share, assumed=assumed)


def questions_for(target: float, available: Sequence[int | None], discordance: Sequence[float], seeds: int = 1, *,
                  alpha: float = 0.05, power: float = POWER, most: int = 1_000_000) -> int | None:
    """The fewest questions per task (eval.limit) whose ``design_mde`` is at most ``target``; None if none is.

    A task keeps at most ``available[t]`` questions (its data; None: generated, as many as asked), so past
    every task's size more questions change nothing; ``most`` bounds the search for generated tasks.
    """
    if not 0 < target:
        raise ValueError(f"the target MDE must be positive, not {target}")
    caps = np.array([most if a is None else min(a, most) for a in available], dtype=np.int64)
    d, z = np.asarray(discordance, dtype=float), z_sum(alpha, power)
    for start in range(1, int(caps.max(initial=0)) + 1, 1 << 16):  # in chunks: generated tasks may need many
        q = np.arange(start, min(start + (1 << 16), int(caps.max()) + 1))
        kept = np.minimum(q[:, None], caps[None, :])  # (q, tasks): the questions each task keeps at limit q
        n = seeds * kept.sum(1)
        discordant = np.maximum(seeds * (kept * d).sum(1), ASSUMED_DISCORDANT)
        reached = np.flatnonzero(z * np.sqrt(discordant) / n <= target)  # mde_mcnemar(n, D / n) <= target
        if len(reached):
            return int(q[reached[0]])
    return None


def bootstrap_mde(ci_low: float, ci_high: float, *, confidence: float = 0.95, alpha: float = 0.05,
                  power: float = POWER) -> MDE:
    """The MDE of an unpaired comparison from the ``confidence`` CI of the difference: (z + z) * SE,
    the standard error read off the CI's width (width / (2 z_{1 - (1 - confidence)/2}))."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return MDE(float("nan"), "none")
    se = (ci_high - ci_low) / (2 * _NORMAL.inv_cdf(1 - (1 - confidence) / 2))
    return MDE(z_sum(alpha, power) * se, "bootstrap")


def min_discordant(alpha: float = 0.05) -> int:
    """The fewest discordant pairs with which the report's McNemar test can reject at all (all in one direction)."""
    d = 1
    while mcnemar(0, d)[0] >= alpha:
        d += 1
    return d
