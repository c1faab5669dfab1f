"""``codemix data`` commands on real files."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from codemix.data.cli import app

runner = CliRunner()


def test_inspect_prints_counts_and_located_errors(shared_data):
    path = shared_data / "ift" / "glaive_toolcall_en_demo_llamafactory" / "glaive_toolcall_en_demo.json"
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dropped"]["unsupported_role"] == 153 and report["records_in"] == 300
    assert report["errors"][0]["field"].endswith(".from") and sum(report["classes"].values()) == report["records_out"]
    table = runner.invoke(app, ["inspect", str(path)], env={"COLUMNS": "200"})
    assert "unsupported_role" in table.output and "glaive_toolcall_en_demo.json" in table.output


def test_inspect_strict_stops_with_location(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"conversations": [{"from": "human", "value": "a"}]}\n{oops\n')
    result = runner.invoke(app, ["inspect", str(tmp_path / "x.jsonl"), "--strict"])
    assert result.exit_code == 1 and "x.jsonl:2" in result.output


def test_classify_audit_mix_round_trip(shared_data, tmp_path):
    src = shared_data / "ift" / "alpaca_sample_torchtune" / "alpaca_tiny.json"
    out = tmp_path / "labelled.parquet"
    result = runner.invoke(app, ["classify", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 100 and json.loads(out.with_suffix(".report.json").read_text())["records_in"] == 100
    gold = tmp_path / "gold.csv"
    labels = table.column("label").to_pylist()
    flipped = ["other" if lab != "other" else "math" for lab in labels[:10]] + labels[10:]
    gold.write_text("id,label\n" + "".join(f"{i},{lab}\n" for i, lab in zip(table.column("id").to_pylist(), flipped)))
    result = runner.invoke(app, ["audit", str(out), str(gold)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # kappa from its definition, by hand: observed 0.9 against the agreement the two label counts expect by chance
    n = len(labels)
    chance = sum(labels.count(k) * flipped.count(k) for k in ("coding", "math", "other")) / n ** 2
    kappa = (0.9 - chance) / (1 - chance)
    assert 0 < kappa < 0.9
    assert "accuracy 0.900" in result.output and f"Cohen's kappa {kappa:.3f}" in result.output
    n_coding = labels.count("coding")
    result = runner.invoke(app, ["mix", str(out), "-o", str(tmp_path / "m"), "-p", "0.5", "--total", "20"])
    assert result.exit_code == 1 and f"available {n_coding}" in result.output
    result = runner.invoke(app, ["mix", str(out), "-o", str(tmp_path / "m"), "-p", "0.0", "--total", "20"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["counts"]["general"] == 20
