"""The ``hf`` backend: transformers generation, batched, with LoRA adapters applied per request.

``HFEngine`` holds one base model; a request naming a LoRA adapter folder gets it attached for
that request and removed afterwards (``peft``'s ``unload``: the base weights are never changed),
so one loaded base serves the untuned model and every adapter of a sweep: a process keeps it for the
trials it evaluates (``codemix.eval.engines``). Full fine-tunes are bases of their own. Decoding
uses :func:`codemix.eval.generate.generate_texts`, which drops finished rows from the batch and the
KV cache at every step.
"""

from __future__ import annotations

import json
import os

import numpy as np

from codemix.eval.backends.messages import generate_batch, render_prompt
from codemix.models.encoding import encode_rendered


def resolve_dtype(name: str, device: str):
    """torch dtype for ``eval.dtype``: 'auto' is bf16 on GPU and on CPUs with bf16 matrix units, else fp32."""
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16}[resolve_dtype_name(name, device)]


def resolve_dtype_name(name: str, device: str) -> str:
    """'fp32' or 'bf16' for ``eval.dtype`` on this machine's ``device`` ('cuda' or 'cpu')."""
    if name == "auto":
        return "bf16" if device == "cuda" or cpu_has_bf16_matmul() else "fp32"
    return name


# oneDNN's instruction-set caps below the one with bf16 dot products (ONEDNN_MAX_CPU_ISA; oneDNN then computes bf16
# by converting to fp32, several times slower than fp32 itself)
_NO_BF16_ISA = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}


def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AMX or AVX-512 BF16), as oneDNN uses them: not when
    ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below them (as ``bench/avx2_env.sh`` does to emulate an AVX2-only CPU)."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in _NO_BF16_ISA:
        return False
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


class HFEngine:
    """One base model in memory; ``generate`` runs chats on it or on it with a LoRA adapter attached."""

    def __init__(self, base: str, sampling: dict, chat_template: str = "auto", trust_remote_code: bool = False,
                 dtype: str = "auto", threads: int | None = None):
        import torch

        if threads:
            torch.set_num_threads(threads)
        from codemix.models.loading import load_causal_lm, load_tokenizer

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = load_tokenizer(base, chat_template, trust_remote_code)
        self.tokenizer.padding_side = "left"
        self.model = load_causal_lm(base, dtype=resolve_dtype(dtype, self.device),
                                    trust_remote_code=trust_remote_code).to(self.device).eval()
        self.sampling = sampling

    def generate(self, chats: list[list[dict]], adapter: str | None = None,
                 max_new_tokens: int | None = None) -> dict[str, list]:
        """Prompts, outputs and new-token counts for the chats (with ``adapter``, a LoRA folder, attached;
        ``max_new_tokens`` overrides the sampling's)."""
        from codemix.eval.generate import generate_texts

        prompts = [render_prompt(self.tokenizer, m) for m in chats]
        ids = [encode_rendered(p, self.tokenizer)[0] for p in prompts]  # BOS exactly as in training
        model = self._attach(adapter)
        try:
            texts, stats = generate_texts(model, self.tokenizer, ids,
                                          max_new_tokens=max_new_tokens or self.sampling["max_new_tokens"],
                                          temperature=self.sampling["temperature"], stop=self.sampling["stop"])
        finally:
            if adapter:
                self.model = model.unload()  # the LoRA layers out again, the base as it was
        return {"prompt": prompts, "output": [t.strip() for t in texts], "new_tokens": stats.row_tokens}

    def _attach(self, adapter: str | None):
        if not adapter:
            return self.model
        from peft import PeftModel

        return PeftModel.from_pretrained(self.model, adapter).to(self.device).eval()

    def close(self) -> None:
        """Let the weights go (``codemix.eval.engines`` closes an engine it stops holding)."""
        self.model = None


class HFGenerator:
    """Ray Data callable class (or called in the trial's process): the model (a base, a full fine-tune or an
    adapter on its base) on the engine this process holds for its base, then generation for each batch."""

    def __init__(self, model_path: str, sampling: dict, chat_template: str = "auto", trust_remote_code: bool = False,
                 dtype: str = "auto", threads: int | None = None):
        from codemix.eval.engines import held_engine
        from codemix.models.loading import split_adapter

        base, self.adapter = split_adapter(model_path)
        key = ("hf", base, json.dumps(sampling, sort_keys=True), chat_template, trust_remote_code, dtype, threads)
        self.engine = held_engine(key, lambda: HFEngine(base, sampling, chat_template, trust_remote_code, dtype,
                                                        threads))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return generate_batch(self.engine, batch, self.adapter)
