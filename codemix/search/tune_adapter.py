"""The searcher a sweep hands to Ray Tune (``make_searcher``): a registered Tune searcher, or codemix's own search
policy as a Tune ``Searcher`` (``PolicySearcher``), fed by trial results.

Only the sweep's Tune driver imports this module (it loads Tune; ``codemix plan`` and ``validate`` read the
registry without it).

A policy (``optimum.OptimumSearch``, ``halving.Halving``: a ``ledger.Ledger``) has ``propose(trial_id)`` (a config,
None to wait, or ``FINISHED``), ``observe(config, counts, trial_id)``, ``forget(trial_id)`` and ``state()`` /
``load_state(state)``, and a ``tasks`` list; it fits correct counts out of n, which a finished trial reports
(``objective.trial_summary``, read back by ``objective.trial_counts``). The policy's state (observations and
running trials) is pickled by ``save`` for ``Tuner.restore``, so a sweep killed mid-batch resumes with what it knew.

Tune writes its trial list and the searchers' states as separate files, and uploads them to storage in a background
thread while the next save overwrites them: a driver killed at that moment leaves a snapshot whose parts disagree (a
trial the searcher started that the trial list lacks is never run again). So the policy searcher keeps what Tune's
wrappers would otherwise hold out of those files: its trial budget (Tune's ``num_samples`` is left unbounded) and its
concurrency (Tune's ``ConcurrencyLimiter`` passes through), and on restore it takes its running trials from the trial
list Tune restores (``Ledger.reconcile``).
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

from ray.tune.execution.experiment_state import _find_newest_experiment_checkpoint
from ray.tune.experiment import Trial
from ray.tune.search import Searcher
from ray.tune.utils.serialization import _loads_with_cloudpickle

from codemix.search.ledger import FINISHED, Known
from codemix.search.objective import OBJECTIVE, trial_counts
from codemix.search.registry import registered
from codemix.spec import SweepSpec

log = logging.getLogger(__name__)


class PolicySearcher(Searcher):
    """Ray Tune face of a codemix search policy: at most ``budget`` trials (None: the policy decides alone), at most
    ``max_concurrent`` running at once (set by Tune's ConcurrencyLimiter; 0: no limit)."""

    budget: int | None = None  # class defaults: a searcher pickled by an earlier codemix (Tuner.restore) lacks them
    max_concurrent: int = 0

    def __init__(self, policy, limit: int | None, metric: str = OBJECTIVE, mode: str = "max",
                 budget: int | None = None):
        super().__init__(metric=metric, mode=mode)
        self.policy, self.limit, self.budget = policy, limit, budget
        self.proposed: set[str] = set()  # the trial ids proposed: what the budget counts

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        """The space comes from the sweep spec; Tune's metric and mode are only recorded."""
        self._metric, self._mode = metric or self._metric, mode or self._mode
        return True

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Limit running trials here rather than in Tune's ConcurrencyLimiter, whose state is not reconciled."""
        self.max_concurrent = max_concurrent
        return True

    def suggest(self, trial_id: str):
        """The next config, None (wait for running trials) or ``Searcher.FINISHED`` (once nothing runs)."""
        running = len(self.policy.pending)
        if self.budget is not None and len(self.proposed) >= self.budget:
            return None if running else self._finished()
        if self.max_concurrent and running >= self.max_concurrent:
            return None
        config = self.policy.propose(trial_id)
        if config == FINISHED:
            # while trials run, wait: a Tune snapshot that finished the search must not outlive a running trial
            return None if self.policy.pending else self._finished()
        if config is not None:
            self.proposed.add(trial_id)
        return config

    def _finished(self):
        log.info("%s: nothing more to run; finished", type(self.policy).__name__)
        return Searcher.FINISHED

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
        """Pickle the policy's state and the trials proposed."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"policy": self.policy.state(), "proposed": sorted(self.proposed)}, f)

    def restore(self, checkpoint_path: str) -> None:
        """Carry on from ``save``."""
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        if "policy" not in state:  # saved before the proposed trials were
            state = {"policy": state, "proposed": list(state["pending"])}
        self.policy.load_state(state["policy"])
        self.proposed = set(state["proposed"])

    def restore_from_dir(self, checkpoint_dir: str) -> None:
        """Restore, then take the running trials from the trial list Tune restores from the same folder."""
        super().restore_from_dir(checkpoint_dir)
        trials = tune_snapshot_trials(checkpoint_dir)
        if trials is None:
            log.warning("no Tune experiment state in %s: the searcher's running trials are kept as saved",
                        checkpoint_dir)
            return
        dropped = self.policy.reconcile(trials)
        self.proposed = (self.proposed - dropped) | set(self.policy.pending)
        if dropped:
            log.warning("%d trial(s) the searcher had started are not in Tune's saved trial list (or finished there): "
                        "their points are proposed again", len(dropped))


class UnreadableTuneState(ValueError):
    """A file of Tune's saved state that does not parse: a driver killed while Tune wrote or uploaded it."""


def tune_snapshot_trials(experiment_dir: str, fs=None) -> dict[str, tuple[str, dict]] | None:
    """Trial id -> (status, config) of the newest Tune experiment state in ``experiment_dir`` (on ``fs``, a pyarrow
    filesystem; local without), None if there is none: the trials ``Tuner.restore`` restores. Raises
    ``UnreadableTuneState`` if that file is cut (empty, or ends mid-record)."""
    path = _find_newest_experiment_checkpoint(experiment_dir, fs=fs)
    if path is None:
        return None
    if fs is None:
        text = Path(path).read_text()
    else:
        with fs.open_input_stream(path) as f:
            text = f.read().decode()
    try:
        saved = _loads_with_cloudpickle(text)["trial_data"]
        trials = [Trial.from_json_state(data, stub=True) for data, _ in saved]
    except (ValueError, KeyError, TypeError, EOFError, pickle.UnpicklingError) as err:
        raise UnreadableTuneState(f"its newest experiment_state file {Path(path).name} does not parse "
                                  f"({type(err).__name__}: {err})") from err
    return {t.trial_id: (t.status, dict(t.config)) for t in trials}


def make_searcher(spec: SweepSpec, known: list[Known], budget: int | None = None) -> Searcher:
    """The Tune searcher named by the spec, the known points already evaluated; a policy's searcher starts at most
    ``budget`` trials (Tune's num_samples limits the others)."""
    entry = registered(spec.search.searcher)
    built = entry.build(spec, known)
    return PolicySearcher(built, spec.eval.limit, budget=budget) if entry.is_policy else built
