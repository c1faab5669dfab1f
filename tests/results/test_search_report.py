"""A searched sweep's report: the path of the search and the fitted objective with its uncertainty.

The fixture is a searched experiment with known answers: gemma's symbolic accuracy is
0.2 + 0.6p - 0.5p^2 exactly (n = 100 per task, optimum p = 0.6, 0.38), its trials start in a known
order, one of them failed, and it started from two known points of a grid experiment.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import yaml
from results_fixture import NOW, provenance, write_level

from codemix.results import analysis
from codemix.results.load import load_results
from codemix.results.report import write_report

PNG = b"\x89PNG\r\n\x1a\n"
ORDER = [0.9, 0.3, 0.55, 0.7, 0.15]  # the order the searcher tried them
FAILED_AT = 3  # the 3rd trial to start failed


def symbolic(p: float) -> int:
    return round(100 * (0.2 + 0.6 * p - 0.5 * p * p))


def write_searched_trial(exp, sweep: str, p: float, started, logical: int = 50) -> dict:
    prov = provenance(sweep, "gemma", p)
    scores = [{"task": "coin_flip", "domain": "symbolic", "accuracy": symbolic(p) / 100, "n": 100,
               "n_correct": symbolic(p)},
              {"task": "clutrr", "domain": "logical", "accuracy": logical / 100, "n": 100, "n_correct": logical}]
    write_level(exp, "scores", prov, scores)
    write_level(exp, "trials", prov, [{"status": "ok", "config": "{}", "stages": "{}", "started_at": started,
                                       "finished_at": started + timedelta(minutes=1)}])
    return prov


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    grid, exp = root / "grid", root / "bayes"
    known = []
    for p in (0.0, 1.0):
        prov = write_searched_trial(grid, "grid", p, NOW)
        known.append({"sweep": "grid", "trial_key": prov["trial_key"], "objective": symbolic(p) / 100,
                      "config": {"proportion": p, "family": "gemma", "seed": 0, "code_language": "any",
                                 "corruption": 0.0}})
    for i, p in enumerate(ORDER, start=1):
        started = NOW + timedelta(hours=i)
        if i == FAILED_AT:
            write_level(exp, "trials", provenance("bayes", "gemma", p), [
                {"status": "error", "error": "RuntimeError: boom", "config": "{}", "stages": "{}",
                 "started_at": started, "finished_at": started}])
        else:
            write_searched_trial(exp, "bayes", p, started)
    spec = {"name": "bayes", "storage": str(root), "search": {"searcher": "optuna", "metric": "domain:symbolic",
                                                              "num_samples": 5, "proportion": {"min": 0.0, "max": 1.0},
                                                              "family": ["gemma"]}}
    (exp / "spec.yaml").write_text(yaml.safe_dump(spec))
    (exp / "search").mkdir()
    (exp / "search" / "known_points.json").write_text(json.dumps({"known": known}))
    return grid, exp


def test_search_path_orders_trials_and_tracks_the_best(searched):
    _, exp = searched
    known = json.loads((exp / "search" / "known_points.json").read_text())["known"]
    path = analysis.search_path(load_results(exp), "domain:symbolic", known)
    assert list(path["source"]) == ["known"] * 2 + ["searched"] * 5
    assert list(path["proportion"]) == [0.0, 1.0, *ORDER] and list(path["step"]) == [0, 0, 1, 2, 3, 4, 5]
    assert path["objective"].isna().tolist() == [False, False, False, False, True, False, False]  # failed, not 0
    assert path["objective"].iloc[2] == pytest.approx(symbolic(0.9) / 100)  # the symbolic domain only
    # 0.20, 0.30 (known) -> 0.34 (0.9) -> 0.34 (0.3) -> failed -> 0.38 (0.7) -> 0.38
    expected = [0.20, 0.30, 0.34, 0.34, 0.34, 0.38, 0.38]
    assert path["best_so_far"].tolist() == pytest.approx(expected)


def test_fit_of_the_objective_has_an_optimum_with_a_bootstrap_interval(searched):
    grid, exp = searched
    fits = analysis.fit_curves(load_results([grid, exp]), "domain", min_points=3, n_boot=400)
    fit = fits[fits["scope"] == "symbolic"].iloc[0]
    assert fit.n_points == 6  # 2 known + 4 finished searched trials
    assert fit.optimum == pytest.approx(0.6, abs=0.02)
    assert fit.optimum_low < 0.6 < fit.optimum_high and fit.optimum_high - fit.optimum_low < 0.5
    assert fit.optimum_accuracy_low < 0.38 < fit.optimum_accuracy_high
    assert fit.coef_draws.shape == (400, 3)
    flat = analysis.fit_curves(load_results([grid, exp]), "domain", min_points=3, n_boot=400)
    flat = flat[flat["scope"] == "logical"].iloc[0]  # a flat 0.5 everywhere: the optimum is anywhere
    assert flat.optimum_high - flat.optimum_low > 0.5


def test_report_shows_the_search_path_and_the_fit(searched, tmp_path):
    grid, exp = searched
    md = write_report([exp], tmp_path / "alone", n_boot=200).read_text()
    assert "## Search: `bayes`" in md and "started from 2 known point(s)" in md and "ran 5" in md
    assert re.search(r"\| 0 \| known \(grid\) \| 0% \| 0\.200 \| 0\.200 \|", md)
    assert re.search(r"\| 3 \| searched \| 55% \| failed \| 0\.340 \|", md)
    assert "Best: domain:symbolic = 0.380 at 70% coding" in md
    assert "not in this report" in md  # the grid's points are not loaded: said so, fit on the 4 searched
    assert (tmp_path / "alone" / "figures" / "search_bayes.png").read_bytes().startswith(PNG)

    md = write_report([grid, exp], tmp_path / "both", n_boot=200).read_text()
    assert "not in this report" not in md
    row = re.search(r"\| gemma \| 6 \| (\S+) \[(\S+), (\S+)\] \|", md)
    assert row and row.group(1) == "60%"
    assert (tmp_path / "both" / "figures" / "search_fit_bayes_gemma.png").read_bytes().startswith(PNG)
