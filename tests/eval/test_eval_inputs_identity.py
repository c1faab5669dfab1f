"""The eval hash holds what the evaluation reads, not where it sits: a spec resolves its relative data paths
against its own folder, so the same task files in two places (a laptop's checkout, a cluster node's) give one hash,
and a changed file gives another."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from codemix.config import load_spec
from codemix.sweep import hashes
from codemix.sweep.space import TrialPoint

SAMPLES = Path(__file__).resolve().parents[2] / "codemix" / "eval" / "samples"


def checkout(root: Path) -> Path:
    """A spec in ``root/sweeps`` reading the GSM8K and SVAMP files from ``root/data`` through relative paths."""
    for rel in ("grade-school-math", "SVAMP"):
        shutil.copytree(SAMPLES / rel, root / "data" / rel)
    (root / "sweeps").mkdir()
    (root / "sweeps" / "suite.yaml").write_text(yaml.safe_dump({"tasks": ["gsm8k", "svamp"]}))
    spec = {"name": "s", "model": {"size": "tiny"}, "data": {"source": "demo"},
            "eval": {"suite": "suite.yaml", "data_dir": "../data", "limit": 2, "backend": "hf", "dtype": "fp32"}}
    path = root / "sweeps" / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def eval_hash(spec_path: Path) -> str:
    return hashes.stage_hashes(load_spec(spec_path), TrialPoint("llama", 0.5), "pool")["eval"]


def test_the_same_files_in_two_folders_hash_alike_and_a_changed_file_does_not(tmp_path):
    laptop, node = checkout(tmp_path / "laptop"), checkout(tmp_path / "node")
    assert load_spec(laptop).eval.data_dir != load_spec(node).eval.data_dir  # two absolute paths
    assert eval_hash(laptop) == eval_hash(node)
    gsm8k = next((tmp_path / "node" / "data" / "grade-school-math").rglob("*.jsonl"))
    gsm8k.write_text(gsm8k.read_text().replace("\n", "\n\n", 1))  # one byte more
    assert eval_hash(laptop) != eval_hash(node)


def test_a_suite_file_counts_by_its_tasks(tmp_path):
    laptop = checkout(tmp_path / "laptop")
    before = eval_hash(laptop)
    (tmp_path / "laptop" / "sweeps" / "suite.yaml").write_text(yaml.safe_dump({"tasks": ["gsm8k"]}))
    assert eval_hash(laptop) != before
