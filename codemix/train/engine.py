"""The mechanics of a training step, checkpoint and export: plain PyTorch (DDP) or DeepSpeed ZeRO.

The loop in ``loop.py`` is the same for both; only these few operations differ. DeepSpeed is
used when a ZeRO stage resolves (``deepspeed.resolve_stage``: on GPU with the ``gpu`` extra, or
wherever ``train.deepspeed_stage`` is set); otherwise Ray Train's ``prepare_model`` gives DDP.
"""

from __future__ import annotations

from pathlib import Path

STATE_FILE = "trainer_state.pt"
DS_TAG = "zero"


def _unwrapped(model):
    return model.module if hasattr(model, "module") else model


class TorchEngine:
    """DDP (or a single process): autocast, gradient accumulation, clipping, rank-0 checkpoints.

    A bf16 run computes under bf16 autocast, on CPU too; a full fine-tune's weights, and so the optimizer's
    updates, stay fp32 (``loop.weights_dtype``) and are exported in bf16, as DeepSpeed exports them."""

    sharded = False  # every rank holds the full state: rank 0 alone writes checkpoints

    def __init__(self, model, optimizer, scheduler, accum: int, use_bf16: bool, device, distributed: bool = True):
        if distributed:  # in a Ray Train worker: device placement, and DDP when world > 1
            from ray.train.torch import prepare_model

            self.model = prepare_model(model)
        else:
            self.model = model.to(device)
        self.optimizer, self.scheduler, self.accum = optimizer, scheduler, accum
        self.autocast = use_bf16
        self.device = device

    def forward_loss(self, batch) -> float:
        """The mean loss of a batch, without gradients (call under torch.no_grad)."""
        import torch

        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return self.model(**batch, use_cache=False).loss.item()

    def micro_step(self, batch) -> float:
        """Forward and backward one micro-batch; returns its share of the step's loss."""
        import torch

        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss = self.model(**batch, use_cache=False).loss / self.accum
        loss.backward()
        return loss.item()

    def step(self) -> None:
        """Clip, update, advance the schedule, clear gradients."""
        import torch

        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def save(self, directory: Path, rank: int, client_state: dict) -> None:
        """Weights (the adapter only for LoRA), optimizer and schedule, plus the loop's own state."""
        import torch

        if rank == 0:
            torch.save({"model": _trainable_state(self.model), "optimizer": self.optimizer.state_dict(),
                        "scheduler": self.scheduler.state_dict(), **client_state}, directory / STATE_FILE)

    def load(self, directory: Path) -> dict:
        """Restore what ``save`` wrote; returns the loop's state (step, losses)."""
        import torch

        state = torch.load(directory / STATE_FILE, weights_only=False, map_location="cpu")
        _load_trainable_state(self.model, state.pop("model"))
        self.optimizer.load_state_dict(state.pop("optimizer"))
        self.scheduler.load_state_dict(state.pop("scheduler"))
        return state

    def export(self, directory: Path, rank: int) -> None:
        """The HF-loadable weights (an adapter folder for LoRA), written by rank 0; fp32 master weights of a bf16
        run in bf16."""
        if rank != 0:
            return
        import torch

        model = _unwrapped(self.model)
        if not (self.autocast and model.dtype == torch.float32 and not hasattr(model, "peft_config")):
            model.save_pretrained(directory, safe_serialization=True)
            return
        state = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
        model.config.dtype = torch.bfloat16  # what config.json says the weights are
        try:
            model.save_pretrained(directory, state_dict=state, safe_serialization=True)
        finally:
            model.config.dtype = torch.float32


class DeepSpeedEngine:
    """DeepSpeed ZeRO: the engine accumulates, clips, steps and schedules; every rank saves its shards."""

    sharded = True

    def __init__(self, model, optimizer, scheduler, ds_config: dict, device):
        import deepspeed

        if device.type == "cpu":
            # DeepSpeed's CPU backend would JIT-compile (C++ compiler, ~1 min) a shared-memory op used
            # only by inference all-reduces; declaring it unavailable keeps training on plain gloo.
            deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
        # reuses the process group Ray Train set up (nccl on GPU, gloo on CPU)
        deepspeed.init_distributed(dist_backend="nccl" if device.type == "cuda" else "gloo")
        self.model, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=model, optimizer=optimizer, lr_scheduler=scheduler, config=ds_config)
        self.stage = ds_config["zero_optimization"]["stage"]
        self.accum = ds_config["gradient_accumulation_steps"]

    def forward_loss(self, batch) -> float:
        """The mean loss of a batch, without gradients (every rank must call it: ZeRO-3 gathers weights)."""
        batch = {k: v.to(self.model.device) for k, v in batch.items()}
        return self.model(**batch, use_cache=False).loss.item()

    def micro_step(self, batch) -> float:
        """Forward, backward and the engine's step (it only updates at accumulation boundaries)."""
        batch = {k: v.to(self.model.device) for k, v in batch.items()}
        loss = self.model(**batch, use_cache=False).loss
        self.model.backward(loss)
        self.model.step()
        return loss.item() / self.accum

    def step(self) -> None:
        """Nothing: ``micro_step`` already stepped at the accumulation boundary."""

    def save(self, directory: Path, rank: int, client_state: dict) -> None:
        self.model.save_checkpoint(str(directory), tag=DS_TAG, client_state=client_state)

    def load(self, directory: Path) -> dict:
        _, client_state = self.model.load_checkpoint(str(directory), tag=DS_TAG)
        return client_state or {}

    def export(self, directory: Path, rank: int) -> None:
        """Gather ZeRO-3 shards into one 16-bit state dict (all ranks take part), save on rank 0."""
        state = self.model._zero3_consolidated_16bit_state_dict() if self.stage == 3 else None
        if rank == 0:
            self.model.module.save_pretrained(directory, state_dict=state, safe_serialization=True)


def create_engine(model, optimizer, scheduler, cfg, family, world: int, accum: int, use_bf16: bool, device,
                  distributed: bool = True):
    """DeepSpeed when a ZeRO stage resolves for this run (``deepspeed.resolve_stage``), else DDP.

    ``distributed`` False: the loop runs in the calling process (no Ray Train worker group, no DDP)."""
    from codemix.train.deepspeed import resolve_stage, zero_config

    stage = resolve_stage(cfg, family)
    if stage is None:
        return TorchEngine(model, optimizer, scheduler, accum, use_bf16, device, distributed)
    return DeepSpeedEngine(model, optimizer, scheduler,
                           zero_config(cfg, stage, world, cfg.micro_batch_size, accum, use_bf16), device)


def _trainable_state(model) -> dict:
    """Weights to checkpoint: the adapter only for LoRA (the base is frozen), else everything."""
    inner = _unwrapped(model)
    if hasattr(inner, "peft_config"):
        from peft import get_peft_model_state_dict

        return get_peft_model_state_dict(inner)
    return inner.state_dict()


def _load_trainable_state(model, state_dict) -> None:
    inner = _unwrapped(model)
    if hasattr(inner, "peft_config"):
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(inner, state_dict)
    else:
        inner.load_state_dict(state_dict)
