"""The ``hf`` backend: one model load per Ray Data actor, batched left-padded generation.

Decoding uses :func:`codemix.eval.generate.generate_texts`, which drops finished rows from the
batch and the KV cache at every step (end-of-turn token, stop string or token limit).
"""

from __future__ import annotations

import numpy as np

from codemix.eval.backends.messages import decode_messages
from codemix.models.encoding import encode_rendered


def resolve_dtype(name: str, device: str):
    """torch dtype for ``eval.dtype``: 'auto' is bf16 on GPU and on CPUs with bf16 matrix units, else fp32."""
    import torch

    if name == "auto":
        name = "bf16" if device == "cuda" or cpu_has_bf16_matmul() else "fp32"
    return {"fp32": torch.float32, "bf16": torch.bfloat16}[name]


def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AMX or AVX-512 BF16), as oneDNN uses them."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


class HFGenerator:
    """Ray Data callable class: loads the checkpoint once, then generates for each batch."""

    def __init__(self, model_path: str, sampling: dict, chat_template: str = "auto", trust_remote_code: bool = False,
                 dtype: str = "auto", threads: int | None = None):
        import torch

        if threads:
            torch.set_num_threads(threads)
        from codemix.models.loading import load_causal_lm, load_tokenizer

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = load_tokenizer(model_path, chat_template, trust_remote_code)
        self.tokenizer.padding_side = "left"
        self.model = load_causal_lm(model_path, dtype=resolve_dtype(dtype, self.device),
                                    trust_remote_code=trust_remote_code).to(self.device).eval()
        self.sampling = sampling

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from codemix.eval.generate import generate_texts

        messages = decode_messages(batch["messages"])
        prompts = [self.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in messages]
        ids = [encode_rendered(p, self.tokenizer)[0] for p in prompts]  # BOS exactly as in training
        texts, stats = generate_texts(self.model, self.tokenizer, ids, max_new_tokens=self.sampling["max_new_tokens"],
                                      temperature=self.sampling["temperature"], stop=self.sampling["stop"])
        batch["prompt"] = np.array(prompts, dtype=object)
        batch["output"] = np.array([t.strip() for t in texts], dtype=object)
        batch["new_tokens"] = np.array(stats.row_tokens, dtype=np.int64)
        return batch
