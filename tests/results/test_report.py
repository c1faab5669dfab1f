"""The report, its figures and the CLI on the fixtures, including a smoke-like run (n = 4, all zero)."""

from __future__ import annotations

import math
import re

import pytest
import typer
from results_fixture import provenance, write_failed, write_trial
from typer.testing import CliRunner

from codemix.results import analysis
from codemix.results.cells import mde_cell, proportion_label
from codemix.results.cli import report
from codemix.results.load import load_results
from codemix.results.power import mde_mcnemar
from codemix.results.report import write_report

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_markdown_html_and_figures(grid, fine, tmp_path):
    out = tmp_path / "report"
    path = write_report([grid, fine], out, html=True, n_boot=500)
    md = path.read_text()
    for expected in ["## Overall accuracy", "0.517 [", "Configuration of `grid`", "**train**: method=full",
                     "No `spec.yaml`", "## Failed trials", "RuntimeError: CUDA out of memory", "**n.s.**",
                     "Accuracy vs proportion: quadratic fits", "| gemma | overall | 6 |", "counted once"]:
        assert expected in md, expected
    # llama 100% vs 0% overall: +0.117, McNemar p = 0.092 -> flagged not significant
    assert re.search(r"\| llama \| 100% \| 0\.417 \[[^|]*\| \+0\.117 \| 0\.092 \| \*\*n\.s\.\*\* \|", md)
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", md)
    assert {i.split("/")[-1] for i in images} == {"overall.png", "domains.png", "heatmap_llama.png",
                                                  "heatmap_mistral.png", "heatmap_gemma.png", "fit_gemma.png"}
    for image in images:
        assert (out / image).read_bytes().startswith(PNG)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(images) and 'src="figures/' not in html
    assert "<table>" in html and "<b>n.s.</b>" in html


def mcnemar_exact(b: int, c: int) -> float:
    """McNemar's exact two-sided p from its definition: twice the binomial tail of min(b, c) of b + c at 1/2."""
    n = b + c
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n)


def test_each_delta_has_its_minimum_detectable_effect(grid, tmp_path):
    md = write_report([grid], tmp_path / "report", n_boot=200).read_text()
    # llama 100% vs 0%: 13 of 60 paired questions discordant -> 2.80 * sqrt((13/60) / 60) = 0.168; n.s.
    assert mde_mcnemar(60, 13 / 60) == pytest.approx(0.168, abs=5e-4)
    assert "| +0.117 | 0.092 | **n.s.** | too small to tell (MDE ±0.168) | 6 | 1 |" in md
    # llama 50% vs 0%: +13 of 60 with 15 discordant, so 14 gained and 1 lost: p = 32 / 2^15, significant
    assert mcnemar_exact(14, 1) == pytest.approx(32 / 2 ** 15)
    assert f"| +0.217 | {mcnemar_exact(14, 1):.2g} | yes | ±{mde_mcnemar(60, 15 / 60):.3f} |" in md
    # per task (10 questions): coin_flip 8 gained, 1 lost (+0.700) significant; clutrr 0/0, half a discordant pair
    # assumed (*)
    assert (f"| llama | 50% | coin_flip | +0.700 | 8/1 | {mcnemar_exact(8, 1):.3f} | yes | "
            f"±{mde_mcnemar(10, 9 / 10):.3f} |") in md
    assert "| llama | 50% | clutrr | +0.000 | 0/0 | 1.000 | **n.s.** | too small to tell (MDE ±0.198*) |" in md
    assert "+0.450 (p=0.004; MDE ±0.420)" in md and "+0.000 (p=1.000) n.s.: too small to tell (MDE ±0.198)" in md
    assert "**MDE** (minimum detectable effect)" in md and "below 6 it cannot reach p < 0.05" in md
    assert "not significant (α as above): too small to tell at this size (median MDE ±0.168)" in md


def test_mde_cells():
    assert mde_cell(0.1234, False, True) == "±0.123" and mde_cell(float("nan"), False, False) == "–"
    assert mde_cell(1.3, False, False) == "too small to tell (MDE > ±1)"  # 2.80 * sqrt(1/4): four questions
    assert mde_cell(0.2, True, False) == "too small to tell (MDE ±0.200*)"


def test_the_mde_without_predictions_comes_from_the_bootstrap_ci(fine, tmp_path):
    md = write_report([fine], tmp_path / "report", n_boot=200).read_text()
    assert re.search(r"\| gemma \| 20% \| \+0\.100 \(CI \[[^]]+\]\) n\.s\.: too small to tell \(MDE ±0\.1\d\d\) \|", md)


def test_smoke_like_run_all_zero_single_proportion(tmp_path):
    exp = tmp_path / "smoke"
    write_trial(exp, provenance("smoke", "llama", 0.5), {"coin_flip": 0, "babi15_deduction": 0, "multiarith": 0},
                n=4, predictions=False, tasks={"coin_flip": "symbolic", "babi15_deduction": "logical",
                                               "multiarith": "arithmetic"})
    write_failed(exp, provenance("smoke", "llama", 1.0), "")
    md = write_report([exp], tmp_path / "out", html=True).read_text()
    assert "Every accuracy is 0" in md and "no 0% mix was run" in md and "(no message)" in md
    assert "Only one proportion was run" in md
    assert (tmp_path / "out" / "figures" / "overall.png").read_bytes().startswith(PNG)


def test_report_when_every_trial_failed(tmp_path):
    exp = tmp_path / "broken"
    write_failed(exp, provenance("broken", "llama", 0.0), "ImportError: no vllm")
    md = write_report(exp, tmp_path / "out").read_text()
    assert "No finished trial has scores yet" in md and "ImportError: no vllm" in md


def test_cli_prints_tables_and_the_path(grid, tmp_path):
    app = typer.Typer()
    app.command()(report)
    app.command("other")(lambda: None)  # two commands: typer keeps the subcommand name
    result = CliRunner().invoke(app, ["report", str(grid), "--out", str(tmp_path / "r"), "--html"],
                                env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    results = load_results([grid])
    overall = analysis.accuracy_table(results, "overall")
    printed = {tuple(c.strip() for c in line.split("│")[1:4]) for line in result.output.splitlines()
               if line.count("│") == 4}  # the overall table: family, coding, overall
    assert printed == {(r.family, proportion_label(r.proportion), f"{r.accuracy:.3f} ±{(r.ci_high - r.ci_low) / 2:.2f}")
                       for r in overall.itertuples()}
    failed = [line for line in result.output.splitlines() if line.startswith("failed ")]
    assert failed == [f"failed {t.family} {proportion_label(t.proportion)} seed={t.seed}: {t.error.splitlines()[0]}"
                      for t in results.failed.itertuples()] and failed
    assert str(tmp_path / "r" / "report.md") in result.output.replace("\n", "")
    assert (tmp_path / "r" / "report.html").exists()
