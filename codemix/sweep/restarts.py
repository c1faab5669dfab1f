"""Trials Tune starts again: a recorded failure is replayed, not rerun, trials lost with their node are found, and a
Tune state torn by a kill mid-save is found before a resume restores it (``torn_tune_state``).

A trial whose node dies (spot preemption, a crash) is restarted by Tune up to
``resources.trial_retries`` times; its finished stages come from the cache and its training
continues from the last checkpoint in storage. A trial that *raised* is different: its error is
recorded in the trials table, and Tune's restart replays it instead of running it again.
"""

from __future__ import annotations

import pickle

import ray.cloudpickle as cloudpickle

from codemix.results import results_key
from codemix.storage import Store, attempt_starts, attempt_trials

# Errors that come from Ray losing a node or worker under a stage, not from the trial's own work.
RAY_INFRASTRUCTURE_ERRORS = ("ActorDiedError", "ActorUnavailableError", "NodeDiedError", "ObjectLostError",
                             "OwnerDiedError", "RaySystemError", "WorkerCrashedError")

# Tune's files of a search algorithm's state (newest by name) -> the trials each holds as running
SEARCH_STATE_FILES = {
    "basic-variant-state-": lambda state: state.get("_live_trials"),  # a grid's generator
    "search_gen_state-": lambda state: (state.get("name:ConcurrencyLimiter") or {}).get("live_trials"),
    "searcher-state-": lambda state: (),  # the searcher's own (a policy's reconciles on restore: tune_adapter)
}


class RecordedTrialFailure(RuntimeError):
    """A restarted trial whose latest attempt raised: its recorded error, not a new run."""


def replay_recorded_failure(experiment: Store, trial_key: str, retry_failed: bool = False,
                            attempts_before: dict[str, int] | None = None) -> None:
    """When Tune starts a trial again, raise the error its latest attempt recorded instead of rerunning it.

    Not replayed (the trial runs): no recorded error; an error Ray raised (a node or worker lost
    under a stage); a latest attempt that never finished (lost with its node); and, with
    ``retry_failed``, a trial with no attempt since this session began (``attempts_before``).
    """
    key = results_key("trials", trial_key)
    if not experiment.exists(key):
        return
    record = experiment.read_parquet(key).to_pylist()[0]
    if record["status"] != "error" or (record["error"] or "").startswith(RAY_INFRASTRUCTURE_ERRORS):
        return
    starts = attempt_starts(experiment, trial_key)
    if starts and record["finished_at"] < starts[-1]:  # the latest attempt has no record of its own
        return
    if retry_failed and len(starts) <= (attempts_before or {}).get(trial_key, 0):
        return
    raise RecordedTrialFailure(f"trial {trial_key} is not rerun: its last attempt failed, and would fail again "
                               f"(`codemix resume --retry-failed` reruns it): {record['error']}")


def lost_trials(results, experiment: Store) -> list[dict]:
    """Tune trials that ended in an error but left no trials record: lost with their node after every restart.
    ``results`` is Tune's ResultGrid; a trial's key is the one its attempts recorded (``attempt_trials``: the key
    the trial computed, never recomputed here), None for a trial lost before its first attempt began."""
    errored = [r for r in results if r.error is not None]
    keys = attempt_trials(experiment) if errored else {}
    lost = []
    for result in errored:
        key = keys.get((result.metrics or {}).get("trial_id"))
        if key is None or not experiment.exists(results_key("trials", key)):
            cfg = result.config or {}
            lost.append({"trial_key": key, "family": cfg.get("family"), "proportion": cfg.get("proportion"),
                         "seed": cfg.get("seed"), "error": f"lost without a result: {type(result.error).__name__}: "
                                                          f"{str(result.error).splitlines()[0][:300]}"})
    return lost


def torn_tune_state(experiment: Store, listed: dict | None) -> str | None:
    """Why Tune's saved state cannot be restored as it is, or None (also when there is none). ``listed``: the trials
    of Tune's newest saved trial list by id (``tune_adapter.tune_snapshot_trials``), None without one.

    The search algorithm's running trials (a grid's generator, a Tune searcher's concurrency limiter) must be in
    Tune's saved trial list: a restore would otherwise wait for a trial it never runs (a grid sweep hangs). Tune
    saves them in separate files and uploads them in a background thread while the next save overwrites them, so a
    driver killed mid-upload can leave them torn, or cut: a search algorithm's file that does not parse is torn too.
    (codemix's own searchers reconcile instead: ``tune_adapter``.)"""
    if listed is None:
        return None
    names = experiment.list("")

    def newest(prefix: str) -> str | None:
        matching = [n for n in names if n.startswith(prefix)]
        return max(matching) if matching else None

    running = set()
    for prefix, live in SEARCH_STATE_FILES.items():
        if (name := newest(prefix)) is None:
            continue
        try:
            state = cloudpickle.loads(experiment.read_bytes(name))
        except (pickle.UnpicklingError, EOFError, ValueError) as err:
            return f"its search algorithm's state file {name} does not parse ({type(err).__name__}: {err})"
        running |= set(live(state) or ())
    missing = sorted(running - set(listed))
    if missing:
        return (f"trial(s) {', '.join(missing)} running in its search algorithm's state are not in its newest "
                "experiment_state file")
    return None
