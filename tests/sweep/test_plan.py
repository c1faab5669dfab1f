"""`codemix plan`: trials, cache status, GPU-hour estimates and fit checks, without running anything."""

from pathlib import Path

import pytest
import yaml

from codemix.config import load_spec
from codemix.sweep.plan import check_fits, estimate_memory_gb, plan_sweep

REPO = Path(__file__).resolve().parents[2]


def test_plan_counts_trials_estimates_cost_and_flags_what_will_not_fit(tmp_path):
    spec = load_spec(REPO / "sweeps" / "paper.yaml", {"storage": str(tmp_path), "data.source": "demo",
                                                    "data.classifier.name": "heuristic", "mix.total": 50,
                                                    "eval.data_dir": None, "eval.limit": 2})
    plans, assumptions = plan_sweep(spec, "A100-80GB")
    assert len(plans) == 18 and not any(any(p.cached.values()) for p in plans)
    mistral = next(p for p in plans if p.point.family == "mistral")
    # full fine-tuning: 6 * params * tokens / (peak * MFU)
    expected = 6 * 7.2e9 * mistral.train_tokens / (312e12 * 0.35) / 3600
    assert abs(mistral.gpu_hours_train - expected) < 1e-9
    assert check_fits(plans, assumptions, spec, yaml.safe_load((REPO / "cluster.yaml").read_text())) == []
    # the same full fine-tune on one GPU does not fit in 80 GB (16 bytes/param for AdamW in bf16)
    one_gpu = spec.model_copy(update={"resources": spec.resources.model_copy(update={"num_workers": 1})})
    plans1, assumptions1 = plan_sweep(one_gpu, "A100-80GB")
    problems = check_fits(plans1, assumptions1, one_gpu)
    assert any("mistral" in p and "exceeds 80 GB" in p for p in problems)
    assert estimate_memory_gb(7.2, "lora", 1) < 80  # ... while LoRA does


def test_plan_rejects_workers_no_node_type_can_hold(tmp_path):
    spec = load_spec(REPO / "sweeps" / "paper.yaml", {"storage": str(tmp_path), "data.source": "demo",
                                                    "data.classifier.name": "heuristic", "mix.total": 50,
                                                    "eval.data_dir": None, "eval.limit": 1,
                                                    "resources.gpus_per_worker": 16})
    plans, assumptions = plan_sweep(spec)
    problems = check_fits(plans, assumptions, spec, yaml.safe_load((REPO / "cluster.yaml").read_text()))
    assert any("no node type" in p for p in problems)


def test_storage_that_cannot_be_opened_is_a_clear_error_not_a_traceback():
    from typer.testing import CliRunner

    from codemix.cli import app

    result = CliRunner().invoke(app, ["plan", str(REPO / "sweeps" / "smoke.yaml"), "--set", "storage=nosuchfs://bucket/x"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "storage 'nosuchfs://bucket/x' cannot be opened" in text and "Traceback" not in text


def test_plan_of_a_searched_sweep_prices_its_budget_of_new_trials(tmp_path):
    spec = load_spec(REPO / "sweeps" / "bayes.yaml", {"storage": str(tmp_path), "data.source": "demo",
                                                    "data.classifier.name": "heuristic", "mix.total": 50,
                                                    "eval.data_dir": None, "eval.limit": 1})
    plans, assumptions = plan_sweep(spec)
    search = assumptions["search"]
    assert search["start"].known == [] and search["start"].to_run == 24
    # the rows are the range's corners (x language x corruption), priced to estimate one new trial
    assert sorted({p.point.proportion for p in plans}) == [0.0, 1.0] and len(plans) == 2 * 2 * 2
    per_trial = sum(p.gpu_hours_train + p.gpu_hours_eval for p in plans) / len(plans)
    assert search["gpu_hours_per_trial"] == pytest.approx(per_trial) and per_trial > 0
