"""DeepSpeed ZeRO configs, stage resolution, and (when deepspeed is installed) one real engine on CPU."""

from __future__ import annotations

import socket

import pytest

from codemix.config import ModelConfig, TrainConfig
from codemix.models import get_family
from codemix.train import deepspeed as ds


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
    if not torch.cuda.is_available():
        assert ds.resolve_stage(TrainConfig(deepspeed_stage=2), llama) is None  # CPU: plain DDP
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(ds, "deepspeed_available", lambda: True)
    assert ds.resolve_stage(TrainConfig(), llama) == llama.deepspeed_stage
    assert ds.resolve_stage(TrainConfig(deepspeed_stage=0), llama) == 0  # 0 is set, not "unset"
    monkeypatch.setattr(ds, "deepspeed_available", lambda: False)
    assert ds.resolve_stage(TrainConfig(deepspeed_stage=2), llama) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def deepspeed_single_process():
    """A one-process gloo group set up by ``deepspeed.init_distributed`` (once: DeepSpeed caches groups)."""
    import importlib

    import torch

    deepspeed = pytest.importorskip("deepspeed", reason="deepspeed is not installed (the 'gpu' extra)")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "RANK": "0", "WORLD_SIZE": "1",
                     "LOCAL_RANK": "0"}.items():
            mp.setenv(k, v)
        # The CPU backend JIT-compiles a shared-memory allreduce op (about a minute, needs a C++
        # compiler) that one process never uses. deepspeed.comm re-exports the name ``torch``,
        # so the submodule is fetched by its full name.
        mp.setattr(importlib.import_module("deepspeed.comm.torch"), "build_shm_op", lambda: None)
        deepspeed.init_distributed(dist_backend="gloo")
        yield deepspeed
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_deepspeed_engine_trains_tiny_model_on_cpu(deepspeed_single_process, stage):
    import torch

    from codemix.models.loading import load_causal_lm, resolve_model_source

    torch.manual_seed(0)
    model = load_causal_lm(resolve_model_source("llama", ModelConfig()))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    cfg = ds.zero_config(TrainConfig(), stage, world_size=1, micro_batch=2, grad_accum=2, bf16=False)
    engine, _, _, _ = deepspeed_single_process.initialize(model=model, optimizer=optimizer, lr_scheduler=scheduler,
                                                          config=cfg)
    ids = torch.randint(3, 200, (2, 16))
    losses = []
    for _ in range(2 * cfg["gradient_accumulation_steps"]):  # two optimizer steps
        loss = engine(input_ids=ids, labels=ids, use_cache=False).loss
        engine.backward(loss)
        engine.step()
        losses.append(loss.item())
    assert engine.global_steps == 2 and scheduler.last_epoch == 2  # the client scheduler steps with the optimizer
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]  # the same batch throughout: one step at lr 1e-2 lowers its loss
    after = dict(engine.module.named_parameters())
    # ZeRO-3 leaves each parameter as an empty shard outside a forward: gather them to compare
    with deepspeed_single_process.zero.GatheredParameters(list(after.values()), enabled=stage == 3):
        assert all(after[n].shape == before[n].shape and not torch.equal(before[n], after[n].detach()) for n in before)
