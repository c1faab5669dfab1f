"""The Ray Tune searchers a sweep spec may name (``search.searcher``), as registered factories.

A leaf module (it imports Ray and Optuna only when a searcher is built), so the config can check a
name without importing the sweep. A new searcher is one ``@register_searcher("name")`` factory.
"""

from __future__ import annotations

from collections.abc import Callable

# name -> factory(seed, known params, their objectives) -> a ray.tune.search.Searcher
SEARCHERS: dict[str, Callable[[int, list[dict], list[float]], object]] = {}


def register_searcher(name: str):
    """Declare a searcher. The factory gets the seed and the known points (Tune configs with their
    objective values) and must return a Tune ``Searcher`` that treats them as already evaluated."""
    def wrap(factory):
        SEARCHERS[name] = factory
        return factory
    return wrap


@register_searcher("optuna")
def _optuna_tpe(seed: int, points: list[dict], rewards: list[float]):
    """Optuna's TPE sampler (its first 10 points, known ones included, are random draws)."""
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(seed=seed, points_to_evaluate=points or None, evaluated_rewards=rewards or None)


@register_searcher("random")
def _optuna_random(seed: int, points: list[dict], rewards: list[float]):
    """Uniform random search (a baseline for the Bayesian searcher); known points are recorded, not used."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(sampler=optuna.samplers.RandomSampler(seed=seed), points_to_evaluate=points or None,
                        evaluated_rewards=rewards or None)
