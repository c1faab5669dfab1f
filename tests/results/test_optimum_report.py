"""The report's binomial optimum section: fits from correct counts with an interval that holds a known optimum."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from results_fixture import NOW, provenance, write_level

from codemix.results.load import load_results
from codemix.results.optimum import optimum_fits, optimum_section
from codemix.results.report import Document

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
    assert "| gemma | symbolic | 7 | 7 |" in md and "0%, 100%, 50%, 30%, 70%, 60%, 45%" in md
