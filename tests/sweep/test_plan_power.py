"""`codemix plan`'s power forecast: the MDE a design will have, from earlier trials in the storage or stated
assumptions, and the questions per task a target needs; the same numbers as the report's MDE."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from results.results_fixture import GRID, TASKS, grid_correct, provenance, write_trial

from codemix.results import analysis, load_results
from codemix.results.power import design_mde, mde_mcnemar, mde_of_pairs
from codemix.results.report import with_mde
from codemix.spec import SweepSpec
from codemix.sweep.hashes import model_id
from codemix.sweep.power_forecast import forecast_power, task_designs

REPO = Path(__file__).resolve().parents[2]


def _spec(storage: Path, **sections) -> SweepSpec:
    """The fixture's design: the six fixture tasks x 10 questions, llama, mistral and qwen x {0, 0.5, 1}, one seed."""
    spec = {"name": "next", "storage": str(storage), "data": {"source": "demo"}, "mix": {"total": 48},
            "model": {"size": "tiny"}, "eval": {"suite": list(TASKS), "limit": 10},
            "search": {"family": ["llama", "mistral", "qwen"], "proportion": [0.0, 0.5, 1.0], "seed": [0]}}
    for key, value in sections.items():
        spec[key] = {**spec.get(key, {}), **value}
    return SweepSpec.model_validate(spec)


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> Path:
    """A storage with earlier trials: llama at {0, 0.5, 1} (the results fixture's grid), mistral at {0, 0.5} only,
    qwen at 0 only; and in another experiment, listed first, a llama trial of another starting model (ignored)."""
    storage = tmp_path_factory.mktemp("storage")
    spec = _spec(storage)
    for family, proportions in {"llama": [0.0, 0.5, 1.0], "mistral": [0.0, 0.5], "qwen": [0.0]}.items():
        for p in proportions:
            prov = {**provenance("earlier", family, p), "model_id": model_id(spec, family)}
            correct = grid_correct(family, p) if family != "qwen" else dict(zip(TASKS, [5, 2, 7, 10, 0, 4]))
            write_trial(storage / "earlier", prov, correct)
    other = {**provenance("aside", "llama", 0.5), "model_id": "org/another-base"}
    write_trial(storage / "aside", other, {task: 10 for task in TASKS})  # would disagree on most questions
    return storage


def _report_mdes(storage: Path, level: str) -> dict:
    rows = with_mde(analysis.deltas(load_results(storage / "earlier"), level, n_boot=0), 0.05)
    return {(r["family"], r["proportion"], r["scope"]): r for _, r in rows.iterrows()}


def _scopes(forecast, family: str) -> dict:
    return {f.scope: f for f in forecast.scopes if f.family == family}


def test_the_forecast_of_the_earlier_design_is_the_reports_mde(earlier):
    forecast = forecast_power(_spec(earlier))
    report = {**_report_mdes(earlier, "overall"), **_report_mdes(earlier, "domain")}
    # mistral ran one comparison (0.5 vs 0) on this very design: 10 pairs per task, D_t discordant
    per_task = _report_mdes(earlier, "task")
    d = {t: per_task[("mistral", 0.5, t)][["b", "c"]].sum() for t in TASKS}
    rate = sum(d.values()) / 60
    mistral = _scopes(forecast, "mistral")
    assert set(mistral) == {"overall", "symbolic", "logical", "arithmetic"}
    for scope, f in mistral.items():
        members = [t for t in TASKS if scope in ("overall", TASKS[t])]
        assert f.source == "observed" and f.n_pairs == 10 * len(members)
        # each task's share shrunk toward the family's by one pseudo-pair: (D_t + rate) / (10 + 1)
        shrunk = [(d[t] + rate) / 11 for t in members]
        assert f.mde.value == pytest.approx(design_mde([10] * len(members), shrunk).value)
        assert f.mde.value == pytest.approx(report[("mistral", 0.5, scope)]["mde"], rel=0.1)
    # overall, with the same pairs on every task, the shrinkage cancels: the report's MDE to the last digit
    assert mistral["overall"].mde.value == pytest.approx(report[("mistral", 0.5, "overall")]["mde"], rel=1e-12)
    # llama ran two (0.5 and 1 vs 0: 15 and 13 of 60 discordant): their pooled share; the trial of another
    # starting model (all correct) is not the family's and changes nothing
    llama = _scopes(forecast, "llama")["overall"]
    b_c = [report[("llama", p, "overall")][["b", "c"]].sum() for p in (0.5, 1.0)]
    assert b_c == [15, 13] and llama.discordance == pytest.approx(28 / 120)
    assert llama.mde.value == pytest.approx(mde_of_pairs(60, 14).value) == pytest.approx(0.1747, abs=1e-4)
    assert forecast.basis["llama"].startswith("observed: 28 of 120 paired questions disagree in 3 earlier trial(s)")
    assert forecast.comparisons == ["0.5 vs 0", "1 vs 0"]


def test_without_a_pair_the_discordance_comes_from_the_accuracy_or_the_stated_assumption(earlier, tmp_path):
    qwen = _scopes(forecast_power(_spec(earlier)), "qwen")["overall"]
    correct = (5, 2, 7, 10, 0, 4)  # qwen's one earlier trial, of 10 per task: 28 of 60 right
    accuracies = [(k + 28 / 60) / 11 for k in correct]  # shrunk toward 28/60 by one pseudo-question
    expected = [2 * a * (1 - a) * 0.5 for a in accuracies]  # 2a(1-a)(1-r), r = 0.5 (resources.estimate)
    assert qwen.source == "from accuracy" and qwen.discordance == pytest.approx(sum(expected) / 6)
    assert qwen.accuracy == pytest.approx(sum(accuracies) / 6)
    assert qwen.mde.value == pytest.approx(design_mde([10] * 6, expected).value)
    # an empty storage: a = 0.5 and r = 0.5 -> p_d = 0.25; other assumptions, other MDEs
    empty = _scopes(forecast_power(_spec(tmp_path)), "llama")["overall"]
    assert empty.source == "assumed" and empty.discordance == pytest.approx(0.25)
    assert empty.mde.value == pytest.approx(mde_mcnemar(60, 0.25)) == pytest.approx(0.1809, abs=1e-4)
    stated = _spec(tmp_path, resources={"estimate": {"accuracy": 0.2, "correlation": 0.0}})
    assert _scopes(forecast_power(stated), "llama")["overall"].discordance == pytest.approx(0.32)


def test_more_seeds_and_tasks_the_earlier_trials_did_not_evaluate(earlier):
    three = _scopes(forecast_power(_spec(earlier, search={"seed": [0, 1, 2]})), "llama")["overall"]
    assert three.n_pairs == 180 and three.mde.value == pytest.approx(mde_of_pairs(60, 14).value / math.sqrt(3))
    # multiarith was not evaluated before: it takes the family's pooled share, 28 / 120
    wider = forecast_power(_spec(earlier, eval={"suite": [*TASKS, "multiarith"], "limit": 20}))
    llama = _scopes(wider, "llama")["arithmetic"]
    assert [t.task for t in llama.tasks] == ["gsm8k", "svamp", "multiarith"] and llama.n_pairs == 60
    assert llama.source == "observed + pooled"
    # gsm8k, svamp: examples 0..k-1 right, so 0.5 vs 0 and 1 vs 0 disagree on |k_p - k_0| of 10 questions each
    k = {p: dict(zip(TASKS, GRID[("llama", p)])) for p in (0.0, 0.5, 1.0)}
    discordant = [abs(k[0.5][t] - k[0.0][t]) + abs(k[1.0][t] - k[0.0][t]) for t in ("gsm8k", "svamp")]
    assert discordant == [2, 2]  # of 20 pairs each; shrunk toward the family's 28/120 by one pseudo-pair
    by_hand = design_mde([20, 20, 20], [(x + 28 / 120) / 21 for x in discordant] + [28 / 120])
    assert llama.mde.value == pytest.approx(by_hand.value)


def test_questions_for_the_target_are_capped_at_each_tasks_data(tmp_path):
    spec = _spec(tmp_path, eval={"suite": ["gsm8k", "multiarith"], "limit": 60, "data_dir": "builtin"})
    designs = {t.task: t for t in task_designs(spec)}
    # gsm8k's shipped sample holds 50 real questions; multiarith is generated (as many as asked)
    assert (designs["gsm8k"].questions, designs["gsm8k"].available) == (50, 50)
    assert (designs["multiarith"].questions, designs["multiarith"].available) == (60, None)
    overall = _scopes(forecast_power(spec, 0.1), "llama")["overall"]
    assert overall.n_pairs == 110 and overall.mde.value == pytest.approx(mde_mcnemar(110, 0.25))
    # 0.1 needs 196.2 pairs at p_d 0.25: gsm8k gives its 50, multiarith the other 147
    assert overall.questions_needed == 147 and overall.capped == ["gsm8k"]
    both_real = _spec(tmp_path, eval={"suite": ["gsm8k", "svamp"], "limit": 60, "data_dir": "builtin"})
    out_of_reach = _scopes(forecast_power(both_real, 0.1), "llama")["overall"]
    assert out_of_reach.questions_needed is None and out_of_reach.capped == ["gsm8k", "svamp"]
    assert out_of_reach.mde_all_data == pytest.approx(mde_mcnemar(100, 0.25)) == pytest.approx(0.1401, abs=1e-4)


def _row(output: str, family: str, scope: str) -> list[str]:
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells[:2] == [family, scope]:
            return cells
    raise AssertionError(f"no row {family} / {scope} in:\n{output}")


def test_plan_prints_the_forecast(earlier, tmp_path):
    from typer.testing import CliRunner

    from codemix.cli import app

    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec.update(storage=str(earlier))
    spec["search"].update(family=["llama", "qwen"])
    spec["eval"].update(suite=list(TASKS), limit=10)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "spec.yaml"), "--target-mde", "0.1"])
    assert result.exit_code == 0, result.output
    # columns: family, scope, tasks, q/task, n, accuracy, p_d, p_d from, MDE, q/task for the target
    llama = _row(result.output, "llama", "overall")
    assert llama[2:5] == ["6", "10", "60"] and llama[6:9] == ["0.233", "observed", "±0.175"]
    # 0.1 needs 2.8016^2 * (28/120) / 0.01 = 183.1 pairs: 31 questions per task
    assert llama[9] == "31"
    # qwen's earlier 7/10 and 10/10 on clutrr and babi15_deduction, shrunk toward its 28/60: 2a(1-a)(1-0.5) each
    a = [(k + 28 / 60) / 11 for k in (7, 10)]
    p_d = sum(x * (1 - x) for x in a) / 2
    qwen = _row(result.output, "qwen", "logical")
    assert qwen[6:9] == [f"{p_d:.3f}", "from accuracy", f"±{mde_mcnemar(20, p_d):.3f}"]


def test_plan_names_a_missing_task_file_instead_of_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from codemix.cli import app

    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec.update(storage=str(tmp_path))
    spec["eval"].update(suite=["gsm8k"], data_dir=str(tmp_path / "nowhere"))
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "spec.yaml")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in text
    assert f"task 'gsm8k': missing {tmp_path / 'nowhere' / 'grade-school-math' / 'test.jsonl'}" in text
