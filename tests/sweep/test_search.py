"""Searched sweeps (Optuna through Ray Tune) end to end: they run, resume after kill -9, and start from storage.

What the searcher knows is read back from the state Tune saved for it in the experiment folder
(the Optuna study), so "the searcher received the grid's trials" is checked on the searcher itself.
"""

from __future__ import annotations

import pickle
import re
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sweep_helpers import attempts, driver, small_spec

pytestmark = [pytest.mark.slow(seconds=95), pytest.mark.timeout(900)]
BUDGET = 3


def searched_spec(storage: Path, name: str = "bayes", budget: int = BUDGET) -> Path:
    """The small sweep's stages, searched: Optuna over a continuous proportion, ``budget`` trials."""
    return small_spec(storage, name, search={"searcher": "optuna", "proportion": {"min": 0.0, "max": 1.0},
                                             "num_samples": budget, "metric": "overall"})


def study(experiment: Path):
    """The searcher's Optuna study, as Tune last saved it in the experiment folder."""
    import optuna  # noqa: F401  (the pickle holds optuna objects)

    # one file per driver session, named by its start time (mtimes are not ordered: Tune re-syncs old ones)
    states = sorted(experiment.glob("searcher-state-*.pkl"))
    assert states, f"no searcher state in {experiment}"
    return pickle.loads(states[-1].read_bytes())["_ot_study"]


def trials_of(experiment: Path) -> list[dict]:
    return pq.read_table(experiment / "results" / "trials").to_pylist()


def test_searched_sweep_after_a_grid_starts_from_its_trials_and_spends_its_budget_on_new_points(grid_storage):
    """Also: a trial that fails is recorded and reported to the searcher as failed, and the search goes on."""
    from typer.testing import CliRunner

    from codemix.cli import app

    grid = grid_storage / "resume"
    grid_trials = trials_of(grid)
    grid_files = {p: p.stat().st_mtime_ns for p in [*(grid / "results").rglob("*.parquet"),
                                                   *(grid_storage / "_cache" / "checkpoints").iterdir()]}
    grid_attempts = attempts(grid)
    spec = searched_spec(grid_storage)

    plan = CliRunner().invoke(app, ["plan", str(spec)])
    assert plan.exit_code == 0, plan.output
    assert "starting from 2 known point(s) from resume (no compute)" in " ".join(plan.output.split()), plan.output

    # the second searched trial fails in its evaluation: the sweep goes on and the searcher is told it failed
    assert driver(["run", str(spec)], fail_at="eval@2") == 3

    experiment = grid_storage / "bayes"
    trials = trials_of(experiment)
    assert len(trials) == BUDGET and sorted(t["status"] for t in trials) == ["error", "ok", "ok"]  # a row each
    assert not {t["eval_hash"] for t in trials} & {t["eval_hash"] for t in grid_trials}  # new points only
    assert len(pq.read_table(experiment / "results.parquet")) == (BUDGET - 1) * 3  # every finished trial's scores
    assert sorted(attempts(experiment).values()) == [1] * BUDGET
    # nothing of the grid was recomputed or rewritten
    assert attempts(grid) == grid_attempts
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in grid_files.items())
    # the searcher received the grid's two trials first, with their objective, then asked for BUDGET points
    told = study(experiment).trials
    known, asked = told[:2], told[2:]
    assert sorted((round(t.params["proportion"], 6), t.value, t.state.name) for t in known) == \
        sorted((t["proportion"], t["overall_accuracy"], "COMPLETE") for t in grid_trials)
    assert sorted((round(t.params["proportion"], 6), t.state.name) for t in asked) == sorted(
        (t["proportion"], "COMPLETE" if t["status"] == "ok" else "FAIL") for t in trials)  # failed, not a zero
    assert [t.value for t in asked if t.state.name == "FAIL"] == [None]

    # the report shows the path: the two known points, then the three searched, one failed
    from codemix.results.report import write_report

    md = write_report([grid, experiment], grid_storage / "report", n_boot=50).read_text()
    assert "## Search: `bayes`" in md and "started from 2 known point(s)" in md and f"ran {BUDGET}" in md
    assert md.count("| known (resume) |") == 2 and md.count("| searched |") == BUDGET
    assert re.search(r"\| 2 \| searched \| [\d.]+% \| failed \|", md)


# ~60 s: a searched sweep killed in a subprocess after its first trial, then resumed to its budget
def test_searched_sweep_killed_after_its_first_trial_resumes_the_search(tmp_path):
    spec = searched_spec(tmp_path)
    experiment = tmp_path / "bayes"
    assert driver(["run", str(spec)], kill_at="between@1") == -signal.SIGKILL
    first = {p.stem: p.stat().st_mtime_ns for p in (experiment / "results" / "trials").glob("*.parquet")}
    assert len(first) == 1
    first_trial = trials_of(experiment)[0]

    assert driver(["resume", str(experiment)]) == 0

    trials = trials_of(experiment)
    assert len(trials) == BUDGET and {t["status"] for t in trials} == {"ok"}  # the budget counts the first trial
    assert len(pq.read_table(experiment / "results.parquet")) == BUDGET * 3
    assert sorted(attempts(experiment).values()) == [1] * BUDGET  # no trial redone
    for key, mtime in first.items():
        assert (experiment / "results" / "trials" / f"{key}.parquet").stat().st_mtime_ns == mtime
    # the restored searcher did not forget the first trial: it holds it with its objective, and asked BUDGET points
    told = study(experiment).trials
    assert len(told) == BUDGET and all(t.state.name == "COMPLETE" for t in told)
    assert (round(told[0].params["proportion"], 6), told[0].value) == (first_trial["proportion"],
                                                                       first_trial["overall_accuracy"])
