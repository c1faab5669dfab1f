"""The optimum search as a Ray Tune ``Searcher``: the policy of ``codemix.sweep.optimum`` fed by trial results.

A trial reports per-task accuracies (``task/<name>``); the searcher needs correct counts out of n. It reads
``correct/<name>`` and ``n/<name>`` when the trial reports them, else takes n from ``eval.limit`` and the
count as accuracy x n (exact when every task has ``limit`` examples). Known points come with their score
rows, which hold the counts. The searcher's state (observations and running trials) is pickled by
``save`` for ``Tuner.restore``, so a sweep killed mid-batch resumes with what it knew.
"""

from __future__ import annotations

import logging
import pickle

from ray.tune.search import Searcher

from codemix.searchers import Known
from codemix.sweep.optimum import FINISHED, OptimumSearch, Space

log = logging.getLogger(__name__)


def trial_counts(result: dict, tasks: list[str], limit: int | None) -> dict[str, tuple[int, int]]:
    """(correct, n) per task of the scope from a trial's final Tune result."""
    out = {}
    for t in tasks:
        if f"correct/{t}" in result and f"n/{t}" in result:
            out[t] = (int(result[f"correct/{t}"]), int(result[f"n/{t}"]))
        elif f"task/{t}" in result:
            if limit is None:
                raise ValueError(f"searcher 'optimum': the trial result has task/{t} but no n/{t}, and eval.limit "
                                 "is not set, so the number of examples is unknown")
            out[t] = (int(round(result[f"task/{t}"] * limit)), limit)
    return out


def score_counts(scores: list[dict], tasks: list[str]) -> dict[str, tuple[int, int]]:
    """(correct, n) per task of the scope from a trial's score rows."""
    return {s["task"]: (int(s["n_correct"]), int(s["n"])) for s in scores if s["task"] in tasks}


class OptimumSearcher(Searcher):
    """Ray Tune face of ``OptimumSearch``."""

    def __init__(self, search: OptimumSearch, limit: int | None, metric: str = "score", mode: str = "max"):
        super().__init__(metric=metric, mode=mode)
        self.search, self.limit = search, limit

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        """The space comes from the sweep spec; Tune's metric and mode are only recorded."""
        self._metric, self._mode = metric or self._metric, mode or self._mode
        return True

    def suggest(self, trial_id: str):
        """The next config, None (wait for running trials) or ``Searcher.FINISHED``."""
        config = self.search.propose(trial_id)
        if config == FINISHED:
            log.info("optimum search: every interval is narrower than %s; finished", self.search.target_width)
            return Searcher.FINISHED
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """A finished trial's counts feed the fit; a failed one is forgotten."""
        config = self.search.pending.get(trial_id)
        if config is None:
            return
        if error or not result:
            self.search.forget(trial_id)
            return
        counts = trial_counts(result, self.search.tasks, self.limit)
        self.search.observe(config, counts, trial_id)

    def save(self, checkpoint_path: str) -> None:
        """Pickle the policy's state."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.search.state(), f)

    def restore(self, checkpoint_path: str) -> None:
        """Carry on from ``save``."""
        with open(checkpoint_path, "rb") as f:
            self.search.load_state(pickle.load(f))


def space_of(spec) -> Space:
    """The optimum search's space from a sweep spec's ``search`` section."""
    s = spec.search
    choices = s.proportions()
    lo, hi = (min(choices), max(choices)) if choices is not None else (s.proportion.min, s.proportion.max)
    groups = [(f, lang, float(c)) for f in s.family for lang in s.code_language for c in s.corruption]
    return Space(lo, hi, choices, groups, list(s.seed))


def optimum_searcher(spec, known: list[Known]) -> OptimumSearcher:
    """The searcher for a spec, the known points (with their counts) already observed."""
    from codemix.sweep.search import scope_tasks

    tasks = scope_tasks(spec)
    search = OptimumSearch(space_of(spec), tasks, spec.search.target_width, n_per_task=None,
                           seed=spec.search.seed[0])
    for k in known:
        search.observe(k.config, score_counts(k.scores, tasks))
    return OptimumSearcher(search, spec.eval.limit)
