"""The searcher a sweep hands to Ray Tune (``make_searcher``): a registered Tune searcher, or codemix's own search
policy as a Tune ``Searcher`` (``PolicySearcher``), fed by trial results.

Only the sweep's Tune driver imports this module (it loads Tune; ``codemix plan`` and ``validate`` read the
registry without it).

A policy (``optimum.OptimumSearch``, ``halving.Halving``: a ``ledger.Ledger``) has ``propose(trial_id)`` (a config,
None to wait, or ``FINISHED``), ``observe(config, counts, trial_id)``, ``forget(trial_id)`` and ``state()`` /
``load_state(state)``, and a ``tasks`` list; it fits correct counts out of n, which a finished trial reports
(``objective.trial_summary``, read back by ``objective.trial_counts``). The policy's state (observations and
running trials) is pickled by ``save`` for ``Tuner.restore``, so a sweep killed mid-batch resumes with what it knew.
"""

from __future__ import annotations

import logging
import pickle

from ray.tune.search import Searcher

from codemix.search.ledger import FINISHED, Known
from codemix.search.objective import OBJECTIVE, trial_counts
from codemix.search.registry import registered
from codemix.spec import SweepSpec

log = logging.getLogger(__name__)


class PolicySearcher(Searcher):
    """Ray Tune face of a codemix search policy."""

    def __init__(self, policy, limit: int | None, metric: str = OBJECTIVE, mode: str = "max"):
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


def make_searcher(spec: SweepSpec, known: list[Known]) -> Searcher:
    """The Tune searcher named by the spec, the known points already evaluated."""
    entry = registered(spec.search.searcher)
    built = entry.build(spec, known)
    return PolicySearcher(built, spec.eval.limit) if entry.is_policy else built
