"""The ``llm`` answer extractor: an LLM (the paper used GPT-3.5-turbo) reads a model's output and
states its final answer, through the shared OpenAI-compatible client (retries, cache).

    extractor = LLMExtractor(model="gpt-3.5-turbo", cache="extract.sqlite")
    extractor.extract("number", "... so she makes $18 a day.")            # -> "18"
    extractor.extract_many([("option", text, choices), ...])              # bounded concurrency

The reply is read back with the same rules as the ``rules`` extractor ("The answer is <reply>"),
so both extractors return answers in one normalised form. "NONE" (no answer stated) -> None.
Replies are cached by (prompt version, model, answer type, choices, output hash).

A rejected key, unknown model or refused connection stops the evaluation (EndpointError); so
do more requests still failing after their retries than ``max_failure_share`` of a call's
distinct outputs; those within the share are answered None (no answer) and logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Sequence

from codemix.endpoints import FailureBudget
from codemix.eval.extract import extract_answer

log = logging.getLogger("codemix")

EXTRACT_PROMPT_VERSION = "extract-v1"
TYPE_HINTS = {
    "number": "a single number (digits only, no units or currency)",
    "option": "the letter of the chosen option (A, B, C, ...)",
    "yes_no": "yes or no",
    "string": "the final string of letters the response gives",
    "list": "the final comma-separated list the response gives",
    "word": "a single word",
}
SYSTEM = ("You read a response written by another model and report the final answer it gives. Do not solve the "
          "problem yourself and do not correct the response. If the response gives no final answer, reply NONE.")


def extraction_messages(answer_type: str, output: str, choices: Sequence[str] | None = None) -> list[dict]:
    """The chat messages that ask the LLM for the final answer of ``output``."""
    hint = TYPE_HINTS.get(answer_type, "the final answer")
    extra = ""
    if choices and answer_type == "option":
        extra = "\nOptions: " + " ".join(f"({'ABCDEFGH'[i]}) {c}" for i, c in enumerate(choices))
    elif choices:
        extra = "\nPossible answers: " + ", ".join(choices)
    user = (f"Response:\n\"\"\"\n{output}\n\"\"\"\n{extra}\n"
            f"What final answer does the response give? Reply with {hint} only, or NONE.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_reply(answer_type: str, reply: str, choices: Sequence[str] | None = None) -> str | None:
    """The LLM's reply in normalised form (via the rules), or None for NONE/empty."""
    reply = (reply or "").strip()
    if not reply or reply.strip(".").upper() in ("NONE", "N/A", "NO ANSWER"):
        return None
    return extract_answer(answer_type, f"The answer is {reply}", choices)


class LLMExtractor:
    """Asks an OpenAI-compatible model for each output's final answer; replies are cached on disk."""

    def __init__(self, model: str = "gpt-3.5-turbo", base_url: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8, max_retries: int = 5,
                 cache: str | Path | None = None, backoff: float = 0.5, timeout: float = 120.0,
                 max_failure_share: float = 0.0):
        from codemix.openai_client import ChatClient

        if cache is None:
            home = Path(os.environ.get("CODEMIX_HOME", Path.home() / ".cache" / "codemix"))
            cache = home / "_cache" / "extract.sqlite"
        self.model, self.max_failure_share = model, max_failure_share
        self.client = ChatClient(model=model, base_url=base_url, api_key_env=api_key_env, concurrency=concurrency,
                                 max_retries=max_retries, backoff=backoff, timeout=timeout, cache=cache,
                                 role="llm extractor")

    def _key(self, answer_type: str, output: str, choices) -> tuple:
        digest = hashlib.sha256(output.encode()).hexdigest()
        return ("extract", EXTRACT_PROMPT_VERSION, self.model, answer_type, tuple(choices or ()), digest)

    def extract(self, answer_type: str, output: str, choices: Sequence[str] | None = None) -> str | None:
        """The final answer of one output (None if it gives none)."""
        return self.extract_many([(answer_type, output, choices)])[0]

    def extract_many(self, items: Sequence[tuple[str, str, Sequence[str] | None]]) -> list[str | None]:
        """Answers for (answer_type, output, choices) triples, in order (see the module doc on failures)."""
        keys = [self._key(t, o, c) for t, o, c in items]
        unique = {}  # identical outputs are asked about once
        for key, (t, o, c) in zip(keys, items):
            unique.setdefault(key, extraction_messages(t, o, c))
        budget = FailureBudget(len(unique), self.max_failure_share)
        replies = self.client.complete_many(list(unique.items()), budget=budget, temperature=0, max_tokens=32)
        if budget.failed:
            log.warning("llm extractor: %d of %d requests still failed after their retries; answered None",
                        budget.failed, len(unique))
        by_key = {k: None if isinstance(r, Exception) else r for k, r in zip(unique, replies)}
        return [parse_reply(t, by_key[k], c) for (t, _, c), k in zip(items, keys)]


_configured: LLMExtractor | None = None


def configure_llm_extractor(extractor: LLMExtractor | None = None, **kwargs) -> LLMExtractor:
    """Set the extractor ``score_output`` uses for "llm"/"cascade" (an instance, or LLMExtractor kwargs)."""
    global _configured
    _configured = extractor or LLMExtractor(**kwargs)
    return _configured


def get_llm_extractor() -> LLMExtractor:
    """The configured LLM extractor, or one built from the environment.

    Environment: CODEMIX_EXTRACTOR_MODEL (default gpt-3.5-turbo), CODEMIX_EXTRACTOR_BASE_URL
    (default $OPENAI_BASE_URL), the key in OPENAI_API_KEY.
    """
    global _configured
    if _configured is None:
        _configured = LLMExtractor(model=os.environ.get("CODEMIX_EXTRACTOR_MODEL", "gpt-3.5-turbo"),
                                   base_url=os.environ.get("CODEMIX_EXTRACTOR_BASE_URL"))
    return _configured


def llm_extractor_from_config(eval_cfg) -> LLMExtractor:
    """Configure (and return) the LLM extractor from an EvalConfig's extractor_* fields."""
    return configure_llm_extractor(model=eval_cfg.extractor_model, base_url=eval_cfg.extractor_base_url,
                                   api_key_env=eval_cfg.extractor_api_key_env,
                                   concurrency=eval_cfg.extractor_concurrency, max_retries=eval_cfg.max_retries,
                                   backoff=eval_cfg.backoff, timeout=eval_cfg.timeout,
                                   max_failure_share=eval_cfg.max_failure_share)
