"""Minimum detectable effects: the formula against hand-computed values and a simulation of the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codemix.results.analysis import mcnemar
from codemix.results.power import (
    ASSUMED_DISCORDANT,
    bootstrap_mde,
    design_mde,
    mde_mcnemar,
    mde_of_pairs,
    min_discordant,
    paired_mde,
    questions_for,
    z_sum,
)


def test_known_values():
    assert z_sum() == pytest.approx(1.959964 + 0.841621, abs=1e-6)  # z_0.975 + z_0.8
    assert z_sum(0.01, 0.9) == pytest.approx(2.575829 + 1.281552, abs=1e-6)
    # by hand: 2.801585 * sqrt(0.2 / 100) = 2.801585 * 0.0447214
    assert mde_mcnemar(100, 0.2) == pytest.approx(0.125291, abs=1e-5)
    # six questions of which two disagree: nothing under ±0.66 can be told apart
    assert mde_mcnemar(6, 2 / 6) == pytest.approx(2.801585 * math.sqrt(1 / 18), abs=1e-6) == pytest.approx(0.660,
                                                                                                           abs=1e-3)
    assert mde_mcnemar(400, 0.2) == pytest.approx(mde_mcnemar(100, 0.2) / 2)  # 1 / sqrt(n)
    assert math.isnan(mde_mcnemar(0, 0.5)) and mde_mcnemar(10, 0.0) == 0.0
    with pytest.raises(ValueError):
        mde_mcnemar(10, 1.5)
    with pytest.raises(ValueError):
        z_sum(0.05, 1.0)


def test_paired_mde_from_counts_and_the_stated_assumption():
    m = paired_mde(100, 12, 8)
    assert m.method == "mcnemar" and m.discordance == 0.2 and not m.assumed
    assert m.value == pytest.approx(0.125291, abs=1e-5)
    none = paired_mde(60, 0, 0)  # no discordant pair: half a pair assumed, 0.5 / 60
    assert none.assumed and none.discordance == pytest.approx(0.5 / 60) and ASSUMED_DISCORDANT == 0.5
    assert none.value == pytest.approx(2.801585 * math.sqrt(0.5) / 60, abs=1e-6)
    assert none.value < paired_mde(60, 1, 0).value < paired_mde(60, 1, 1).value  # more discordance, larger MDE
    assert paired_mde(0, 0, 0).method == "none" and math.isnan(paired_mde(0, 0, 0).value)


def test_bootstrap_mde_reads_the_standard_error_off_the_ci():
    m = bootstrap_mde(-0.1, 0.3)  # SE = 0.4 / 3.919928
    assert m.method == "bootstrap" and m.value == pytest.approx(2.801585 * 0.4 / 3.919928, abs=1e-5)
    assert bootstrap_mde(float("nan"), 0.1).method == "none"


def test_min_discordant_matches_the_exact_test():
    assert min_discordant(0.05) == 6  # 2 / 2**5 = 0.0625, 2 / 2**6 = 0.031
    assert mcnemar(0, 5)[0] > 0.05 > mcnemar(0, 6)[0]
    assert min_discordant(0.01) == 8  # 2 / 2**7 = 0.0156, 2 / 2**8 = 0.0078


@pytest.mark.parametrize(("n", "discordance"), [(400, 0.25), (1000, 0.1)])
def test_power_at_the_mde_is_about_080_in_simulation(n, discordance):
    """Questions drawn as (right only under A, right only under B, agree) at a true difference of one MDE."""
    delta = mde_mcnemar(n, discordance)
    p_b, p_c = (discordance + delta) / 2, (discordance - delta) / 2
    rng = np.random.default_rng(7)
    counts = rng.multinomial(n, [p_b, p_c, 1 - p_b - p_c], size=4000)
    b, c = counts[:, 0], counts[:, 1]
    z = (b - c) / np.sqrt(np.maximum(b + c, 1))
    assert np.mean(np.abs(z) > 1.959964) == pytest.approx(0.80, abs=0.025)  # the test the formula describes
    # the report's own test (continuity-corrected, exact below 25 discordant pairs) is a little more cautious
    report = np.mean([mcnemar(int(x), int(y))[0] < 0.05 for x, y in zip(b[:1000], c[:1000])])
    assert 0.70 < report <= 0.82
    half = rng.multinomial(n, [(discordance + delta / 2) / 2, (discordance - delta / 2) / 2,
                               1 - discordance], size=4000)  # half the MDE: mostly missed
    zh = (half[:, 0] - half[:, 1]) / np.sqrt(np.maximum(half[:, 0] + half[:, 1], 1))
    assert np.mean(np.abs(zh) > 1.959964) < 0.4


def test_the_design_mde_pooled_over_tasks_is_the_reports_mde(grid):
    """The forecast's function fed the report's numbers (questions and discordance per task) gives the report's MDE
    of every domain and of the whole suite: the report and ``codemix plan`` compute the MDE one way."""
    from codemix.results import analysis, load_results
    from codemix.results.report import with_mde

    rs = load_results(grid)
    per_task = with_mde(analysis.deltas(rs, "task", n_boot=0), 0.05).set_index(["family", "proportion", "scope"])
    for level in ("domain", "overall"):
        rows = with_mde(analysis.deltas(rs, level, n_boot=0), 0.05)
        for _, r in rows.iterrows():
            tasks = per_task.loc[(r["family"], r["proportion"])]
            tasks = tasks[tasks["domain"] == r["domain"]] if level == "domain" else tasks
            forecast = design_mde(tasks["n_pairs"].tolist(), ((tasks["b"] + tasks["c"]) / tasks["n_pairs"]).tolist())
            assert forecast.value == pytest.approx(r["mde"], rel=1e-12) and forecast.assumed == r["mde_assumed"]
    # llama 100% vs 0%: 13 of 60 paired questions discordant (the report's ±0.168); 50%: 15 (±0.181)
    overall = with_mde(analysis.deltas(rs, "overall", n_boot=0), 0.05).set_index(["family", "proportion"])
    assert overall.loc[("llama", 1.0), "mde"] == pytest.approx(mde_of_pairs(60, 13).value) == pytest.approx(0.1684,
                                                                                                            abs=1e-4)
    assert overall.loc[("llama", 0.5), "mde"] == pytest.approx(mde_of_pairs(60, 15).value) == pytest.approx(0.1808,
                                                                                                            abs=1e-4)


def test_design_mde_counts_seeds_as_the_report_pairs_them():
    # 3 seeds x (10 + 30) questions, a quarter of them discordant: 120 pairs, 30 discordant
    m = design_mde([10, 30], [0.25, 0.25], seeds=3)
    assert m.value == pytest.approx(mde_mcnemar(120, 0.25)) and m.discordance == pytest.approx(0.25)
    mixed = design_mde([10, 30], [0.5, 0.1])  # 5 + 3 = 8 discordant of 40: weighted by the questions
    assert mixed.discordance == pytest.approx(0.2) and mixed.value == pytest.approx(mde_mcnemar(40, 0.2))
    none = design_mde([10, 30], [0.0, 0.01])  # 0.3 discordant pairs expected: half a pair, as the report assumes
    assert none.assumed and none.value == pytest.approx(paired_mde(40, 0, 0).value)
    assert design_mde([], []).method == "none"


def test_questions_for_a_target_by_hand_and_capped_at_the_data():
    # one generated task at discordance 0.25: n >= (2.801585 / 0.1)^2 * 0.25 = 196.2 -> 197 questions
    assert questions_for(0.1, [None], [0.25]) == 197
    assert questions_for(0.1, [None] * 4, [0.25] * 4) == 50  # 4 x 49 = 196 < 196.2 <= 200
    assert questions_for(0.1, [None] * 4, [0.25] * 4, seeds=2) == 25  # each seed adds its pairs
    # three tasks hold only 10 questions: the fourth makes up the rest, 196.2 - 30 -> 167
    q = questions_for(0.1, [None, 10, 10, 10], [0.25] * 4)
    assert q == 167
    at = design_mde([167, 10, 10, 10], [0.25] * 4).value
    assert at <= 0.1 < design_mde([166, 10, 10, 10], [0.25] * 4).value
    assert questions_for(0.1, [10, 10], [0.25, 0.25]) is None  # all 20 questions give 0.31: out of reach
    assert questions_for(0.2, [100, 100], [0.25, 0.25]) == 25  # reached below the data's size
    # no discordance expected: half a pair, n >= 2.801585 * sqrt(0.5) / 0.1 = 19.8
    assert questions_for(0.1, [None], [0.0]) == 20
    assert questions_for(0.001, [None] * 12, [0.25] * 12) == 163_519  # past two scan chunks: 1,962,220 pairs / 12
    with pytest.raises(ValueError):
        questions_for(0.0, [None], [0.25])
