"""QLoRA: the base loaded in 4-bit NF4 by bitsandbytes, LoRA adapters trained in bf16 over it (Dettmers et al. 2023).

What it needs is checked when a spec is loaded (``codemix.spec.qlora_problems``), so that a sweep that
cannot run it stops before any compute rather than in every training worker after the 4-bit load:

- bitsandbytes, installed with the ``gpu`` extra;
- a CUDA GPU per training worker: each worker loads the quantized base onto its own device (the one Ray Train
  set for its local rank), not onto GPU 0;
- ZeRO stage 2 at most: ZeRO-3 partitions parameters, which bitsandbytes' packed 4-bit weights are not. A
  family's default stage 3 is capped at 2 (``deepspeed.resolve_stage``); a stated 3 is refused.
"""

from __future__ import annotations

import torch
from transformers import BitsAndBytesConfig


def quantization_config():
    """The 4-bit load: NF4 with double quantization, bf16 compute (the QLoRA paper's recipe)."""
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                              bnb_4bit_use_double_quant=True)


def device_map(device) -> dict[str, int]:
    """``from_pretrained``'s device_map that puts the whole quantized base on this worker's GPU: the device Ray
    Train gave its local rank (all a node's workers see all its GPUs), never GPU 0 for every worker."""
    index = getattr(device, "index", None)
    return {"": torch.cuda.current_device() if index is None else index}
