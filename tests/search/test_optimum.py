"""The optimum searcher: its claims measured on simulated sweeps with known curves, and its Tune face
(known points from storage, suggest / complete / fail, save and restore) without running a Tune experiment."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from search_sim import random_truth, run_grid, run_optimum, summarise

from codemix.results.writer import write_trial_results
from codemix.search import scope_tasks
from codemix.search.ledger import FINISHED
from codemix.search.optimum import OptimumSearch, Space
from codemix.search.tune_adapter import make_searcher
from codemix.spec import parse_spec
from codemix.storage import Store
from codemix.sweep.hashes import stage_hashes
from codemix.sweep.space import TrialPoint
from codemix.sweep.warmstart import known_points, start_search

REPS = 30
POOL = "pool-hash"
SUITE = ["coin_flip", "last_letter_concat", "multiarith"]


def test_on_the_simulator_the_interval_covers_the_optimum_and_needs_far_fewer_trials_than_a_grid():
    truths = [random_truth(np.random.default_rng(i)) for i in range(REPS)]
    searched = summarise([run_optimum(t, np.random.default_rng(100 + i), budget=40) for i, t in enumerate(truths)])
    # 200 repetitions (bench/bench_search.py) gave coverage 0.96; 30 binomial draws at 0.95 fall below 0.83 with p < 1 %
    assert searched["coverage"] >= 0.83, searched
    assert searched["reached"] >= 0.9 and searched["median_trials"] <= 11, searched
    # a grid of 12 points (more than the searcher's median) reaches the same width in a minority of repetitions
    grid = summarise([run_grid(t, np.random.default_rng(100 + i), 12) for i, t in enumerate(truths)])
    assert grid["reached"] < 0.6, grid


def test_a_small_budget_is_respected_and_the_interval_is_still_reported():
    truth = random_truth(np.random.default_rng(7), drop=0.1)  # flat: 0.1 is out of reach in 5 trials
    run = run_optimum(truth, np.random.default_rng(1), budget=5, batch=2)
    assert run.trials == 5 and not run.reached and run.width > 0.1


TASKS12 = ["aqua", "babi15", "babi16", "clutrr", "coin_flip", "date", "first_letter", "gsm8k", "last_letter",
           "multiarith", "reverse_list", "svamp"]
# correct of 6 per task: the real SmolLM2 demo trials at 0, 0.5 and 1 (sweeps/optimum.yaml, 2026-12-05)
DEMO = {0.0: [0, 0, 1, 1, 3, 3, 0, 1, 0, 0, 0, 0], 0.5: [0, 1, 0, 1, 2, 1, 0, 0, 0, 0, 0, 0],
        1.0: [0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0, 0]}


def test_a_flat_noisy_curve_gets_new_proportions_not_repeats_of_finished_trials():
    """The real demo's first three trials: accuracy near the floor and flat. With one seed a repeated proportion
    is the same trial (its stages come from the cache), so the search spends its budget on proportions not run
    yet (it proposed 0 again twice, with budget spent and nothing learnt)."""
    search = OptimumSearch(Space(0.0, 1.0, [i / 8 for i in range(9)]), TASKS12, 0.1)
    proposed = []
    for i in range(5):
        config = search.propose(f"t{i}")
        assert config not in (None, FINISHED), (i, proposed)
        proposed.append(config["proportion"])
        nearest = min(DEMO, key=lambda p: abs(p - config["proportion"]))
        search.observe(config, {t: (k, 6) for t, k in zip(TASKS12, DEMO[nearest])}, f"t{i}")
    assert proposed[:3] == [0.0, 1.0, 0.5] and len(set(proposed)) == 5
    assert search.interval(("llama", "any", 0.0)).width > 0.5  # and still nowhere in particular


def test_where_no_proportion_narrows_the_interval_the_widest_gap_is_run():
    """A fit that cannot place a maximum (no candidate has a finite predicted width) fills the widest gap."""
    search = OptimumSearch(Space(0.0, 1.0, [i / 8 for i in range(9)]), ["t"], 0.1)
    for p in (0.0, 0.5, 0.625, 1.0):
        search.observe({"proportion": p, "family": "llama", "code_language": "any", "corruption": 0.0, "seed": 0},
                       {"t": (3, 6)})
    search._acquire = lambda group, model: (0.0, float("inf"), float("inf"))  # the fit places no maximum
    assert search.propose("t")["proportion"] == 0.25  # the middle of the widest gap, [0, 0.5]


def spec_dict(storage, **search) -> dict:
    return {"name": "opt", "storage": str(storage), "model": {"size": "tiny"}, "train": {"lr": 1e-3},
            "eval": {"suite": SUITE, "limit": 40},
            "search": {"searcher": "optimum", "metric": "domain:symbolic", "num_samples": 6,
                       "proportion": {"min": 0.0, "max": 1.0}, "family": ["mistral"], "seed": [0, 1], **search}}


def finish_trial(storage, spec, p: float, correct: dict[str, int]) -> None:
    """A finished grid trial at ``p`` with the given correct counts out of 40 per task."""
    point = TrialPoint("mistral", p)
    hashes = stage_hashes(spec, point, POOL)
    provenance = {"sweep": "grid", "trial_key": hashes["trial"], "family": "mistral", "proportion": p, "seed": 0,
                  "code_language": "any", "corruption": 0.0, "mix_hash": "x", "train_hash": hashes["train"],
                  "eval_hash": hashes["eval"]}
    domains = {"coin_flip": "symbolic", "last_letter_concat": "symbolic", "multiarith": "arithmetic"}
    scores = [{"task": t, "domain": domains[t], "accuracy": k / 40, "n": 40, "n_correct": k}
              for t, k in correct.items()]
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    write_trial_results(Store(storage).child("grid"), hashes["trial"], provenance,
                        {"status": "ok", "started_at": now, "finished_at": now}, scores=scores)


def searcher_from(spec, storage):
    """The Tune searcher a sweep of ``spec`` in ``storage`` starts (as the Tune driver builds it)."""
    return make_searcher(spec, known_points(spec, start_search(spec, Store(storage), POOL)))


@pytest.fixture
def searcher_from_grid(tmp_path):
    spec = parse_spec(spec_dict(tmp_path))
    for p, (a, b) in {0.0: (12, 10), 0.5: (24, 20), 1.0: (14, 9)}.items():
        finish_trial(tmp_path, spec, p, {"coin_flip": a, "last_letter_concat": b, "multiarith": 30})
    return spec, searcher_from(spec, tmp_path)


def test_the_tune_searcher_fits_the_known_counts_and_proposes_a_batch_inside_the_space(searcher_from_grid, tmp_path):
    spec, searcher = searcher_from_grid
    assert scope_tasks(spec) == ["coin_flip", "last_letter_concat"]
    search = searcher.policy
    assert sorted(c["proportion"] for c, _ in search.observed) == [0.0, 0.5, 1.0]
    assert search.observed[0][1]["coin_flip"][1] == 40  # counts out of n, from the score rows
    iv = search.interval(("mistral", "any", 0.0))
    assert 0.2 < iv.optimum < 0.8 and iv.low < iv.optimum < iv.high
    batch = [searcher.suggest(f"t{i}") for i in range(3)]
    assert all(0.0 <= c["proportion"] <= 1.0 and c["family"] == "mistral" for c in batch)
    assert len({c["proportion"] for c in batch}) >= 2  # the running trials steer the next proposals
    assert [c["seed"] for c in batch] == [1, 1, 1]  # the known points ran seed 0 three times: seed 1 catches up

    # a finished trial's accuracies (x eval.limit) feed the fit; a failed one is forgotten
    searcher.on_trial_complete("t0", {"score": 0.6, "task/coin_flip": 0.6, "task/last_letter_concat": 0.5})
    searcher.on_trial_complete("t1", error=True)
    assert len(search.observed) == 4 and search.observed[-1][1] == {"coin_flip": (24, 40),
                                                                     "last_letter_concat": (20, 40)}
    assert set(search.pending) == {"t2"}

    # save / restore (Tuner.restore after kill -9): the restored searcher knows the same and proposes the same
    path = tmp_path / "state.pkl"
    searcher.save(str(path))
    again = searcher_from(spec, tmp_path)
    again.restore(str(path))
    assert again.policy.observed == search.observed and again.policy.pending == search.pending
    assert again.suggest("t3") == searcher.suggest("t3")


def test_the_searcher_finishes_once_the_interval_is_narrower_than_the_target(tmp_path):
    spec = parse_spec(spec_dict(tmp_path, target_width=1.0))
    for p in (0.0, 0.5, 1.0):
        finish_trial(tmp_path, spec, p, {"coin_flip": 20, "last_letter_concat": 20, "multiarith": 20})
    searcher = searcher_from(spec, tmp_path)
    assert searcher.suggest("t0") == "FINISHED"


def test_target_width_is_validated(tmp_path):
    from codemix.spec import SpecError

    with pytest.raises(SpecError, match="target_width"):
        parse_spec(spec_dict(tmp_path, target_width=0))


def test_a_failed_proportion_is_not_proposed_again():
    search = OptimumSearch(Space(0.0, 1.0), ["a"], 0.1, n_per_task=50)
    first = search.propose("t0")
    search.forget("t0")  # it failed (a failure that would repeat: same config, same trial key)
    again = [search.propose(f"t{i}") for i in (1, 2, 3)]
    assert first["proportion"] == 0.0 and 0.0 not in [c["proportion"] for c in again]
    assert len({c["proportion"] for c in again}) == 3
    assert search.state()["failed"] == [first]
