"""QLoRA: the base loaded in 4-bit NF4 by bitsandbytes, LoRA adapters trained in bf16 over it (Dettmers et al. 2023).

What it needs is checked when a spec is loaded (``codemix.config.qlora_problems``), so that a sweep that
cannot run it stops before any compute rather than in every training worker after the 4-bit load:

- bitsandbytes, installed with the ``gpu`` extra;
- a CUDA GPU per training worker: each worker loads the quantized base onto its own device (the one Ray Train
  set for its local rank), not onto GPU 0;
- ZeRO stage 2 at most: ZeRO-3 partitions parameters, which bitsandbytes' packed 4-bit weights are not. A
  family's default stage 3 is capped at 2 (``deepspeed.resolve_stage``); a stated 3 is refused.
"""

from __future__ import annotations

from codemix.config import QLORA_MAX_ZERO_STAGE as MAX_ZERO_STAGE  # noqa: F401 - deepspeed.resolve_stage caps at it
from codemix.config import qlora_problems as why_not  # noqa: F401 - what a spec that asks for QLoRA is checked for


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
