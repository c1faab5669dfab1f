"""The ``llm`` answer extractor: an LLM (the paper used GPT-3.5-turbo) reads a model's output and
states its final answer, through the shared OpenAI-compatible client (retries, cache).

    extractor = LLMExtractor(model="gpt-3.5-turbo", cache="extract.sqlite")   # or LLMExtractor.from_config(cfg)
    extractor.extract("number", "... so she makes $18 a day.")                 # -> "18"
    extractor.extract_many([("option", text, choices), ...])                   # bounded concurrency

The reply is read back with the same rules as the ``rules`` extractor ("The answer is <reply>"),
so both extractors return answers in one normalised form. "NONE" (no answer stated) -> None.
Replies are cached by (prompt version, model, answer type, choices, output hash).

A rejected key, unknown model or refused connection stops the evaluation (EndpointError); so
do more requests still failing after their retries than ``max_failure_share`` of a call's
distinct outputs; those within the share are answered None (no answer), logged, and marked
``llm:failed`` in the predictions' ``extractor`` column.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Sequence

from codemix import endpoints  # endpoints.ChatClient loads openai when an extractor is built
from codemix.endpoints import FailureBudget
from codemix.eval.extract import OPTION_LETTERS, extract_answer
from codemix.eval.extractors import Extraction, Item
from codemix.storage import extractor_cache_file

log = logging.getLogger("codemix")

EXTRACT_PROMPT_VERSION = "extract-v2"  # v2: a hedge between answers is no answer, as for the rules
FAILED = "llm:failed"  # ``Extraction.by`` of an output whose request still failed within the failure share
TYPE_HINTS = {
    "number": "a single number (digits only, no units or currency)",
    "option": "the letter of the chosen option (A, B, C, ...)",
    "yes_no": "yes or no",
    "string": "the final string of letters the response gives",
    "list": "the final comma-separated list the response gives",
    "word": "a single word",
}
SYSTEM = ("You read a response written by another model and report the final answer it gives. Do not solve the "
          "problem yourself and do not correct the response. If the response gives no final answer, or leaves it "
          "open between several answers, reply NONE.")


def extraction_messages(answer_type: str, output: str, choices: Sequence[str] | None = None) -> list[dict]:
    """The chat messages that ask the LLM for the final answer of ``output``."""
    hint = TYPE_HINTS.get(answer_type, "the final answer")
    extra = ""
    if choices and answer_type == "option":
        extra = "\nOptions: " + " ".join(f"({OPTION_LETTERS[i]}) {c}" for i, c in enumerate(choices))
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

    name = "llm"

    def __init__(self, model: str, cache: str | Path, base_url: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8, max_retries: int = 5,
                 backoff: float = 0.5, timeout: float = 120.0, max_failure_share: float = 0.0):
        self.model, self.max_failure_share = model, max_failure_share
        self.client = endpoints.ChatClient(model=model, base_url=base_url, api_key_env=api_key_env,
                                           concurrency=concurrency, max_retries=max_retries, backoff=backoff,
                                           timeout=timeout, cache=cache, role="llm extractor")

    @classmethod
    def from_config(cls, eval_cfg, cache: str | Path | None = None) -> "LLMExtractor":
        """The extractor of an EvalConfig's ``extractor_endpoint`` (``cache`` overrides ``extractor_cache``)."""
        cache = cache or eval_cfg.extractor_cache or extractor_cache_file()
        endpoint = eval_cfg.extractor_endpoint
        return cls(**endpoint.client_kwargs(), cache=cache, max_failure_share=endpoint.max_failure_share)

    def _key(self, answer_type: str, output: str, choices) -> tuple:
        digest = hashlib.sha256(output.encode()).hexdigest()
        return ("extract", EXTRACT_PROMPT_VERSION, self.model, answer_type, tuple(choices or ()), digest)

    def extract(self, answer_type: str, output: str, choices: Sequence[str] | None = None) -> str | None:
        """The final answer of one output (None if it gives none)."""
        return self.extract_many([(answer_type, output, choices)])[0].answer

    def extract_many(self, items: Sequence[Item]) -> list[Extraction]:
        """Answers for (answer_type, output, choices) triples, in order (see the module doc on failures)."""
        keys = [self._key(t, o, c) for t, o, c in items]
        unique = {}  # identical outputs are asked about once
        for key, (t, o, c) in zip(keys, items):
            unique.setdefault(key, extraction_messages(t, o, c))
        budget = FailureBudget(len(unique), self.max_failure_share)
        replies = self.client.complete_many(list(unique.items()), budget=budget, temperature=0, max_tokens=32)
        if budget.failed:
            log.warning("llm extractor: %d of %d requests still failed after their retries; answered None (%s)",
                        budget.failed, len(unique), FAILED)
        by_key = dict(zip(unique, replies))
        return [Extraction(None, FAILED) if isinstance(by_key[k], Exception) else
                Extraction(parse_reply(t, by_key[k], c), "llm") for (t, _, c), k in zip(items, keys)]
