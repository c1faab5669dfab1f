"""What a search policy knows of its trials: the finished ones with their counts, the running ones, the failed ones;
and the points it is given as already evaluated (``Known``).

The optimum search (``optimum``) and successive halving (``halving``) keep this ledger; their Tune face
(``tune_adapter.PolicySearcher``) feeds it and pickles ``state()`` for resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from codemix.spec import SweepSpec

FINISHED = "FINISHED"  # what a policy's ``propose`` returns once it will start nothing more (Tune's Searcher.FINISHED)
GROUP_KEYS = ("family", "code_language", "corruption")


@dataclass(frozen=True)
class Known:
    """A point the searcher gets as already evaluated: its Tune config, objective and score rows (one per task)."""

    config: dict
    objective: float
    scores: list[dict]


def group_of(config: dict) -> tuple:
    """A Tune config's mix group (family, code_language, corruption)."""
    return tuple(config[k] if k != "corruption" else float(config[k]) for k in GROUP_KEYS)


def spec_groups(spec: SweepSpec) -> list[tuple]:
    """The mix groups a spec searches (family x code_language x corruption), each searched on its own."""
    s = spec.search
    return [(f, lang, float(c)) for f in s.family for lang in s.code_language for c in s.corruption]


class Ledger:
    """Finished trials (config, per-task (correct, n)), running ones by trial id, and failed configs."""

    def __init__(self):
        self.observed: list[tuple[dict, dict]] = []  # (config, {task: (correct, n)})
        self.pending: dict[str, dict] = {}  # trial id -> config
        self.failed: list[dict] = []  # configs of trials that failed

    def observe(self, config: dict, counts: dict[str, tuple[int, int]], trial_id: str | None = None) -> None:
        """Record a finished trial (or a known point): its config and per-task (correct, n) of the scope."""
        self.pending.pop(trial_id, None)
        self.observed.append((dict(config), {t: (int(k), int(n)) for t, (k, n) in counts.items()}))

    def forget(self, trial_id: str) -> None:
        """A proposed trial that failed: it informs nothing, and the policy does not propose it again."""
        config = self.pending.pop(trial_id, None)
        if config is not None:
            self.failed.append(config)

    def started(self) -> list[dict]:
        """The configs of every trial started: finished, running or failed."""
        return [c for c, _ in self.observed] + list(self.pending.values()) + self.failed

    def reconcile(self, tune_trials: dict[str, tuple[str, dict]]) -> set[str]:
        """Make the running trials those of Tune's restored snapshot (trial id -> (status, config)); returns the
        trial ids no longer running, whose configs the policy proposes again.

        Tune saves its trial list and this state as separate files, and uploads them in the background while the
        next save overwrites them, so a driver killed at the wrong moment leaves one older than the other. A running
        trial Tune did not keep is dropped (Tune will not run it); one Tune finished or keeps without this state
        knowing is dropped or adopted; one Tune recorded as failed is forgotten."""
        dropped = set()
        for trial_id in list(self.pending):
            status = tune_trials.get(trial_id, (None, None))[0]
            if status == "ERROR":
                self.forget(trial_id)
            elif status is None or status == "TERMINATED":  # not kept by Tune, or finished: it reports nothing more
                self.pending.pop(trial_id)
                dropped.add(trial_id)
        for trial_id, (status, config) in tune_trials.items():
            if status not in ("ERROR", "TERMINATED") and trial_id not in self.pending:
                self.pending[trial_id] = dict(config)
        return dropped

    def state(self) -> dict:
        """Plain data to resume from."""
        return {"observed": self.observed, "pending": self.pending, "failed": self.failed}

    def load_state(self, state: dict) -> None:
        """Carry on from ``state()``."""
        self.observed, self.pending = list(state["observed"]), dict(state["pending"])
        self.failed = list(state.get("failed", []))
