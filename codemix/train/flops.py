"""Training FLOPs per token and model FLOPs utilisation (MFU), from a transformers config.

Convention (PaLM, Chowdhery et al. 2022, appendix B): a training token costs
``6 N + 12 L d T`` matmul FLOPs, where N counts the weights that take part in a matmul, L is
the number of layers, d = heads x head_dim (the width of the attention scores/values matmuls,
equal to hidden_size except in e.g. Gemma-7B), and T the sequence length. 6 = 2 (forward
multiply-add) + 4 (backward: activation and weight gradients). The causal mask is not
credited (no halving of the attention term), as in PaLM.

N here is the weight of every ``nn.Linear`` of the model, counted on a meta-device instance
built from the config (no memory, no per-architecture formula): the attention and MLP projections of
every layer plus the LM head (``hidden x vocab``),
counted even when tied to the input embedding, as the output projection is a real matmul (7% of
Llama-3-8B's compute, ~20% of Gemma-2B's). The input embedding is a lookup and is not
counted, nor are norms and biases (negligible). A mixture-of-experts model would count every
expert, not the ones a token is routed to: its figure is an upper bound. Recomputation under gradient checkpointing is
not counted either: that would be hardware FLOPs utilisation, not MFU.

LoRA: a frozen weight still needs its activation gradient so the error reaches the adapters
of earlier layers, but no weight gradient: 4 FLOPs per frozen weight per token instead of 6.
The adapters' own weights cost the full 6. (Only the LM head's activation gradient and the
layers below the first adapter could be skipped; we ignore that, a < 1% difference.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from transformers import AutoModelForCausalLM

from codemix.runtime import gpu_for_device


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts of a causal LM, from a meta-device instance of its config."""

    total: int  # every parameter once (a tied LM head is the embedding)
    embedding: int  # the input embedding
    lm_head: int  # the output projection's own weights: 0 when tied to the embedding
    matmul: int  # weights of every nn.Linear, the LM head included even when tied

    @property
    def non_embedding(self) -> int:
        """Decoder layers (attention, MLP, norms) and the final norm: total minus both embeddings."""
        return self.total - self.embedding - self.lm_head


def param_counts(config, trust_remote_code: bool = False) -> ParamCounts:
    """Count the parameters of the model ``config`` describes, without allocating its weights."""
    key = (config.to_json_string(use_diff=False), trust_remote_code)
    if key not in _COUNTED:
        _COUNTED[key] = _count_on_meta_device(config, trust_remote_code)
    return _COUNTED[key]


_COUNTED: dict[tuple[str, bool], ParamCounts] = {}


def _count_on_meta_device(config, trust_remote_code: bool) -> ParamCounts:
    # torch's meta device rather than accelerate.init_empty_weights: the latter re-registers every
    # parameter, which unties a tied LM head (Gemma-7B would count 9.32B parameters, not 8.54B).
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    embedding = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    lm_head = 0 if head is None or head.weight is embedding else head.weight.numel()
    matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return ParamCounts(total=sum(p.numel() for p in model.parameters()), embedding=embedding.numel(),
                       lm_head=lm_head, matmul=matmul)


def flops_per_token(config, seq_len: int | None = None, lora_params: int | None = None,
                    trust_remote_code: bool = False) -> float:
    """Training FLOPs per token: ``6 N + 12 L d T`` (see the module docstring for N and d).

    ``seq_len`` (T) defaults to ``config.max_position_embeddings``; pass the trained length.
    ``lora_params``: the adapters' trainable parameter count when training LoRA; the base
    weights then count 4 FLOPs each instead of 6.
    """
    seq_len = seq_len or config.max_position_embeddings
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    attention = 12 * config.num_hidden_layers * heads * head_dim * seq_len
    base = param_counts(config, trust_remote_code).matmul
    if lora_params is None:
        return 6.0 * base + attention
    return 4.0 * base + 6.0 * lora_params + attention


def peak_flops(device=None, override: float | None = None) -> float | None:
    """Dense bf16 peak FLOP/s of one accelerator (``codemix.runtime.gpus``); None on CPU or an unknown GPU.

    ``device``: a torch device / index / ``"cuda:0"``, or a device name such as
    ``"NVIDIA H100 80GB HBM3"``. ``override`` (``resources.peak_flops``) replaces the table for any
    device, a CPU included (then MFU is reported on CPU too).
    """
    if override:
        return float(override)
    name = device if isinstance(device, str) and not re.match(r"^(cuda|cpu|mps)(:\d+)?$", device) else None
    if name is None:
        dev = torch.device(device) if device is not None else torch.device("cuda")
        if dev.type != "cuda" or not torch.cuda.is_available():
            return None
        name = torch.cuda.get_device_name(dev)
    gpu = gpu_for_device(name)
    return gpu.bf16_flops if gpu else None


def mfu(tokens_per_s: float, flops_per_token: float, n_gpus: int, peak: float | None) -> float | None:
    """Model FLOPs utilisation: achieved model FLOP/s over the peak of ``n_gpus`` GPUs (None without a peak).

    ``tokens_per_s`` is the throughput of all GPUs together.
    """
    if not peak or n_gpus < 1:
        return None
    return tokens_per_s * flops_per_token / (n_gpus * peak)
