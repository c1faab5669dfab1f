"""Successive halving through a real (tiny) Tune sweep: every proportion runs at the low fidelity on fewer
questions, the best goes on to full fidelity by continuing the same training run, and that model is the one a
straight full run trains; the tables say each trial's fidelity and the analysis keeps the rungs apart; killed
as the promoted trial starts training, the sweep resumes to the same tables without redoing a trial."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from safetensors.torch import load_file
from sweep_helpers import attempts, driver, small_spec, tables, tear_tunes_saved_trial_list

from codemix.results import load_results

pytestmark = [pytest.mark.slow(seconds=115), pytest.mark.timeout(900)]


SEARCH = {"searcher": "halving", "proportion": [0.0, 0.5, 1.0], "halving": {"rungs": [0.5, 1.0], "eta": 3,
                                                                             "eval_limit": 1}}


def checkpoint(storage, train_hash: str):
    return storage / "_cache" / "checkpoints" / train_hash


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The halving sweep run once without interruption: its storage."""
    root = tmp_path_factory.mktemp("halving")
    assert driver(["run", str(small_spec(root / "h", "halving", search=SEARCH, eval={"backend": "hf"}))]) == 0
    return root


def test_halving_runs_rungs_and_the_promoted_run_continues_into_the_full_runs_model(uninterrupted):
    tmp_path = uninterrupted
    trials = pq.read_table(tmp_path / "h" / "halving" / "results" / "trials").to_pylist()
    low = [t for t in trials if t["fidelity"] == 0.5]
    full = [t for t in trials if t["fidelity"] == 1.0]
    assert sorted(t["proportion"] for t in low) == [0.0, 0.5, 1.0] and len(full) == 1
    assert {t["status"] for t in trials} == {"ok"}
    scores = pq.read_table(tmp_path / "h" / "halving" / "results" / "scores").to_pylist()
    assert {s["n"] for s in scores if s["fidelity"] == 0.5} == {1}  # halving.eval_limit below full fidelity
    assert {s["n"] for s in scores if s["fidelity"] == 1.0} == {2}  # eval.limit at full fidelity
    rung0 = {t["proportion"]: t["overall_accuracy"] for t in low}
    best = max(rung0, key=lambda p: (rung0[p], -p))  # ties go to the grid's first
    assert full[0]["proportion"] == best

    # the promoted trial continued its rung-0 run: 3 of the 6 steps were done already
    metrics = json.loads((checkpoint(tmp_path / "h", full[0]["train_hash"]) / "train_metrics.json").read_text())
    assert metrics["resumed_from"] == 3 and metrics["step"] == metrics["stop_step"] == 6
    rung_metrics = json.loads((checkpoint(tmp_path / "h", next(t for t in low if t["proportion"] == best)
                                          ["train_hash"]) / "train_metrics.json").read_text())
    assert rung_metrics["step"] == rung_metrics["stop_step"] == 3 and rung_metrics["total_steps"] == 6

    # ... and trained the model a straight full run trains (same train hash, same weights)
    grid = small_spec(tmp_path / "g", "grid", search={"proportion": [best]}, eval={"backend": "hf"})
    assert driver(["run", str(grid)]) == 0
    straight = pq.read_table(tmp_path / "g" / "grid" / "results" / "trials").to_pylist()[0]
    assert straight["train_hash"] == full[0]["train_hash"]
    a = load_file(checkpoint(tmp_path / "h", full[0]["train_hash"]) / "model.safetensors")
    b = load_file(checkpoint(tmp_path / "g", straight["train_hash"]) / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)

    results = load_results([str(tmp_path / "h" / "halving")], predictions=False)
    assert len(results.trials) == 1 and set(results.scores["fidelity"]) == {1.0}  # the tables: full fidelity only
    assert len(results.low_trials) == 3 and set(results.low_scores["fidelity"]) == {0.5}


def test_killed_as_the_promoted_trial_starts_training_the_sweep_resumes_to_the_same_tables(uninterrupted, tmp_path):
    """SIGKILL as the promoted (4th) trial reaches its training, with Tune's saved trial list one save behind its
    searcher's state (as Tune's background upload leaves it when the driver dies mid-copy: CI saw it), then resume:
    the restored searcher promotes the same proportion, its run continues from the rung-0 checkpoint, no finished
    trial runs again, and every table equals the uninterrupted run's (so the model and its scores are the same)."""
    spec = small_spec(tmp_path / "h", "halving", search=SEARCH, eval={"backend": "hf"})
    experiment = tmp_path / "h" / "halving"
    assert driver(["run", str(spec)], kill_at="train@4") < 0
    assert len(pq.read_table(experiment / "results" / "trials")) == 3  # the three rung-0 trials
    assert tear_tunes_saved_trial_list(experiment)
    assert driver(["resume", str(experiment)]) == 0
    assert sorted(attempts(experiment).values()) == [1, 1, 1, 2]  # only the killed trial started again
    assert tables(experiment) == tables(uninterrupted / "h" / "halving")

