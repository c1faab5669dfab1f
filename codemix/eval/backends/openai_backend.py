"""The ``openai`` backend: generate through any OpenAI-compatible chat endpoint (OpenAI, a
``vllm serve`` you run, llama.cpp), as a Ray Data ``map_batches`` callable class.

    gen = OpenAIGenerator(base_url="http://localhost:8000/v1", model="m", api_key_env="OPENAI_API_KEY",
                          concurrency=8, max_retries=5, sampling={"temperature": 0, "max_new_tokens": 256})
    batch = gen({"messages": np.array([json.dumps([{"role": "user", "content": "hi"}])], dtype=object)})
    batch["output"]   # array of reply strings

At most ``concurrency`` requests are in flight per actor; 429/5xx/timeouts are retried with
backoff by the shared client. A rejected key, unknown model or refused connection stops the
stage (EndpointError); so do more requests still failing after their retries than
``max_failure_share`` of the stage's ``total`` (counted over all batches of the actor); those
within the share get an empty output (no answer) and are logged. The key is read from
``api_key_env`` and never logged.
"""

from __future__ import annotations

import json
import logging

import numpy as np

from codemix.endpoints import ChatClient, FailureBudget

log = logging.getLogger("codemix")


def request_params(sampling: dict) -> dict:
    """Chat-completions parameters from a SamplingConfig dict (max_new_tokens -> max_tokens)."""
    params = {"temperature": float(sampling.get("temperature", 0.0))}
    if sampling.get("max_new_tokens") is not None:
        params["max_tokens"] = int(sampling["max_new_tokens"])
    if sampling.get("stop"):
        params["stop"] = list(sampling["stop"])
    if sampling.get("top_p") is not None:
        params["top_p"] = float(sampling["top_p"])
    if sampling.get("seed") is not None:
        params["seed"] = int(sampling["seed"])
    return params


class OpenAIGenerator:
    """Ray Data callable class: reads column ``messages`` (JSON chat messages), adds column ``output``."""

    def __init__(self, base_url: str | None, model: str, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8,
                 max_retries: int = 5, sampling: dict | None = None, backoff: float = 0.5, timeout: float = 120.0,
                 max_failure_share: float = 0.0, total: int | None = None):
        if not model:
            raise ValueError("the openai backend needs a model name (eval.openai_endpoint.model)")
        self.client = ChatClient(model=model, base_url=base_url, api_key_env=api_key_env, concurrency=concurrency,
                                 max_retries=max_retries, backoff=backoff, timeout=timeout, role="openai backend")
        self.params = request_params(sampling or {})
        self.share = max_failure_share
        self.budget = FailureBudget(total, max_failure_share) if total else None  # None: per batch

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if "answer_trigger" in batch and any(batch["answer_trigger"]):
            raise ValueError("eval.prompt 'two_stage_cot' continues the model's own assistant turn, which the "
                             "chat-completions API does not offer: use the hf or vllm backend, or another prompt")
        requests = []
        for i, raw in enumerate(batch["messages"]):
            try:
                messages = json.loads(raw)
            except (TypeError, json.JSONDecodeError) as err:
                raise ValueError(f"openai backend: row {i} of the batch: column 'messages' is not JSON "
                                 f"({err})") from None
            requests.append((None, messages))
        budget = self.budget or FailureBudget(len(requests), self.share)
        replies = self.client.complete_many(requests, budget=budget, **self.params)
        failed = sum(isinstance(r, Exception) for r in replies)
        if failed:
            log.warning("openai backend: %d of %d requests of this batch still failed after their retries; "
                        "their outputs are empty (%d of the %d allowed failures used)", failed, len(replies),
                        budget.failed, budget.allowed)
        batch["output"] = np.array(["" if isinstance(r, Exception) else r.strip() for r in replies], dtype=object)
        return batch
