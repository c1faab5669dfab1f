"""Analysis numbers against values computed by hand from the fixture (see conftest.py)."""

from __future__ import annotations

import math

import pytest
from results_fixture import provenance, write_trial
from scipy import stats

from codemix.results import analysis
from codemix.results.load import load_results


@pytest.fixture(scope="module")
def rs(grid):
    return load_results(grid)


def _value(table, family, proportion, scope, column="accuracy"):
    row = table[(table.family == family) & (table.proportion == proportion) & (table.scope == scope)]
    assert len(row) == 1, (family, proportion, scope)
    return row[column].iloc[0]


def test_overall_is_the_mean_of_task_accuracies(rs):
    overall = analysis.accuracy_table(rs, "overall", n_boot=0)
    assert len(overall) == 6  # the failed qwen trial has no scores
    # llama: (2+4+5+3+1+3)/60, (9+6+5+5+2+4)/60, (7+8+4+2+2+2)/60; mistral: 22/60, 29/60, 31/60
    for family, p, expected in [("llama", 0.0, 0.3), ("llama", 0.5, 31 / 60), ("llama", 1.0, 25 / 60),
                                ("mistral", 0.0, 22 / 60), ("mistral", 0.5, 29 / 60), ("mistral", 1.0, 31 / 60)]:
        assert _value(overall, family, p, "overall") == pytest.approx(expected)
    assert set(overall["n"]) == {60} and set(overall["n_tasks"]) == {6} and set(overall["n_seeds"]) == {1}


def test_domain_is_the_mean_over_its_tasks(rs):
    domain = analysis.accuracy_table(rs, "domain", n_boot=0)
    assert list(domain.scope[:3]) == ["symbolic", "logical", "arithmetic"]  # the paper's order
    assert _value(domain, "llama", 0.0, "symbolic") == pytest.approx((0.2 + 0.4) / 2)
    assert _value(domain, "llama", 0.5, "symbolic") == pytest.approx((0.9 + 0.6) / 2)
    assert _value(domain, "llama", 1.0, "logical") == pytest.approx((0.4 + 0.2) / 2)
    assert _value(domain, "mistral", 1.0, "arithmetic") == pytest.approx((0.4 + 0.3) / 2)


def test_task_accuracies(rs):
    task = analysis.accuracy_table(rs, "task", n_boot=0)
    assert len(task) == 6 * 6
    assert _value(task, "llama", 0.5, "coin_flip") == pytest.approx(0.9)
    assert _value(task, "mistral", 0.0, "babi15_deduction") == pytest.approx(0.6)
    assert _value(task, "llama", 0.0, "gsm8k", "domain") == "arithmetic"


def test_deltas_against_the_general_mix(rs):
    d = analysis.deltas(rs, "overall")
    assert len(d) == 4  # two non-zero mixes x two families
    assert _value(d, "llama", 0.5, "overall", "delta") == pytest.approx(31 / 60 - 18 / 60)
    assert _value(d, "mistral", 1.0, "overall", "delta") == pytest.approx(31 / 60 - 22 / 60)
    dom = analysis.deltas(rs, "domain")
    assert _value(dom, "llama", 1.0, "logical", "delta") == pytest.approx(0.3 - 0.4)
    # llama 1.0 vs 0 overall: pooled discordant pairs b = 5+4+0+0+1+0 = 10, c = 0+0+1+1+0+1 = 3 -> not significant
    assert (_value(d, "llama", 1.0, "overall", "b"), _value(d, "llama", 1.0, "overall", "c")) == (10, 3)
    assert _value(d, "llama", 1.0, "overall", "p_value") == pytest.approx(stats.binomtest(3, 13).pvalue)
    assert not _value(d, "llama", 1.0, "overall", "significant")


def test_best_proportions_with_ties(rs):
    best = analysis.best_proportions(rs, "task")
    llama = best[best.family == "llama"].set_index("scope")
    assert llama.loc["coin_flip", "best_proportion"] == 0.5
    assert llama.loc["reverse_list", "best_proportion"] == 1.0
    assert llama.loc["clutrr", "best_proportion"] == 0.0 and llama.loc["clutrr", "tied_with"] == "0.5"
    dom = analysis.best_proportions(rs, "domain").set_index(["family", "scope"])
    assert dom.loc[("llama", "symbolic"), "best_proportion"] == 0.5  # 0.75 at 0.5 and 1.0: lowest wins
    assert dom.loc[("llama", "symbolic"), "tied_with"] == "1"
    assert dom.loc[("mistral", "logical"), "best_proportion"] == 1.0


def test_mcnemar_paired_on_examples(rs):
    # llama coin_flip: right on 0..1 at 0%, on 1..9 at 50%: b = 1 (example 0), c = 8 (examples 2..9)
    result = analysis.compare(rs, "llama", 0.0, 0.5, task="coin_flip")
    assert (result["n_pairs"], result["b"], result["c"]) == (10, 1, 8)
    assert result["method"] == "exact"
    assert result["p_value"] == pytest.approx(2 * (1 + 9) / 2 ** 9)  # 2 P[X <= 1], X ~ Bin(9, 1/2)
    assert result["p_value"] == pytest.approx(stats.binomtest(1, 9).pvalue)


def test_mcnemar_formula():
    assert analysis.mcnemar(0, 0) == (1.0, "exact")
    assert analysis.mcnemar(4, 4)[0] == pytest.approx(1.0)
    p, method = analysis.mcnemar(30, 10)  # chi2 with continuity correction: (|30-10|-1)^2/40 = 9.025
    assert method == "chi2" and p == pytest.approx(stats.chi2.sf(9.025, 1))
    assert analysis.mcnemar(2, 20)[0] == pytest.approx(stats.binomtest(2, 22).pvalue)


def test_bootstrap_ci_width_matches_the_normal_approximation(tmp_path):
    exp = tmp_path / "wide"
    write_trial(exp, provenance("wide", "llama", 0.0), {"coin_flip": 120}, n=400, predictions=False)
    rs = load_results(exp)
    row = analysis.accuracy_table(rs, "task", n_boot=4000, seed=1).iloc[0]
    expected = 2 * 1.96 * math.sqrt(0.3 * 0.7 / 400)  # 0.0898
    assert row.accuracy == pytest.approx(0.3)
    assert row.ci_high - row.ci_low == pytest.approx(expected, rel=0.1)
    assert row.ci_low < 0.3 < row.ci_high
    again = analysis.accuracy_table(rs, "task", n_boot=4000, seed=1).iloc[0]
    assert (again.ci_low, again.ci_high) == (row.ci_low, row.ci_high)  # seeded: reproducible


def test_bootstrap_resamples_seeds(tmp_path):
    exp = tmp_path / "seeds"
    write_trial(exp, provenance("seeds", "llama", 0.0, seed=0), {"coin_flip": 80}, n=400, predictions=False)
    write_trial(exp, provenance("seeds", "llama", 0.0, seed=1), {"coin_flip": 320}, n=400, predictions=False)
    row = analysis.accuracy_table(load_results(exp), "overall").iloc[0]
    assert row.n_seeds == 2 and row.accuracy == pytest.approx(0.5)
    assert row.ci_low < 0.3 and row.ci_high > 0.7  # the seed-to-seed spread (0.2 vs 0.8) dominates


def test_quadratic_fit_finds_the_optimum(fine):
    fits = analysis.fit_curves(load_results(fine), "overall")
    assert list(fits.family) == ["gemma"]  # llama has one proportion here
    fit = fits.iloc[0]
    assert (fit.a, fit.b, fit.c) == pytest.approx((-0.5, 0.6, 0.2), abs=1e-9)
    assert fit.optimum == pytest.approx(0.6) and fit.optimum_accuracy == pytest.approx(0.38)
    assert fit.r2 == pytest.approx(1.0) and fit.n_points == 6


def test_all_zero_single_proportion_one_family(tmp_path):
    exp = tmp_path / "zero"
    write_trial(exp, provenance("zero", "llama", 0.5), {"coin_flip": 0, "gsm8k": 0}, n=4, predictions=False)
    rs = load_results(exp)
    overall = analysis.accuracy_table(rs, "overall").iloc[0]
    assert (overall.accuracy, overall.ci_low, overall.ci_high) == (0.0, 0.0, 0.0)
    assert analysis.deltas(rs, "overall").empty  # no 0% mix
    assert analysis.fit_curves(rs).empty
    best = analysis.best_proportions(rs, "task")
    assert list(best.best_proportion) == [0.5, 0.5] and set(best.n_proportions) == {1}
