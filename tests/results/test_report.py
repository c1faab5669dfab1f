"""The report, its figures and the CLI on the fixtures, including a smoke-like run (n = 4, all zero)."""

from __future__ import annotations

import re

import typer
from results_fixture import provenance, write_failed, write_trial
from typer.testing import CliRunner

from codemix.results.cli import report
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
    assert "0.517" in result.output and "symbolic" in result.output and "failed" in result.output
    assert str(tmp_path / "r" / "report.md") in result.output.replace("\n", "")
    assert (tmp_path / "r" / "report.html").exists()
