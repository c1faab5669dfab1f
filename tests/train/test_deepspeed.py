"""DeepSpeed ZeRO: configs, stage resolution, and codemix's own DeepSpeed engine run by Ray Train on CPU.

Two gloo workers (0.5 CPU each) train the tiny Llama twin under ZeRO-2 and ZeRO-3; a worker
dies after the first checkpoint, Ray Train restarts the group from the sharded checkpoint, and
the exported HF weights are compared with the weights DeepSpeed held. deepspeed is in the
``test`` extra (installed with DS_BUILD_OPS=0: no compiled ops), so none of this is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import store_with_mix

from codemix.models import get_family
from codemix.models.loading import load_causal_lm, resolve_model_source
from codemix.runtime import TrainFaults
from codemix.spec import ModelConfig, ResourcesConfig, TrainConfig
from codemix.train import TrainRun, fine_tune
from codemix.train import deepspeed as ds
from codemix.train.step_engine import DS_TAG


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
@pytest.mark.parametrize("world,micro,accum,bf16", [(1, 8, 1, False), (4, 2, 8, True)])
def test_zero_config_invariants(stage, world, micro, accum, bf16):
    cfg = ds.zero_config(TrainConfig(), stage, world, micro, accum, bf16)
    assert cfg["train_batch_size"] == micro * accum * world
    assert (cfg["train_micro_batch_size_per_gpu"], cfg["gradient_accumulation_steps"]) == (micro, accum)
    assert cfg["bf16"]["enabled"] is bf16 and cfg["fp16"]["enabled"] is False
    assert cfg["gradient_clipping"] == 1.0
    assert "optimizer" not in cfg and "scheduler" not in cfg  # the loop passes its own AdamW / LambdaLR
    zero = cfg["zero_optimization"]
    assert zero["stage"] == stage
    stage3_keys = {k for k in zero if k.startswith("stage3_") or k == "offload_param"}
    assert bool(stage3_keys) is (stage == 3)
    if stage == 3:
        assert zero["stage3_gather_16bit_weights_on_model_save"] is True
        assert zero["offload_param"]["device"] == "none"
    if stage >= 1:
        assert zero["overlap_comm"] and zero["contiguous_gradients"]
        assert isinstance(zero["reduce_bucket_size"], int) and zero["offload_optimizer"]["device"] == "none"
    assert "auto" not in repr(cfg)


def test_zero_config_rejects_bad_values():
    with pytest.raises(ValueError, match="stage"):
        ds.zero_config(TrainConfig(), 4, 1, 1, 1, False)
    qlora = TrainConfig(method="lora", lora={"quantize_4bit": True})
    with pytest.raises(ValueError, match="stage 3"):
        ds.zero_config(qlora, 3, 1, 1, 1, True)
    assert ds.zero_config(qlora, 2, 1, 1, 1, True)["zero_optimization"]["stage"] == 2


def test_resolve_stage(monkeypatch):
    import torch

    llama = get_family("llama")
    assert ds.deepspeed_available()  # the test extra installs it
    assert ds.resolve_stage(TrainConfig(deepspeed_stage=2), llama) == 2  # set: on any device, CPU included
    assert ds.resolve_stage(TrainConfig(deepspeed_stage=0), llama) == 0  # 0 is set, not "unset"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert ds.resolve_stage(TrainConfig(), llama) is None  # unset on CPU: plain DDP
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert ds.resolve_stage(TrainConfig(), llama) == llama.deepspeed_stage  # unset on GPU: the family's stage
    monkeypatch.setattr(ds, "deepspeed_available", lambda: False)
    assert ds.resolve_stage(TrainConfig(), llama) is None
    with pytest.raises(RuntimeError, match="deepspeed_stage is 2 but deepspeed is not installed"):
        ds.resolve_stage(TrainConfig(deepspeed_stage=2), llama)


# ----------------------------------------------------------------------------- the engine on Ray Train

RECIPE = dict(lr=3e-3, micro_batch_size=4, max_length=160, max_steps=4, checkpoint_every=2, max_failures=1)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return store_with_mix(tmp_path_factory.mktemp("store"), 32)


def two_worker_run(store, name: str, **train) -> TrainRun:
    return TrainRun(store=store, mix_key="_cache/mixes/m1", mix_hash="m1", family="llama",
                    model_source=resolve_model_source("llama", ModelConfig()), model_cfg=ModelConfig(),
                    train_cfg=TrainConfig(**RECIPE, **train),
                    resources=ResourcesConfig(num_workers=2, cpus_per_worker=0.5), seed=0, train_hash=name)


@pytest.fixture(scope="module")
def ddp(ray_cluster, store):
    """The same recipe under plain DDP, uninterrupted: (losses, published model) every ZeRO run must reproduce."""
    key, metrics = fine_tune(two_worker_run(store, "ddp"))
    assert len(metrics["losses"]) == 4 and metrics["resumed_from"] == 0
    return metrics["losses"], load_causal_lm(str(store.local_dir(key))).eval()


@pytest.mark.slow(seconds=220)
@pytest.mark.timeout(600)
@pytest.mark.parametrize("stage", [2, 3])
def test_zero_on_cpu_resumes_from_its_sharded_checkpoint_and_exports_the_weights_it_held(
        ray_cluster, store, ddp, stage):
    import torch
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    from transformers import AutoModelForCausalLM

    run = two_worker_run(store, f"zero{stage}", deepspeed_stage=stage)
    key, metrics = fine_tune(run, faults=TrainFaults(fail_at_step=2))  # rank 0 dies after step 2's checkpoint

    assert metrics["resumed_from"] == 2 and metrics["step"] == 4  # the restarted group continued at step 2
    checkpoints = sorted(p for p in Path(store.path(run.run_key)).glob("checkpoint_*") if p.is_dir())
    resumed_from, final = checkpoints[-2], checkpoints[-1]
    for checkpoint in checkpoints:  # ZeRO's own sharded layout, one optimizer shard per rank
        assert sorted(p.name for p in (checkpoint / DS_TAG).glob("*optim_states.pt")) == [
            "zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"]
    assert not (resumed_from / "model").exists() and (final / "model").exists()
    # Same batches, optimizer and schedule as DDP: a resume that lost the optimizer moments, the
    # schedule or the data position would change the losses of steps 3 and 4.
    ddp_losses, ddp_model = ddp
    assert metrics["losses"] == pytest.approx(ddp_losses, rel=1e-5)

    exported = load_causal_lm(str(store.local_dir(key))).eval()  # from_pretrained on the published folder
    held = AutoModelForCausalLM.from_config(exported.config)
    held.load_state_dict(get_fp32_state_dict_from_zero_checkpoint(str(final), tag=DS_TAG))  # ZeRO's shards
    start = load_causal_lm(run.model_source).eval()
    ids = torch.tensor([[1, 5, 9, 42, 7, 11, 3, 99]])
    with torch.no_grad():
        got, want = exported(input_ids=ids).logits, held.eval()(input_ids=ids).logits
        before, plain = start(input_ids=ids).logits, ddp_model(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-5)
    assert (got - before).abs().max() > 1e-2  # the export is the trained model, not the starting one
    assert torch.allclose(got, plain, atol=1e-4)  # ... and the one DDP trained, last update included


# The LoRA sweeps' recipe on GPU: ZeRO-3 (every paper family's stage), frozen base weights, gradient checkpointing
# (non-reentrant, transformers' default). DeepSpeed before 0.19.3 freed a frozen weight during the checkpoint's
# recompute ("CheckpointError: Recomputed values ... shape [0]"); the gpu extra's floor excludes those versions.
# ~50 s: two 2-worker runs of 4 steps on 2 cores.
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_lora_with_gradient_checkpointing_under_zero3_trains_what_ddp_trains(ray_cluster, store):
    import torch
    from peft import PeftModel

    lora = dict(method="lora", gradient_checkpointing=True)
    _, plain = fine_tune(two_worker_run(store, "ddp-lora-gc", **lora))
    key, zero3 = fine_tune(two_worker_run(store, "zero3-lora-gc", deepspeed_stage=3, **lora))
    assert zero3["step"] == 4 and zero3["losses"] == pytest.approx(plain["losses"], rel=1e-5)
    adapter = Path(store.local_dir(key))
    assert (adapter / "adapter_model.safetensors").exists()  # the adapter only: ZeRO-3 gathered what LoRA trained
    start = load_causal_lm(two_worker_run(store, "x").model_source).eval()
    tuned = PeftModel.from_pretrained(load_causal_lm(two_worker_run(store, "x").model_source), adapter).eval()
    ids = torch.tensor([[1, 5, 9, 42, 7, 11, 3, 99]])
    with torch.no_grad():
        assert (tuned(input_ids=ids).logits - start(input_ids=ids).logits).abs().max() > 1e-4  # it learned
