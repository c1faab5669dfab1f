"""Helpers every backend shares: the ``messages`` column back to chat messages, stop strings applied."""

from __future__ import annotations

import json

import numpy as np


def decode_messages(column) -> list[list[dict]]:
    """The ``messages`` column (JSON strings) back to lists of chat messages."""
    return [json.loads(m) for m in column]


def apply_stop(text: str, stop: list[str]) -> str:
    """Cut a generation at the first stop string."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


def fill_batch(batch: dict[str, np.ndarray], out: dict[str, list]) -> dict[str, np.ndarray]:
    """An engine's result (prompt, output, new_tokens lists) added to a Ray Data batch as its columns."""
    batch["prompt"] = np.array(out["prompt"], dtype=object)
    batch["output"] = np.array(out["output"], dtype=object)
    batch["new_tokens"] = np.array(out["new_tokens"], dtype=np.int64)
    return batch


def render_prompt(tokenizer, messages: list[dict]) -> str:
    """The chat as the model reads it: a new assistant turn opened, or, when the last message is the
    assistant's (a two-stage prompt's answer trigger), that turn continued rather than closed."""
    if messages and messages[-1]["role"] == "assistant":
        return tokenizer.apply_chat_template(messages, tokenize=False, continue_final_message=True)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
