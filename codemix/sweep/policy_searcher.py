"""codemix's own search policies as Ray Tune ``Searcher``s: the optimum search (``codemix.sweep.optimum``) and
successive halving (``codemix.sweep.halving``), fed by trial results.

A policy has ``propose(trial_id)`` (a config, None to wait, or ``FINISHED``), ``observe(config, counts,
trial_id)``, ``forget(trial_id)`` and ``state()`` / ``load_state(state)``; it fits correct counts out of n. A
trial reports per-task accuracies (``task/<name>``) with ``correct/<name>`` and ``n/<name>``; without the
counts n is taken from ``eval.limit`` and the count as accuracy x n (exact when every task has ``limit``
examples). Known points come with their score rows, which hold the counts. The policy's state (observations
and running trials) is pickled by ``save`` for ``Tuner.restore``, so a sweep killed mid-batch resumes with
what it knew.
"""

from __future__ import annotations

import logging
import pickle

from ray.tune.search import Searcher

from codemix.searchers import Known
from codemix.sweep import halving, optimum
from codemix.sweep.ledger import FINISHED

log = logging.getLogger(__name__)


def trial_counts(result: dict, tasks: list[str], limit: int | None) -> dict[str, tuple[int, int]]:
    """(correct, n) per task of the scope from a trial's final Tune result."""
    out = {}
    for t in tasks:
        if f"correct/{t}" in result and f"n/{t}" in result:
            out[t] = (int(result[f"correct/{t}"]), int(result[f"n/{t}"]))
        elif f"task/{t}" in result:
            if limit is None:
                raise ValueError(f"the trial result has task/{t} but no n/{t}, and eval.limit is not set, so the "
                                 "number of examples is unknown")
            out[t] = (int(round(result[f"task/{t}"] * limit)), limit)
    return out


def score_counts(scores: list[dict], tasks: list[str]) -> dict[str, tuple[int, int]]:
    """(correct, n) per task of the scope from a trial's score rows."""
    return {s["task"]: (int(s["n_correct"]), int(s["n"])) for s in scores if s["task"] in tasks}


class PolicySearcher(Searcher):
    """Ray Tune face of a codemix search policy."""

    def __init__(self, policy, limit: int | None, metric: str = "score", mode: str = "max"):
        super().__init__(metric=metric, mode=mode)
        self.policy, self.limit = policy, limit

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        """The space comes from the sweep spec; Tune's metric and mode are only recorded."""
        self._metric, self._mode = metric or self._metric, mode or self._mode
        return True

    def suggest(self, trial_id: str):
        """The next config, None (wait for running trials) or ``Searcher.FINISHED``."""
        config = self.policy.propose(trial_id)
        if config == FINISHED:
            log.info("%s: nothing more to run; finished", type(self.policy).__name__)
            return Searcher.FINISHED
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """A finished trial's counts feed the policy; a failed one is forgotten."""
        config = self.policy.pending.get(trial_id)
        if config is None:
            return
        if error or not result:
            self.policy.forget(trial_id)
            return
        self.policy.observe(config, trial_counts(result, self.policy.tasks, self.limit), trial_id)

    def save(self, checkpoint_path: str) -> None:
        """Pickle the policy's state."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.policy.state(), f)

    def restore(self, checkpoint_path: str) -> None:
        """Carry on from ``save``."""
        with open(checkpoint_path, "rb") as f:
            self.policy.load_state(pickle.load(f))


def _groups(spec) -> list[tuple]:
    s = spec.search
    return [(f, lang, float(c)) for f in s.family for lang in s.code_language for c in s.corruption]


def optimum_searcher(spec, known: list[Known]) -> PolicySearcher:
    """The optimum search for a spec, the known points (with their counts) already observed."""
    from codemix.sweep.search import scope_tasks

    s, tasks = spec.search, scope_tasks(spec)
    choices = s.proportions()
    lo, hi = (min(choices), max(choices)) if choices is not None else (s.proportion.min, s.proportion.max)
    policy = optimum.OptimumSearch(optimum.Space(lo, hi, choices, _groups(spec), list(s.seed)), tasks,
                                   s.target_width, n_per_task=None, seed=s.seed[0])
    for k in known:
        policy.observe(k.config, score_counts(k.scores, tasks))
    return PolicySearcher(policy, spec.eval.limit)


def halving_searcher(spec, known: list[Known]) -> PolicySearcher:
    """Successive halving over the spec's proportion grid. Known points are not fed: a rung compares proportions
    at one fidelity, and finished trials found in storage ran at full fidelity (their stages are still reused
    from the cache when a rung reaches them)."""
    from codemix.sweep.search import scope_tasks

    s = spec.search
    policy = halving.Halving(s.proportions(), _groups(spec), list(s.seed), list(s.halving.rungs), s.halving.eta,
                             scope_tasks(spec))
    return PolicySearcher(policy, spec.eval.limit)
