"""The report's binomial optimum section: fits from correct counts with an interval that holds a known optimum."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from results_fixture import NOW, provenance, write_level

from codemix.results.cells import proportion_label
from codemix.results.document import Document
from codemix.results.load import load_results
from codemix.results.sections.optimum import optimum_fits, optimum_section

ORDER = [0.0, 1.0, 0.5, 0.3, 0.7, 0.6, 0.45]


def symbolic(p: float) -> float:  # maximum at p = 0.6
    return 0.2 + 0.6 * p - 0.5 * p * p


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    exp = tmp_path_factory.mktemp("runs") / "opt"
    rng = np.random.default_rng(0)
    for i, p in enumerate(ORDER):
        prov = provenance("opt", "gemma", p)
        k = int(rng.binomial(400, symbolic(p)))
        write_level(exp, "scores", prov, [
            {"task": "coin_flip", "domain": "symbolic", "accuracy": k / 400, "n": 400, "n_correct": k},
            {"task": "clutrr", "domain": "logical", "accuracy": 0.5, "n": 400, "n_correct": 200}])
        started = NOW + timedelta(hours=i)
        write_level(exp, "trials", prov, [{"status": "ok", "config": "{}", "stages": "{}", "started_at": started,
                                           "finished_at": started + timedelta(minutes=1)}])
    return exp


def test_binomial_fit_finds_the_optimum_with_an_interval_and_the_sampling_order(experiment):
    fits = optimum_fits(load_results(experiment, predictions=False))
    sym = fits[fits["scope"] == "symbolic"].iloc[0]
    assert sym.trials == 7 and sym.points == 7 and sym.sampled == ORDER  # in the order the trials started
    assert sym.low < 0.6 < sym.high and sym.width < 0.3
    assert abs(sym.optimum - 0.6) < 0.08 and sym.optimum_accuracy == pytest.approx(0.38, abs=0.03)
    assert sym.grid_trials >= 3
    flat = fits[fits["scope"] == "logical"].iloc[0]  # 0.5 everywhere: the optimum is anywhere
    assert flat.width > 0.5


def test_the_section_renders_through_the_document(experiment, tmp_path):
    doc = Document()
    optimum_section(doc, load_results(experiment, predictions=False))
    md = doc.markdown(tmp_path)
    assert "## Best proportion from correct counts (binomial fit)" in md
    # every trial ran its own proportion, shown in the order the trials started
    assert f"| gemma | symbolic | {len(ORDER)} | {len(set(ORDER))} |" in md
    assert ", ".join(proportion_label(p) for p in ORDER) in md


def test_the_sampled_points_say_who_chose_them(experiment, tmp_path):
    """A searched sweep's trial pooled with a grid's: each point is marked with the grid or the searcher."""
    import yaml

    searched = tmp_path / "searched"
    prov = {**provenance("searched", "gemma", 0.8), "trial_key": "key-searched-0.8", "train_hash": "t-s",
            "eval_hash": "e-s"}
    write_level(searched, "scores", prov, [
        {"task": "coin_flip", "domain": "symbolic", "accuracy": 0.3, "n": 400, "n_correct": 120},
        {"task": "clutrr", "domain": "logical", "accuracy": 0.5, "n": 400, "n_correct": 200}])
    later = NOW + timedelta(days=1)
    write_level(searched, "trials", prov, [{"status": "ok", "config": "{}", "stages": "{}", "started_at": later,
                                            "finished_at": later}])
    (searched / "spec.yaml").write_text(yaml.safe_dump({"name": "searched", "search": {"searcher": "optimum"}}))
    fits = optimum_fits(load_results([experiment, searched], predictions=False))
    sym = fits[fits["scope"] == "symbolic"].iloc[0]
    assert sym.sampled == ORDER + [0.8] and sym.sampled_by == ["grid"] * 7 + ["optimum"]
    doc = Document()
    optimum_section(doc, load_results([experiment, searched], predictions=False))
    assert "0% (grid), 100% (grid)" in doc.markdown(tmp_path) and "80% (optimum)" in doc.markdown(tmp_path)
