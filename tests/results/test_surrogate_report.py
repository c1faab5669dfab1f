"""The report's surrogate section, and interpolated models kept out of every other table: a fixture sweep with real
fine-tunes at 0, 0.5 and 1 (the anchors 0 and 1) and interpolated models at 0.25, 0.5 and 0.75."""

from __future__ import annotations

import pytest
import yaml
from results_fixture import NOW, provenance, write_level

from codemix.results import analysis
from codemix.results.load import load_results
from codemix.results.report import build_report
from codemix.results.sections.surrogate import surrogate_comparison

N = 20
TASKS = {"coin_flip": "symbolic", "gsm8k": "arithmetic"}
REAL = {0.0: (4, 10), 0.5: (12, 8), 1.0: (6, 2)}  # correct of N per task (coin_flip, gsm8k)
SURROGATE = {0.25: (7, 9), 0.5: (9, 7), 0.75: (8, 4)}


def trial(exp, p: float, correct: tuple[int, int], anchors: list[float] | None) -> None:
    prov = provenance("surr", "llama", p)
    if anchors:
        prov.update(anchors=anchors, mix_hash=None, trial_key=f"{prov['trial_key']}-i",
                    train_hash=f"interp-{p}", eval_hash=f"eval-interp-{p}")
    write_level(exp, "scores", prov, [{"task": t, "domain": d, "accuracy": k / N, "n": N, "n_correct": k}
                                      for (t, d), k in zip(TASKS.items(), correct)])
    write_level(exp, "trials", prov, [{"status": "ok", "config": "{}", "stages": "{}", "started_at": NOW,
                                       "finished_at": NOW, "overall_accuracy": sum(correct) / 2 / N}])


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    exp = tmp_path_factory.mktemp("runs") / "surr"
    for p, k in REAL.items():
        trial(exp, p, k, None)
    for p, k in SURROGATE.items():
        trial(exp, p, k, [0.0, 1.0])
    (exp / "spec.yaml").write_text(yaml.safe_dump({"name": "surr", "search": {"searcher": "surrogate"}}))
    return exp


def test_interpolated_models_stay_out_of_the_tables_and_fits(experiment):
    rs = load_results(experiment, predictions=False)
    assert sorted(rs.trials["proportion"]) == [0.0, 0.5, 1.0] and rs.scores["anchors"].isna().all()
    assert sorted(rs.surrogate_trials["proportion"]) == [0.25, 0.5, 0.75] and len(rs.surrogate_scores) == 6
    table = analysis.accuracy_table(rs, "overall", n_boot=50)
    assert dict(zip(table["proportion"], table["accuracy"])) == {p: sum(k) / 2 / N for p, k in REAL.items()}
    assert rs.experiments[0].proportions == [0.0, 0.5, 1.0]
    assert any("interpolated between fine-tunes" in note for note in rs.notes)


def test_the_curves_and_their_agreement(experiment):
    curves, agreement = surrogate_comparison(load_results(experiment, predictions=False))
    overall = curves[curves["scope"] == "overall"].set_index("proportion")
    # the surrogate at the anchors is the anchors' own fine-tune; between them the interpolated models
    assert overall["surrogate"].to_dict() == pytest.approx({0.0: 0.35, 0.25: 0.4, 0.5: 0.4, 0.75: 0.3, 1.0: 0.2})
    assert overall["anchor"].to_dict() == {0.0: True, 0.25: False, 0.5: False, 0.75: False, 1.0: True}
    assert overall.loc[0.25, "real"] != overall.loc[0.25, "real"]  # no real model there: NaN
    row = agreement[agreement["scope"] == "overall"].iloc[0]
    # compared at 0, 0.5 and 1: surrogate 0.35, 0.4, 0.2 and real 0.35, 0.5, 0.2 -> the same ranks
    assert row["points"] == 3 and row["spearman"] == pytest.approx(1.0)
    assert row["mean_abs_diff"] == pytest.approx(0.1 / 3)
    assert row["surrogate_best"] == 0.25 and row["real_best"] == 0.5  # a tie goes to the lower proportion
    gsm8k = agreement[agreement["scope"] == "gsm8k"].iloc[0]  # surrogate 10, 7, 2 vs real 10, 8, 2: same ranks
    coin = agreement[agreement["scope"] == "coin_flip"].iloc[0]  # surrogate 4, 9, 6 vs real 4, 12, 6
    assert gsm8k["spearman"] == pytest.approx(1.0) and coin["spearman"] == pytest.approx(1.0)
    assert coin["mean_abs_diff"] == pytest.approx(3 / N / 3)


def test_the_section_renders(experiment, tmp_path):
    md = build_report(load_results(experiment, predictions=False), tmp_path, n_boot=50).markdown(tmp_path)
    section = md[md.index("## Interpolated models (surrogate) against fine-tuned ones"):]
    assert "| 0% * | 0.350 / 0.350 |" in section and "| 25% | 0.400 / – |" in section
    assert "| llama | overall | 3 | +1.00 | 0.033 |" in section
    assert "| coin_flip | 0.200 / 0.200 | 0.350 / – | 0.450 / 0.600 |" in section  # per task, proportions across
    assert "evaluated models interpolated between fine-tunes" in md  # the note that the tables leave them out


def test_no_section_without_interpolated_models(tmp_path):
    exp = tmp_path / "runs" / "surr"
    for p, k in REAL.items():
        trial(exp, p, k, None)
    (exp / "spec.yaml").write_text(yaml.safe_dump({"name": "surr", "search": {"searcher": "optimum"}}))
    rs = load_results(exp, predictions=False)
    curves, agreement = surrogate_comparison(rs)
    assert curves.empty and agreement.empty and rs.surrogate_trials.empty
    md = build_report(rs, tmp_path / "out", n_boot=50).markdown(tmp_path / "out")
    assert "Interpolated models (surrogate)" not in md and "interpolated between fine-tunes" not in md
