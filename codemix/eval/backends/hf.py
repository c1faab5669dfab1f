"""The ``hf`` backend: transformers generation, batched, with LoRA adapters applied per request.

``HFEngine`` holds one base model; a request naming a LoRA adapter folder gets it attached for
that request and removed afterwards (``peft``'s ``unload``: the base weights are never changed),
so one loaded base serves the untuned model and every adapter of a sweep: a process keeps it for the
trials it evaluates (``codemix.eval.held_engine``). Full fine-tunes are bases of their own. Decoding
uses :func:`codemix.eval.generate.generate_texts`, which drops finished rows from the batch and the
KV cache at every step.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from codemix.eval.backends.messages import generate_batch, render_prompt
from codemix.eval.dtypes import resolve_dtype_name
from codemix.eval.generate import generate_texts
from codemix.eval.held_engine import held_engine
from codemix.models.encoding import encode_rendered
from codemix.models.loading import load_causal_lm, load_tokenizer, split_adapter


def resolve_dtype(name: str, device: str):
    """torch dtype for ``eval.dtype``: 'auto' is bf16 on GPU and on CPUs with bf16 matrix units, else fp32."""
    return {"fp32": torch.float32, "bf16": torch.bfloat16}[resolve_dtype_name(name, device)]


class HFEngine:
    """One base model in memory; ``generate`` runs chats on it or on it with a LoRA adapter attached."""

    def __init__(self, base: str, sampling: dict, chat_template: str = "auto", trust_remote_code: bool = False,
                 dtype: str = "auto", threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)

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
        from peft import PeftModel  # peft (1-6 s to import): LoRA adapters only

        return PeftModel.from_pretrained(self.model, adapter).to(self.device).eval()

    def close(self) -> None:
        """Let the weights go (``codemix.eval.held_engine`` closes an engine it stops holding)."""
        self.model = None


class HFGenerator:
    """Ray Data callable class (or called in the trial's process): the model (a base, a full fine-tune or an
    adapter on its base) on the engine this process holds for its base, then generation for each batch."""

    def __init__(self, model_path: str, sampling: dict, chat_template: str = "auto", trust_remote_code: bool = False,
                 dtype: str = "auto", threads: int | None = None):
        base, self.adapter = split_adapter(model_path)
        key = ("hf", base, json.dumps(sampling, sort_keys=True), chat_template, trust_remote_code, dtype, threads)
        self.engine = held_engine(key, lambda: HFEngine(base, sampling, chat_template, trust_remote_code, dtype,
                                                        threads))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return generate_batch(self.engine, batch, self.adapter)
