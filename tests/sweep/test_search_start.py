"""What a searched sweep starts from, without Ray: known points in storage, the searcher they feed, the metric.

Trial results are written with the real writer and real stage hashes, as a finished sweep leaves them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from codemix.results.writer import write_trial_results
from codemix.search import check_search
from codemix.search.tune_adapter import make_searcher
from codemix.spec import SpecError, SweepSpec, load_spec, parse_spec
from codemix.storage import Store
from codemix.sweep.hashes import stage_hashes
from codemix.sweep.space import TrialPoint, param_space
from codemix.sweep.warmstart import known_points, start_search

REPO = Path(__file__).resolve().parents[2]
POOL = "pool-hash"  # any pool hash, the same for the trials and the search
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
TASKS = [("coin_flip", "symbolic", 0.5), ("last_letter_concat", "symbolic", 0.25), ("multiarith", "arithmetic", 1.0)]


def spec_dict(storage: Path, name: str = "bayes", **search) -> dict:
    return {"name": name, "storage": str(storage), "model": {"size": "tiny"}, "train": {"lr": 1e-3},
            "eval": {"suite": ["coin_flip", "last_letter_concat", "multiarith"]},
            "search": {"searcher": "optuna", "metric": "domain:symbolic", "num_samples": 6,
                       "proportion": {"min": 0.0, "max": 1.0}, "family": ["mistral"],
                       "code_language": ["any", "python"],
                       **search}}


def finish_trial(storage: Path, sweep: str, spec, point: TrialPoint, status: str = "ok", shift: float = 0.0) -> str:
    """Write a trial's results as run_trial does in a Tune trial; accuracies are TASKS' plus ``shift``."""
    hashes = stage_hashes(SweepSpec.model_validate_json(spec.model_dump_json()), point, POOL)  # as tune_trial
    provenance = {"sweep": sweep, "trial_key": hashes["trial"], "family": point.family, "proportion": point.proportion,
                  "seed": point.seed, "code_language": point.code_language, "corruption": point.corruption,
                  "mix_hash": "content-hash", "train_hash": hashes["train"], "eval_hash": hashes["eval"]}
    scores = [{"task": t, "domain": d, "accuracy": a + shift, "n": 4, "n_correct": 1} for t, d, a in TASKS]
    write_trial_results(Store(storage).child(sweep), hashes["trial"], provenance,
                        {"status": status, "started_at": NOW, "finished_at": NOW},
                        scores=scores if status == "ok" else None)
    return hashes["trial"]


@pytest.fixture
def storage(tmp_path) -> Path:
    """A grid of mistral at {0, 0.5, 1} plus trials that must not be fed, in several experiments."""
    spec = parse_spec(spec_dict(tmp_path))
    for i, p in enumerate((0.0, 0.5, 1.0)):
        finish_trial(tmp_path, "grid", spec, TrialPoint("mistral", p), shift=i / 10)
    finish_trial(tmp_path, "copy", spec, TrialPoint("mistral", 0.5), shift=0.1)  # the same trial again
    finish_trial(tmp_path, "grid", spec, TrialPoint("mistral", 0.25), status="error")  # failed: not known
    other = parse_spec({**spec_dict(tmp_path), "train": {"lr": 5e-4}})
    finish_trial(tmp_path, "other_lr", other, TrialPoint("mistral", 0.75))  # other training: other stages
    finish_trial(tmp_path, "grid", spec, TrialPoint("llama", 0.5))  # matching stages, family not searched
    (tmp_path / "_cache" / "mixes").mkdir(parents=True)  # the stage cache is not an experiment
    return tmp_path


def test_known_points_are_the_finished_trials_with_matching_stages_inside_the_space(storage):
    spec = parse_spec(spec_dict(storage))
    start = start_search(spec, Store(storage), POOL)
    got = sorted((k.config["proportion"], round(k.objective, 9)) for k in start.known)
    assert got == [(0.0, 0.375), (0.5, 0.475), (1.0, 0.575)]  # mean of the two symbolic tasks, + shift
    assert {k.sweep for k in start.known} <= {"grid", "copy"} and len(start.known) == 3  # the copy counts once
    assert all(k.config == {"proportion": k.config["proportion"], "family": "mistral", "seed": 0,
                            "code_language": "any", "corruption": 0.0} for k in start.known)
    assert start.outside == 1  # llama: matching stages, but the search does not cover that family
    assert start.to_run == 6  # known points from other experiments cost no budget
    assert "3 known point(s) from copy, grid (no compute)" in start.describe()


def test_a_restarted_search_counts_its_own_finished_trials_against_the_budget(storage):
    spec = parse_spec(spec_dict(storage))
    finish_trial(storage, "bayes", spec, TrialPoint("mistral", 0.3))
    finish_trial(storage, "bayes", spec, TrialPoint("mistral", 0.5), shift=0.1)  # also in grid: the own copy wins
    start = start_search(spec, Store(storage), POOL)
    assert len(start.known) == 4 and start.own == 2 and start.to_run == 4


@pytest.mark.parametrize("searcher", ["optuna", "random"])
def test_the_searcher_holds_the_known_points_and_suggests_inside_the_space(storage, searcher):
    spec = parse_spec(spec_dict(storage, searcher=searcher))
    start = start_search(spec, Store(storage), POOL)
    searcher = make_searcher(spec, known_points(spec, start))
    assert searcher.set_search_properties("score", "max", param_space(spec))
    study = searcher._ot_study
    assert sorted((t.params["proportion"], round(t.value, 9), t.state.name) for t in study.trials) == [
        (0.0, 0.375, "COMPLETE"), (0.5, 0.475, "COMPLETE"), (1.0, 0.575, "COMPLETE")]
    suggested = [searcher.suggest(f"t{i}") for i in range(4)]
    assert all(0.0 <= c["proportion"] <= 1.0 and c["code_language"] in ("any", "python") and c["family"] == "mistral"
               for c in suggested)
    assert len({c["proportion"] for c in suggested}) == 4


def test_search_metric_must_name_a_domain_or_task_of_the_suite(tmp_path):
    check_search(parse_spec(spec_dict(tmp_path, metric="task:multiarith")))
    with pytest.raises(SpecError, match="no domain 'logical' in eval.suite"):
        check_search(parse_spec(spec_dict(tmp_path, metric="domain:logical")))
    with pytest.raises(SpecError, match="search.searcher 'hyperopt' is not registered; known: grid, halving, "
                                        "optimum, optuna, random"):
        check_search(parse_spec(spec_dict(tmp_path, searcher="hyperopt")))


def test_driver_and_trials_agree_on_stage_hashes(tmp_path):
    """A Tune trial gets the spec through JSON (defaults validated: 0 -> 0.0); its hashes are the driver's."""
    spec = parse_spec(spec_dict(tmp_path))
    assert type(spec.eval.num_gpus) is int  # an unvalidated default, as load_spec leaves it
    in_trial = SweepSpec.model_validate_json(spec.model_dump_json())
    point = TrialPoint("mistral", 0.5)
    assert stage_hashes(spec, point, POOL) == stage_hashes(in_trial, point, POOL)


def test_a_trial_resolves_its_evaluation_identity_once_and_records_the_one_it_hashed(tmp_path, monkeypatch):
    """'auto' dtype depends on the CPU: the provenance columns and the eval hash come from one resolution."""
    from codemix.sweep import hashes
    from codemix.sweep.trial import Trial, provenance

    spec = parse_spec(spec_dict(tmp_path))
    monkeypatch.setattr(hashes, "resolve_dtype_name", lambda dtype, device: "bf16")
    trial = Trial.start(spec, TrialPoint("mistral", 0.5), Store(tmp_path), "pool-key", POOL)
    monkeypatch.setattr(hashes, "resolve_dtype_name", lambda dtype, device: "fp32")  # another machine, later
    row = provenance(trial, None)
    assert (row["eval_dtype"], row["eval_hash"]) == ("bf16", trial.hashes["eval"])
    assert trial.hashes["eval"] != stage_hashes(spec, TrialPoint("mistral", 0.5), POOL)["eval"]  # fp32's


def test_bayes_spec_shares_the_stages_of_the_fine_grained_grid():
    """sweeps/bayes.yaml run after sweeps/fine_grained.yaml in one storage starts from the grid's mistral points."""
    bayes, fine = (load_spec(REPO / "sweeps" / f"{n}.yaml") for n in ("bayes", "fine_grained"))
    for p in (0.0, 0.3, 1.0):
        point = TrialPoint("mistral", p)
        assert stage_hashes(bayes, point, POOL)["eval"] == stage_hashes(fine, point, POOL)["eval"]
