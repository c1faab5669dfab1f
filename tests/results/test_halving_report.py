"""The report's successive-halving section, and rungs kept out of every other table: a fixture sweep of nine
proportions at fidelity 1/3 (3 questions per task) and the best three at full fidelity (10 questions)."""

from __future__ import annotations

import pytest
import yaml
from results_fixture import NOW, provenance, write_level

from codemix.results import analysis
from codemix.results.load import load_results
from codemix.results.report import build_report
from codemix.results.sections.halving import cost_summary, rung_table

GRID = [i / 8 for i in range(9)]
LOW = {p: k for p, k in zip(GRID, [0, 1, 1, 2, 2, 3, 2, 1, 0])}  # correct of 3 at fidelity 1/3: best 0.625
FULL = {0.5: 6, 0.625: 9, 0.75: 7}  # correct of 10 at full fidelity, the proportions that went on


def trial(exp, p: float, fidelity: float, k: int, n: int, train_s: float, eval_s: float) -> None:
    prov = {**provenance("halv", "llama", p), "fidelity": fidelity}
    prov.update(trial_key=f"{prov['trial_key']}-{fidelity:.2f}", train_hash=f"{prov['train_hash']}-{fidelity:.2f}",
                eval_hash=f"{prov['eval_hash']}-{fidelity:.2f}")
    write_level(exp, "scores", prov, [{"task": "coin_flip", "domain": "symbolic", "accuracy": k / n, "n": n,
                                       "n_correct": k}])
    write_level(exp, "trials", prov, [{"status": "ok", "config": "{}", "stages": "{}", "started_at": NOW,
                                       "finished_at": NOW, "train_seconds": train_s, "eval_seconds": eval_s,
                                       "overall_accuracy": k / n}])


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    exp = tmp_path_factory.mktemp("runs") / "halv"
    for p, k in LOW.items():
        trial(exp, p, 1 / 3, k, 3, train_s=10, eval_s=5)
    for p, k in FULL.items():
        trial(exp, p, 1.0, k, 10, train_s=20, eval_s=15)
    spec = {"name": "halv", "search": {"searcher": "halving", "proportion": GRID, "family": ["llama"],
                                       "halving": {"rungs": [1 / 3, 1.0], "eta": 3, "eval_limit": 3}}}
    (exp / "spec.yaml").write_text(yaml.safe_dump(spec))
    return exp


def test_rungs_stay_out_of_the_tables_and_fits(experiment):
    rs = load_results(experiment, predictions=False)
    assert sorted(rs.trials["proportion"]) == [0.5, 0.625, 0.75] and set(rs.scores["fidelity"]) == {1.0}
    assert len(rs.low_trials) == 9 and set(rs.low_scores["n"]) == {3}
    table = analysis.accuracy_table(rs, "overall", n_boot=50)
    assert sorted(table["proportion"]) == [0.5, 0.625, 0.75]


def test_rung_table_and_what_the_rungs_saved(experiment):
    table = rung_table(load_results(experiment, predictions=False), "halv", "overall")
    assert len(table) == 12 and sorted(table[table["promoted"]]["proportion"]) == [0.5, 0.625, 0.75]
    assert set(table.loc[table["fidelity"] == 1.0, "questions"]) == {10}
    cost = cost_summary(table)
    # spent: 9 x 15 + 3 x 35 = 240 s; a grid: 9 x (10 + 20 + 15) = 405 s
    assert cost["trials"] == 12 and cost["seconds"] == 240 and cost["grid_seconds"] == 405
    assert cost["saved"] == pytest.approx(1 - 240 / 405)


def test_the_section_renders(experiment, tmp_path):
    md = build_report(load_results(experiment, predictions=False), tmp_path, n_boot=50).markdown(tmp_path)
    section = md[md.index("## Successive halving: `halv`"):]
    low_seconds, full_seconds = 10 + 5, 20 + 15  # train + eval of a trial at each rung (the fixture's)
    assert f"| llama | 33.33% | 62.5% | 0 | 3 | {LOW[0.625] / 3:.3f} | {low_seconds} | yes |" in section  # went on
    assert f"| llama | 33.33% | 12.5% | 0 | 3 | {LOW[0.125] / 3:.3f} | {low_seconds} |  |" in section
    spent, grid = 9 * low_seconds + 3 * full_seconds, 9 * (10 + 20 + 15)  # a grid: every proportion's full run
    assert f"12 trials, {spent} s" in section and f"{1 - spent / grid:.0%} saved" in section
    assert (f"best at the lowest fidelity 62.5% ({LOW[0.625] / 3:.3f}); best at fidelity 100% 62.5% "
            f"({FULL[0.625] / 10:.3f})") in section
    assert "ran below full fidelity" in md  # the note that the tables leave the rungs out
