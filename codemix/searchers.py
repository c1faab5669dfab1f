"""The Ray Tune searchers a sweep spec may name (``search.searcher``), as registered factories.

A leaf module (it imports Ray and Optuna only when a searcher is built), so the config can check a
name without importing the sweep. A new searcher is one ``@register_searcher("name")`` factory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    """A point the searcher gets as already evaluated: its Tune config, objective and score rows (one per task)."""

    config: dict
    objective: float
    scores: list[dict]


# name -> factory(spec, known points) -> a ray.tune.search.Searcher
SEARCHERS: dict[str, Callable[[object, list[Known]], object]] = {}


def register_searcher(name: str):
    """Declare a searcher. The factory gets the sweep spec and the known points and must return a Tune
    ``Searcher`` that treats them as already evaluated."""
    def wrap(factory):
        SEARCHERS[name] = factory
        return factory
    return wrap


@register_searcher("optuna")
def _optuna_tpe(spec, known: list[Known]):
    """Optuna's TPE sampler (its first 10 points, known ones included, are random draws)."""
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(seed=spec.search.seed[0], points_to_evaluate=[k.config for k in known] or None,
                        evaluated_rewards=[k.objective for k in known] or None)


@register_searcher("random")
def _optuna_random(spec, known: list[Known]):
    """Uniform random search (a baseline for the Bayesian searcher); known points are recorded, not used."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(sampler=optuna.samplers.RandomSampler(seed=spec.search.seed[0]),
                        points_to_evaluate=[k.config for k in known] or None,
                        evaluated_rewards=[k.objective for k in known] or None)


@register_searcher("optimum")
def _optimum(spec, known: list[Known]):
    """Narrows the interval of the best proportion (``codemix.sweep.optimum``); known points' counts are fitted.

    Its implementation lives in the sweep package, which imports the config that imports this registry:
    it is named by path, as a plugin's entry point would be, so this module stays a leaf."""
    import importlib

    return importlib.import_module("codemix.sweep.policy_searcher").optimum_searcher(spec, known)


@register_searcher("halving")
def _halving(spec, known: list[Known]):
    """Successive halving over the proportion grid (``codemix.sweep.halving``), named by path as 'optimum' is."""
    import importlib

    return importlib.import_module("codemix.sweep.policy_searcher").halving_searcher(spec, known)


def rung_sizes(n: int, rungs: int, eta: int) -> list[int]:
    """Successive halving: how many proportions run at each rung, from ``n`` at the first (the best
    ceil(k / eta) of k go on)."""
    sizes = [n]
    for _ in range(rungs - 1):
        sizes.append(max(1, math.ceil(sizes[-1] / eta)))
    return sizes


def planned_trials(n_proportions: int, n_groups: int, n_seeds: int, rungs: int, eta: int) -> int:
    """The trials successive halving runs over a grid (failed trials aside)."""
    return sum(rung_sizes(n_proportions, rungs, eta)) * n_groups * n_seeds
