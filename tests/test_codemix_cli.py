"""``codemix validate`` and ``codemix families``: what they print about a spec and the registry."""

import math
from pathlib import Path

import yaml
from typer.testing import CliRunner

from codemix.cli import app
from codemix.models import FAMILIES

REPO = Path(__file__).resolve().parents[1]


def _words(output: str) -> str:
    return " ".join(output.split())  # rich wraps lines at the terminal width


def test_validate_reports_the_grid_of_a_valid_spec_and_the_field_of_an_invalid_one(tmp_path):
    smoke = REPO / "sweeps" / "smoke.yaml"
    raw = yaml.safe_load(smoke.read_text())
    ok = CliRunner().invoke(app, ["validate", str(smoke)])
    assert ok.exit_code == 0, ok.output
    points = len(raw["search"]["proportion"]) * len(raw["search"]["family"]) * len(raw["search"]["seed"])
    assert f"sweep {raw['name']!r}, {points} grid point(s)" in _words(ok.output)

    searched = CliRunner().invoke(app, ["validate", str(REPO / "sweeps" / "bayes.yaml")])
    bayes = yaml.safe_load((REPO / "sweeps" / "bayes.yaml").read_text())["search"]
    assert searched.exit_code == 0, searched.output
    assert f"optuna search of {bayes['num_samples']} trial(s)" in _words(searched.output)

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**raw, "search": {**raw["search"], "family": ["llama", "gpt2"]}}))
    rejected = CliRunner().invoke(app, ["validate", str(bad)])
    words = _words(rejected.output)
    assert rejected.exit_code == 2 and "Traceback" not in words
    assert "bad.yaml" in words and "family" in words and "'gpt2' is not registered" in words


def test_families_lists_every_registered_family_once_with_its_hugging_face_ids():
    shown = CliRunner().invoke(app, ["families"], env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if "│" in line]
    families = {fam.name: fam for fam in FAMILIES.values()}
    for name, fam in families.items():
        row = [r for r in rows if r.split("│")[1].strip() == name]
        assert len(row) == 1, (name, shown.output)  # aliases are not rows of their own
        some_id = next(iter(fam.hf_ids.values()))
        assert some_id in row[0]
    assert not [a for fam in families.values() for a in fam.aliases if any(r.split("│")[1].strip() == a for r in rows)]


def test_validate_runs_the_search_checks_a_sweep_runs_before_any_compute(tmp_path):
    halving = yaml.safe_load((REPO / "sweeps" / "halving.yaml").read_text())
    s = halving["search"]
    assert len(s["halving"]["rungs"]) == 2 and "num_samples" not in s  # the budget below assumes it
    # two rungs: every proportion, then the best ceil(n / eta), per family and seed
    n = len(s["proportion"])
    planned = (n + math.ceil(n / s["halving"]["eta"])) * len(s["family"]) * len(s["seed"])
    shown = CliRunner().invoke(app, ["validate", str(REPO / "sweeps" / "halving.yaml")])
    assert shown.exit_code == 0, shown.output
    assert f"halving search of {planned} trial(s)" in _words(shown.output)

    bad = tmp_path / "unknown.yaml"
    bad.write_text(yaml.safe_dump({**halving, "search": {**s, "searcher": "hyperband"}}))
    rejected = CliRunner().invoke(app, ["validate", str(bad)])
    words = _words(rejected.output)
    assert rejected.exit_code == 2 and "Traceback" not in words
    assert "unknown.yaml: search.searcher 'hyperband' is not registered; known: grid, halving" in words
