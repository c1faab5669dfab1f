"""The ``hf`` backend: one model load per Ray Data actor, batched left-padded generation."""

from __future__ import annotations

import numpy as np

from codemix.eval.backends import apply_stop, decode_messages
from codemix.models.formats import encode_rendered, stop_token_ids


class HFGenerator:
    """Ray Data callable class: loads the checkpoint once, then generates for each batch."""

    def __init__(self, model_path: str, sampling: dict, chat_template: str = "auto", trust_remote_code: bool = False):
        import torch

        from codemix.models.loading import load_causal_lm, load_tokenizer

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.tokenizer = load_tokenizer(model_path, chat_template, trust_remote_code)
        self.tokenizer.padding_side = "left"
        self.model = load_causal_lm(model_path, dtype=dtype, trust_remote_code=trust_remote_code).to(self.device).eval()
        self.sampling = sampling
        self.stop_ids = stop_token_ids(self.tokenizer)  # EOS and the template's end-of-turn token

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        messages = decode_messages(batch["messages"])
        prompts = [self.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in messages]
        ids = [encode_rendered(p, self.tokenizer)[0] for p in prompts]  # BOS exactly as in training
        enc = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(self.device)
        greedy = self.sampling["temperature"] == 0
        with torch.inference_mode():
            out = self.model.generate(
                **enc, max_new_tokens=self.sampling["max_new_tokens"], do_sample=not greedy,
                temperature=None if greedy else self.sampling["temperature"], top_p=None, top_k=None,
                pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.stop_ids)
        texts = self.tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        batch["prompt"] = np.array(prompts, dtype=object)
        batch["output"] = np.array([apply_stop(t, self.sampling["stop"]).strip() for t in texts], dtype=object)
        return batch
