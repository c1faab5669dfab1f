"""A policy's Tune searcher keeps its own budget and concurrency, and on restore takes its running trials from the
trial list Tune restores: Tune saves the two in separate files and uploads them while the next save overwrites
them, so a killed driver can leave one older than the other (the halving kill test runs such a snapshot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ray.tune import PlacementGroupFactory
from ray.tune.experiment import Trial
from ray.tune.utils.serialization import TuneFunctionEncoder

from codemix.search.halving import Halving
from codemix.search.tune_adapter import PolicySearcher, UnreadableTuneState, tune_snapshot_trials
from codemix.storage import Store
from codemix.sweep.restarts import torn_tune_state
from codemix.sweep.tuner import _torn

SUITE = ["coin_flip", "multiarith"]
GROUP = ("llama", "any", 0.0)


def halving_searcher(budget: int | None = 4) -> PolicySearcher:
    return PolicySearcher(Halving([0.0, 0.5, 1.0], [GROUP], [0], [0.5, 1.0], 3, SUITE), limit=2, budget=budget)


def report(correct: int) -> dict:
    return {f"{k}/{t}": v for t in SUITE for k, v in (("n", 2), ("correct", correct))}


def through_rung_zero(searcher: PolicySearcher) -> dict:
    """Run the three rung-0 trials (0.5 scores best) and propose the promoted one as t4; returns its config."""
    for trial_id, correct in (("t1", 0), ("t2", 2), ("t3", 1)):
        assert searcher.suggest(trial_id)["fidelity"] == 0.5
        searcher.on_trial_complete(trial_id, report(correct))
    promoted = searcher.suggest("t4")
    assert (promoted["proportion"], promoted["fidelity"]) == (0.5, 1.0)
    return promoted


def finished(searcher: PolicySearcher) -> dict[str, tuple[str, dict]]:
    """The rung-0 trials t1-t3 as Tune's trial list holds them once they finished."""
    return {t: ("TERMINATED", c) for t, (c, _) in zip(("t1", "t2", "t3"), searcher.policy.observed)}


def write_snapshot(folder: Path, searcher: PolicySearcher, trials: dict[str, tuple[str, dict]]) -> None:
    """A Tune snapshot as TuneController.save_to_dir writes it: the searcher's file and the trial list."""
    searcher.save_to_dir(str(folder), session_str="2026-12-07_10-00-00")
    data = []
    for trial_id, (status, config) in trials.items():
        trial = Trial("tune_trial", config=config, trial_id=trial_id, stub=True,
                      placement_group_factory=PlacementGroupFactory([{"CPU": 1}]))
        trial.create_placement_group_factory()  # as TuneController.add_trial does
        trial.set_status(status)
        data.append(trial.get_json_state())
    (folder / "experiment_state-2026-12-07_10-00-00.json").write_text(
        json.dumps({"trial_data": data, "runner_data": {}, "stats": {}}, cls=TuneFunctionEncoder))


def test_budget_and_concurrency_are_the_searchers_and_it_finishes_only_when_nothing_runs():
    searcher = halving_searcher(budget=2)
    assert searcher.set_max_concurrency(1)  # True: Tune's ConcurrencyLimiter leaves the limit to it
    first = searcher.suggest("t1")
    assert searcher.suggest("t2") is None  # one running
    searcher.on_trial_complete("t1", report(1))
    second = searcher.suggest("t2")
    assert (first["proportion"], second["proportion"]) == (0.0, 0.5)
    assert searcher.suggest("t3") is None  # budget spent, but t2 still runs
    searcher.on_trial_complete("t2", report(1))
    assert searcher.suggest("t3") == "FINISHED"


def test_a_started_trial_missing_from_tunes_trial_list_is_proposed_again(tmp_path):
    searcher = halving_searcher()
    promoted = through_rung_zero(searcher)
    write_snapshot(tmp_path, searcher, finished(searcher))  # the trial list saved before t4 was created

    restored = halving_searcher()
    restored.restore_from_dir(str(tmp_path))
    assert restored.policy.pending == {} and len(restored.policy.observed) == 3
    assert restored.suggest("t5") == promoted  # the promoted proportion runs again, within the budget of 4
    restored.on_trial_complete("t5", report(2))
    assert restored.suggest("t6") == "FINISHED"


def test_a_running_trial_the_searchers_state_missed_is_adopted_not_proposed_twice(tmp_path):
    searcher = halving_searcher()
    promoted = through_rung_zero(searcher)
    trials = finished(searcher)
    searcher.policy.pending.clear()  # the searcher's state saved before t4 was proposed ...
    searcher.proposed.discard("t4")
    write_snapshot(tmp_path, searcher, {**trials, "t4": ("RUNNING", promoted)})  # ... beside a list that has it

    restored = halving_searcher()
    restored.restore_from_dir(str(tmp_path))
    assert restored.policy.pending == {"t4": promoted}
    assert restored.suggest("t5") is None  # t4 runs again (Tune resumes it); nothing else to start
    restored.on_trial_complete("t4", report(2))
    assert restored.suggest("t6") == "FINISHED" and len(restored.policy.observed) == 4


def test_a_trial_tune_recorded_as_failed_or_finished_is_not_waited_for(tmp_path):
    searcher = halving_searcher()
    through_rung_zero(searcher)
    t1, t2, t3 = (c for c, _ in searcher.policy.observed)
    searcher.policy.observed = searcher.policy.observed[:1]  # t2 and t3 still running in the searcher's state
    searcher.policy.pending.update({"t2": t2, "t3": t3})
    write_snapshot(tmp_path, searcher, {"t1": ("TERMINATED", t1), "t2": ("ERROR", t2), "t3": ("TERMINATED", t3),
                                        "t4": ("RUNNING", searcher.policy.pending["t4"])})
    restored = halving_searcher()
    restored.restore_from_dir(str(tmp_path))
    assert set(restored.policy.pending) == {"t4"} and restored.policy.failed == [t2]
    assert restored.proposed == {"t1", "t2", "t4"}  # t3 is proposed again, so it counts when it is


def test_a_snapshot_file_the_kill_cut_is_found_torn_not_read(tmp_path):
    """Tune copies its files to storage in a background thread: a driver killed mid-copy leaves one cut (CI saw an
    empty trial list, on which the resume raised JSONDecodeError). The resume finds the state torn instead, and
    starts the sweep again in Tune."""
    searcher = halving_searcher()
    through_rung_zero(searcher)
    write_snapshot(tmp_path, searcher, finished(searcher))
    experiment = Store(str(tmp_path))
    assert _torn(experiment) is None  # whole: Tune restores it

    [state] = tmp_path.glob("searcher-state-*.pkl")
    whole = state.read_bytes()
    state.write_bytes(whole[: len(whole) // 2])
    assert "searcher-state-2026-12-07_10-00-00.pkl does not parse" in torn_tune_state(experiment,
                                                                                      tune_snapshot_trials(tmp_path))
    state.write_bytes(whole)

    [listing] = tmp_path.glob("experiment_state-*.json")
    listing.write_text(listing.read_text()[:100])
    with pytest.raises(UnreadableTuneState, match="experiment_state-2026-12-07_10-00-00.json does not parse"):
        tune_snapshot_trials(str(tmp_path))
    listing.write_text("")
    assert "experiment_state-2026-12-07_10-00-00.json does not parse" in _torn(experiment)
