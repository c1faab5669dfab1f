"""Training FLOPs per token and model FLOPs utilisation (MFU), from a transformers config.

Convention (PaLM, Chowdhery et al. 2022, appendix B): a training token costs
``6 N + 12 L d T`` matmul FLOPs, where N counts the weights that take part in a matmul, L is
the number of layers, d = heads x head_dim (the width of the attention scores/values matmuls,
equal to hidden_size except in e.g. Gemma-7B), and T the sequence length. 6 = 2 (forward
multiply-add) + 4 (backward: activation and weight gradients). The causal mask is not
credited (no halving of the attention term), as in PaLM.

N here is every matmul weight of the decoder layers plus the LM head (``hidden x vocab``),
counted even when tied to the input embedding: the output projection is a real matmul (7% of
Llama-3-8B's compute, ~20% of Gemma-2B's). The input embedding is a lookup and is not
counted, nor are norms and biases (negligible). Recomputation under gradient checkpointing is
not counted either: that would be hardware FLOPs utilisation, not MFU.

LoRA: a frozen weight still needs its activation gradient so the error reaches the adapters
of earlier layers, but no weight gradient: 4 FLOPs per frozen weight per token instead of 6.
The adapters' own weights cost the full 6. (Only the LM head's activation gradient and the
layers below the first adapter could be skipped; we ignore that, a < 1% difference.)
"""

from __future__ import annotations

import os
import re

# Dense (no 2:4 sparsity) bf16 tensor-core peak per GPU, FLOP/s, with fp32 accumulation (what
# PyTorch bf16 matmuls use). First match wins, so specific names precede general ones.
_PEAK_BF16 = [
    (r"GH200", 989e12),
    (r"H200 NVL", 835e12),
    (r"H200", 989e12),
    (r"H100 NVL", 835e12),
    (r"H100.*PCIe|H800.*PCIe", 756e12),
    (r"H100|H800", 989e12),  # SXM (e.g. "NVIDIA H100 80GB HBM3")
    (r"B200", 2250e12),
    (r"A100|A800", 312e12),
    (r"L40S", 362e12),
    (r"L40\b", 181e12),
    (r"\bL4\b", 121e12),
    (r"A10G", 70e12),  # AWS's A10 variant; NVIDIA publishes no datasheet, 70 TFLOPS is the figure in use
    (r"\bA10\b", 125e12),
    (r"A6000|A40\b", 155e12),
    (r"RTX 6000 Ada", 364e12),
    (r"RTX 4090", 165e12),  # GeForce: fp32-accumulate tensor rate is half the fp16-accumulate one
    (r"RTX 3090", 71e12),
    (r"MI300X", 1307e12),
    (r"MI250X?", 383e12),
]
PEAK_FLOPS_ENV = "CODEMIX_PEAK_FLOPS"  # override (FLOP/s per GPU) for GPUs not in the table


def _cfg(config, *names, default=None):
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return value
    return default


def param_counts(config) -> dict[str, int]:
    """Parameter counts of a decoder config: embedding, lm_head (0 when tied), non_embedding, total.

    ``non_embedding`` is the decoder layers (attention, MLP, norms) plus the final norm.
    Biases are included when the config has them (Qwen2's q/k/v always do).
    """
    hidden = config.hidden_size
    heads = config.num_attention_heads
    kv_heads = _cfg(config, "num_key_value_heads", default=heads)
    head_dim = _cfg(config, "head_dim", default=hidden // heads)
    q, kv = heads * head_dim, kv_heads * head_dim
    attention = hidden * q + 2 * hidden * kv + q * hidden
    if config.model_type == "qwen2":  # q, k and v biases
        attention += q + 2 * kv
    elif getattr(config, "attention_bias", False):  # Llama-style: every projection
        attention += q + 2 * kv + hidden
    mlp = 3 * hidden * config.intermediate_size  # gated MLP: gate, up, down
    if getattr(config, "mlp_bias", False):
        mlp += 2 * config.intermediate_size + hidden
    layer = attention + mlp + 2 * hidden  # two RMSNorms
    non_embedding = config.num_hidden_layers * layer + hidden
    embedding = config.vocab_size * hidden
    lm_head = 0 if getattr(config, "tie_word_embeddings", False) else embedding
    return {"embedding": embedding, "lm_head": lm_head, "non_embedding": non_embedding,
            "total": embedding + lm_head + non_embedding}


def _matmul_params(config) -> int:
    hidden = config.hidden_size
    heads = config.num_attention_heads
    kv_heads = _cfg(config, "num_key_value_heads", default=heads)
    head_dim = _cfg(config, "head_dim", default=hidden // heads)
    per_layer = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim + 3 * hidden * config.intermediate_size
    return config.num_hidden_layers * per_layer + hidden * config.vocab_size  # + the LM head matmul


def flops_per_token(config, seq_len: int | None = None, lora_params: int | None = None) -> float:
    """Training FLOPs per token: ``6 N + 12 L d T`` (see the module docstring for N and d).

    ``seq_len`` (T) defaults to ``config.max_position_embeddings``; pass the trained length.
    ``lora_params``: the adapters' trainable parameter count when training LoRA; the base
    weights then count 4 FLOPs each instead of 6.
    """
    seq_len = seq_len or config.max_position_embeddings
    heads = config.num_attention_heads
    width = heads * _cfg(config, "head_dim", default=config.hidden_size // heads)
    attention = 12 * config.num_hidden_layers * width * seq_len
    base = _matmul_params(config)
    if lora_params is None:
        return 6.0 * base + attention
    return 4.0 * base + 6.0 * lora_params + attention


def peak_flops(device=None) -> float | None:
    """Dense bf16 peak FLOP/s of one GPU, from its name; None on CPU or an unknown GPU.

    ``device``: a torch device / index / ``"cuda:0"``, or a device name such as
    ``"NVIDIA H100 80GB HBM3"``. ``$CODEMIX_PEAK_FLOPS`` overrides the table for any GPU.
    """
    import torch

    name = device if isinstance(device, str) and not re.match(r"^(cuda|cpu|mps)(:\d+)?$", device) else None
    if name is None:
        dev = torch.device(device) if device is not None else torch.device("cuda")
        if dev.type != "cuda" or not torch.cuda.is_available():
            return None
        name = torch.cuda.get_device_name(dev)
    if os.environ.get(PEAK_FLOPS_ENV):
        return float(os.environ[PEAK_FLOPS_ENV])
    for pattern, peak in _PEAK_BF16:
        if re.search(pattern, name, re.IGNORECASE):
            return peak
    return None


def mfu(tokens_per_s: float, flops_per_token: float, n_gpus: int, peak: float | None) -> float | None:
    """Model FLOPs utilisation: achieved model FLOP/s over the peak of ``n_gpus`` GPUs (None without a peak).

    ``tokens_per_s`` is the throughput of all GPUs together.
    """
    if not peak or n_gpus < 1:
        return None
    return tokens_per_s * flops_per_token / (n_gpus * peak)
