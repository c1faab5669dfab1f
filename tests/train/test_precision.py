"""A bf16 full fine-tune under plain DDP (no DeepSpeed) keeps fp32 master weights: AdamW updates at a small
learning rate (2e-5, the paper's) land in the weights instead of rounding away in bf16's 8-bit mantissa.

The loop runs in this process (the DDP engine, one worker, CPU autocast), on the tiny Llama twin: four steps at
a constant 2e-5, once in fp32 and once in bf16. The update a run applied is read from its last checkpoint's
weights (the state a resume continues from) against the starting weights.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import store_with_mix
from safetensors import safe_open

from codemix.config import ModelConfig, ResourcesConfig, TrainConfig
from codemix.models.loading import load_causal_lm, resolve_model_source
from codemix.train import TrainRun, fine_tune
from codemix.train.engine import STATE_FILE

pytestmark = pytest.mark.timeout(300)


def _run(store, precision: str) -> tuple[TrainRun, dict]:
    run = TrainRun(store=store, mix_key="_cache/mixes/m1", mix_hash="m1", family="llama",
                   model_source=resolve_model_source("llama", ModelConfig()), model_cfg=ModelConfig(),
                   train_cfg=TrainConfig(lr=2e-5, lr_scheduler="constant", warmup_ratio=0.0, micro_batch_size=4,
                                         max_length=96, max_steps=4, precision=precision),
                   resources=ResourcesConfig(train_launcher="in_process"), seed=0, train_hash=f"prec-{precision}")
    return run, fine_tune(run)[1]


def _trained_weights(store, run: TrainRun) -> dict:
    [final] = sorted(Path(store.path(run.run_key)).glob("checkpoint_*"))
    return torch.load(final / STATE_FILE, weights_only=False, map_location="cpu")["model"]


def test_bf16_updates_at_a_small_learning_rate_are_not_lost(tmp_path):
    store = store_with_mix(tmp_path, 24)
    start = {k: v.float() for k, v in load_causal_lm(resolve_model_source("llama", ModelConfig())).state_dict().items()}
    moved = {}
    for precision in ("fp32", "bf16"):
        run, metrics = _run(store, precision)
        assert metrics["step"] == 4
        weights = _trained_weights(store, run)
        if precision == "bf16":
            assert {v.dtype for v in weights.values()} == {torch.float32}  # the master copy is fp32
        # against the start as the run held it (a bf16 load rounds it first: that is no update)
        deltas = [(weights[k].float() - start[k].to(weights[k].dtype).float()).abs()
                  for k in start if k.endswith("proj.weight")]
        moved[precision] = (float(sum(d.sum() for d in deltas) / sum(d.numel() for d in deltas)),
                            float(sum((d > 0).sum() for d in deltas) / sum(d.numel() for d in deltas)))
    print(f"mean |update| per weight and share of weights updated: {moved}")
    fp32, bf16 = moved["fp32"], moved["bf16"]
    assert 2e-5 < fp32[0] <= 4 * 2e-5 * 1.01  # Adam: up to ~lr per step, whatever the gradient's scale
    assert bf16[1] > 0.99  # every weight moved ...
    assert bf16[0] == pytest.approx(fp32[0], rel=0.1)  # ... by what fp32 moved it (bf16 compute, fp32 updates)

    exported = Path(store.local_dir(run.checkpoint_key))
    with safe_open(exported / "model.safetensors", "pt") as f:  # exported in bf16, as DeepSpeed exports
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.bfloat16}
    assert load_causal_lm(str(exported)).config.dtype == torch.bfloat16
