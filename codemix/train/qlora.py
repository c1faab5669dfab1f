"""QLoRA: the base loaded in 4-bit NF4 by bitsandbytes, LoRA adapters trained in bf16 over it (Dettmers et al. 2023).

What it needs is checked when a spec is loaded (``why_not``, from ``codemix.config``), so that a sweep that
cannot run it stops before any compute rather than in every training worker after the 4-bit load:

- bitsandbytes, installed with the ``gpu`` extra;
- a CUDA GPU per training worker: each worker loads the quantized base onto its own device (the one Ray Train
  set for its local rank), not onto GPU 0;
- ZeRO stage 2 at most: ZeRO-3 partitions parameters, which bitsandbytes' packed 4-bit weights are not. A
  family's default stage 3 is capped at 2 (``deepspeed.resolve_stage``); a stated 3 is refused.
"""

from __future__ import annotations

import importlib.util

MAX_ZERO_STAGE = 2
EXTRA = "pip install 'codemix[gpu]' (bitsandbytes)"


def why_not(train, resources) -> list[str]:
    """Why a run of ``train`` (TrainConfig) on ``resources`` (ResourcesConfig) could not train QLoRA; [] if it can."""
    reasons = []
    if train.method != "lora":
        reasons.append(f"it trains LoRA adapters over the quantized base: set train.method: lora (is {train.method!r})")
    if resources.gpus_per_worker <= 0:
        reasons.append("bitsandbytes' 4-bit base runs on a CUDA GPU, one per training worker: set "
                       "resources.gpus_per_worker: 1")
    if train.deepspeed_stage is not None and train.deepspeed_stage > MAX_ZERO_STAGE:
        reasons.append(f"ZeRO stage {train.deepspeed_stage} partitions parameters, which packed 4-bit weights are "
                       f"not: set train.deepspeed_stage to {MAX_ZERO_STAGE} or less, or leave it unset (a family's "
                       f"ZeRO-3 becomes ZeRO-{MAX_ZERO_STAGE})")
    if importlib.util.find_spec("bitsandbytes") is None:
        reasons.append(f"bitsandbytes is not installed: {EXTRA}")
    return reasons


def quantization_config():
    """The 4-bit load: NF4 with double quantization, bf16 compute (the QLoRA paper's recipe)."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                              bnb_4bit_use_double_quant=True)


def device_map(device) -> dict[str, int]:
    """``from_pretrained``'s device_map that puts the whole quantized base on this worker's GPU: the device Ray
    Train gave its local rank (all a node's workers see all its GPUs), never GPU 0 for every worker."""
    import torch

    index = getattr(device, "index", None)
    return {"": torch.cuda.current_device() if index is None else index}
