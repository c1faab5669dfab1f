"""`codemix plan`: trials, cache status, GPU-hour estimates and fit checks, without running anything."""

from pathlib import Path

import pytest
import yaml

from codemix.config import load_spec
from codemix.sweep.plan import check_fits, estimate_memory_gb, plan_sweep

REPO = Path(__file__).resolve().parents[2]


def _paper(tmp_path, **overrides):
    return load_spec(REPO / "sweeps" / "paper.yaml", {"storage": str(tmp_path), "data.source": "demo",
                                                    "data.classifier.name": "heuristic", "mix.total": 50,
                                                    "eval.data_dir": None, "eval.limit": 2, **overrides})


def _train_hours(plans) -> dict:
    return {p.point.family: p.gpu_hours_train for p in plans if p.point.proportion == 0.5}


def test_plan_counts_trials_estimates_cost_and_flags_what_will_not_fit(tmp_path):
    spec = _paper(tmp_path)
    plans, assumptions = plan_sweep(spec, "A100-80GB")
    s = spec.search
    assert len(plans) == len(s.family) * len(s.proportions()) * len(s.seed)  # one row per grid point
    assert not any(any(p.cached.values()) for p in plans)  # a fresh storage: nothing cached yet
    # the parameter count is the real model's: Mistral-7B-v0.1 has 7.24B parameters (its model card)
    mistral = next(p for p in plans if p.point.family == "mistral")
    assert 7.0 < mistral.params_b < 7.5
    # the A100's bf16 dense peak from NVIDIA's datasheet (312 TFLOP/s), reported with the estimate
    assert assumptions["gpu_bf16_tflops"] == pytest.approx(312)

    # the cost model's behaviour: linear in training tokens, in parameters, and in 1/GPU throughput
    hours = _train_hours(plans)
    double = _train_hours(plan_sweep(_paper(tmp_path, **{"mix.total": 100}), "A100-80GB")[0])
    assert all(double[f] == pytest.approx(2 * hours[f]) for f in hours)
    params = {p.point.family: p.params_b for p in plans}
    assert hours["llama2"] / hours["mistral"] == pytest.approx(params["llama2"] / params["mistral"])
    h100_plans, h100 = plan_sweep(spec, "H100-80GB")
    h100_hours = _train_hours(h100_plans)
    assert all(h * 312 == pytest.approx(h100_hours[f] * h100["gpu_bf16_tflops"]) for f, h in hours.items())
    # paper.yaml checkpoints activations: the backward pass runs the forward again, 8 FLOPs per parameter and
    # token instead of 6; LoRA computes no weight gradients of the base, 6 (4 without checkpointing)
    lora = _train_hours(plan_sweep(_paper(tmp_path, **{"train.method": "lora"}), "A100-80GB")[0])
    assert all(lora[f] == pytest.approx(hours[f] * 6 / 8) for f in hours)
    no_recompute = _train_hours(plan_sweep(_paper(tmp_path, **{"train.gradient_checkpointing": False}))[0])
    assert all(no_recompute[f] == pytest.approx(hours[f] * 6 / 8) for f in hours)
    # memory: the logits of a micro-batch (4 x 2048 x vocabulary x 12 bytes) on top of weights and optimizer
    memory = {p.point.family: p.memory_per_gpu_gb for p in plans if p.point.proportion == 0.5}
    logits = {f: memory[f] - estimate_memory_gb(params[f], "full", 8) for f in memory}
    assert logits["gemma"] == pytest.approx(4 * 2048 * 256_000 * 12 / 1e9)  # 25 GB: a 256k vocabulary
    assert logits["llama2"] == pytest.approx(4 * 2048 * 32_000 * 12 / 1e9)  # 3 GB

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


def test_plan_with_a_cluster_config_says_how_many_trials_it_holds_at_once_or_that_it_holds_none(tmp_path):
    from typer.testing import CliRunner

    from codemix.cli import app

    base = ["plan", str(REPO / "sweeps" / "paper.yaml"), "--cluster", str(REPO / "cluster.yaml"), "--set",
            f"storage={tmp_path}", "--set", "data.source=demo", "--set", "data.classifier.name=heuristic", "--set",
            "mix.total=50", "--set", "eval.data_dir=null", "--set", "eval.limit=1"]
    result = CliRunner().invoke(app, base)
    text = " ".join(result.output.split())
    assert result.exit_code == 0, text[-2000:]
    assert "the cluster holds 2 trial(s) at once at its largest" in text and "placed STRICT_PACK" in text
    result = CliRunner().invoke(app, [*base, "--set", "resources.gpus_per_worker=16", "--set",
                                      "resources.num_workers=1"])
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "more than this cluster can ever hold" in text


def test_storage_that_cannot_be_opened_is_a_clear_error_not_a_traceback():
    from typer.testing import CliRunner

    from codemix.cli import app

    result = CliRunner().invoke(app, ["plan", str(REPO / "sweeps" / "smoke.yaml"), "--set", "storage=nosuchfs://bucket/x"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "storage 'nosuchfs://bucket/x' cannot be opened" in text and "Traceback" not in text


def test_plan_of_a_searched_sweep_prices_its_budget_of_new_trials(tmp_path):
    overrides = {"storage": str(tmp_path), "data.source": "demo", "data.classifier.name": "heuristic",
                 "mix.total": 50, "eval.data_dir": None, "eval.limit": 1}
    spec = load_spec(REPO / "sweeps" / "bayes.yaml", overrides)
    plans, assumptions = plan_sweep(spec)
    search = assumptions["search"]
    assert search["start"].known == [] and search["start"].to_run == spec.search.num_samples  # no known point yet
    # the rows are the range's corners (x language x corruption), priced to estimate one new trial: a new trial
    # costs what a trial of the grid over those corners costs on average
    s = spec.search
    assert sorted({p.point.proportion for p in plans}) == [0.0, 1.0]
    assert len(plans) == 2 * len(s.family) * len(s.seed) * len(s.code_language) * len(s.corruption)
    grid, _ = plan_sweep(load_spec(REPO / "sweeps" / "bayes.yaml", {**overrides, "search.searcher": "grid",
                                                                    "search.proportion": [0.0, 1.0]}))
    grid_hours = [p.gpu_hours_train + p.gpu_hours_eval for p in grid]
    assert len(grid) == len(plans) and min(grid_hours) > 0
    assert search["gpu_hours_per_trial"] == pytest.approx(sum(grid_hours) / len(grid))
