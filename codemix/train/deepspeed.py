"""DeepSpeed ZeRO configuration for the training loop.

DeepSpeed runs on GPU workers by default (the family's ZeRO stage) and anywhere, CPU workers
included, when ``train.deepspeed_stage`` is set. On CPU, DeepSpeed's CPU accelerator uses gloo
(oneCCL when ``oneccl_bindings_for_pytorch`` is installed) and ZeRO stages 0-3 all train,
checkpoint, resume and export (tests/train/test_deepspeed.py runs 2 and 3 under Ray Train).

The config deliberately has no ``optimizer`` or ``scheduler`` section: the loop builds a client
``torch.optim.AdamW`` and a ``LambdaLR`` and passes them to ``deepspeed.initialize``. That keeps
one optimizer/schedule definition for the DDP and DeepSpeed paths, keeps checkpoints comparable,
and avoids DeepSpeed's fused optimizers, which need compiled ops (``DS_BUILD_OPS``).
ZeRO-3 shards the client optimizer's state just as it would its own.

Batch sizes are concrete numbers (no ``"auto"``): ``"auto"`` is resolved only by the HF
Trainer integration, and plain ``deepspeed.initialize`` rejects it.
"""

from __future__ import annotations

import importlib.util

from codemix.config import TrainConfig

# Bucket sizes in elements. DeepSpeed's defaults (5e8) are sized for 7B+ models; these are the
# values the FastChat / HF ZeRO recipes use for 7B models on 80 GB GPUs.
_BUCKET = 200_000_000
_STAGE3_PREFETCH = 50_000_000
_STAGE3_PARAM_PERSISTENCE = 100_000


def deepspeed_available() -> bool:
    """True when the ``deepspeed`` package can be imported (checked without importing it)."""
    return importlib.util.find_spec("deepspeed") is not None


def zero_config(train: TrainConfig, stage: int, world_size: int, micro_batch: int, grad_accum: int,
                bf16: bool) -> dict:
    """A ``deepspeed.initialize`` config dict for ZeRO ``stage`` (0-3), client optimizer/scheduler.

    ``train_batch_size`` is ``micro_batch * grad_accum * world_size``, as DeepSpeed checks.
    Gradient clipping is 1.0, like the DDP path. Nothing is offloaded to CPU. Raises ValueError
    for an impossible combination (QLoRA under ZeRO-3).
    """
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"ZeRO stage must be 0..3, got {stage}")
    if min(world_size, micro_batch, grad_accum) < 1:
        raise ValueError("world_size, micro_batch and grad_accum must be >= 1")
    if stage == 3 and train.method == "lora" and train.lora.quantize_4bit:
        # ZeRO-3 partitions parameters, which bitsandbytes' packed 4-bit weights (as build_model loads them) are not
        raise ValueError("QLoRA (train.lora.quantize_4bit) cannot use ZeRO stage 3; set train.deepspeed_stage <= 2")
    zero: dict = {"stage": stage}
    if stage >= 1:
        zero.update(overlap_comm=True, contiguous_gradients=True, reduce_bucket_size=_BUCKET,
                    allgather_bucket_size=_BUCKET, reduce_scatter=True)
    if stage == 3:
        zero.pop("allgather_bucket_size")  # a stage 1/2 knob; stage 3 uses the prefetch bucket instead
        zero.update(stage3_prefetch_bucket_size=_STAGE3_PREFETCH,
                    stage3_param_persistence_threshold=_STAGE3_PARAM_PERSISTENCE,
                    stage3_max_live_parameters=1_000_000_000, stage3_max_reuse_distance=1_000_000_000,
                    # save_pretrained on rank 0 needs the full 16-bit weights gathered, not shards
                    stage3_gather_16bit_weights_on_model_save=True,
                    offload_param={"device": "none"})
    if stage >= 1:
        zero["offload_optimizer"] = {"device": "none"}
    return {
        "train_micro_batch_size_per_gpu": micro_batch,
        "gradient_accumulation_steps": grad_accum,
        "train_batch_size": micro_batch * grad_accum * world_size,
        "gradient_clipping": 1.0,
        "bf16": {"enabled": bool(bf16)},
        "fp16": {"enabled": False},
        "zero_optimization": zero,
        # a client optimizer is not one of DeepSpeed's own: allow it under ZeRO without a warning-as-error
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 10**9,  # the loop reports its own metrics
        "wall_clock_breakdown": False,
    }


def resolve_stage(train: TrainConfig, family) -> int | None:
    """The ZeRO stage to train with, or None for plain DDP.

    ``train.deepspeed_stage`` when set, on any device (a clear error when deepspeed is not
    installed: the setting is not silently dropped). Otherwise the family's ``deepspeed_stage``
    on CUDA GPUs when deepspeed is installed (the ``gpu`` extra), at most 2 for QLoRA, else None.
    """
    if train.deepspeed_stage is not None:
        if not deepspeed_available():
            raise RuntimeError(f"train.deepspeed_stage is {train.deepspeed_stage} but deepspeed is not installed: "
                               "install codemix[gpu] (DS_BUILD_OPS=0 on CPU) or unset train.deepspeed_stage")
        return train.deepspeed_stage
    import torch

    if not deepspeed_available() or not torch.cuda.is_available():
        return None
    if train.method == "lora" and train.lora.quantize_4bit:  # packed 4-bit weights cannot be partitioned (ZeRO-3)
        from codemix.train.qlora import MAX_ZERO_STAGE

        return min(family.deepspeed_stage, MAX_ZERO_STAGE)
    return family.deepspeed_stage
