"""The paper's classifier: ask a chat model (any OpenAI-compatible endpoint) for Coding / Math / Other.

The prompt (PROMPT_VERSION below; change the version whenever the text changes) shows the
conversation, each turn cut to 2000 characters and the whole to 6000, and asks for JSON
``{"label": "coding" | "math" | "other"}``. Parsing: JSON first (also inside a ``` fence or
surrounded by prose), then the first category word in the reply ("others" -> other, "code"
-> coding); a reply with neither, or a request that fails after its retries, falls back to
the heuristic label and is counted in the report (``llm_unparsed_used_heuristic``,
``llm_failed_used_heuristic``). Replies are cached on disk by (content hash, PROMPT_VERSION,
model), so a rerun or a second sweep pays for each conversation once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from codemix.data.classify import heuristic
from codemix.data.classify.base import Classifier, register
from codemix.data.report import DataReport

PROMPT_VERSION = "paper-3class-v1"
SYSTEM_PROMPT = "You label conversations between a user and an AI assistant for building instruction-tuning data."
USER_PROMPT = """Classify the conversation below into exactly one category:
- coding: about programming or software: writing, explaining or debugging code, SQL queries, shell commands, \
APIs, software tools, or it contains source code.
- math: a mathematics problem or question: arithmetic, algebra, word problems, geometry, calculus, \
probability, proofs.
- other: anything else.

Reply with JSON only, no explanation: {{"label": "coding"}} or {{"label": "math"}} or {{"label": "other"}}.

<conversation>
{conversation}
</conversation>"""
_TURN_CHARS, _TOTAL_CHARS = 2000, 6000
_ALIASES = {"coding": "coding", "code": "coding", "programming": "coding", "math": "math",
            "mathematics": "math", "maths": "math", "other": "other", "others": "other"}
_JSON = re.compile(r"\{[^{}]*\}")
_WORD = re.compile(r"\b(coding|code|programming|mathematics|maths|math|others|other)\b", re.I)


def render_prompt(turns: list[dict]) -> list[dict]:
    """The chat messages sent for one conversation."""
    text = "\n\n".join(f"{t['role'].upper()}: {t['content'][:_TURN_CHARS]}" for t in turns)[:_TOTAL_CHARS]
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": USER_PROMPT.format(conversation=text)}]


def parse_label(reply: str) -> tuple[str | None, str]:
    """(label or None, how it was parsed: 'json' / 'word' / 'unparsed')."""
    for blob in _JSON.findall(reply):
        try:
            value = json.loads(blob)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            lab = _ALIASES.get(str(value.get("label", value.get("category", ""))).strip().lower())
            if lab:
                return lab, "json"
    m = _WORD.search(reply)
    return (_ALIASES[m.group(1).lower()], "word") if m else (None, "unparsed")


@register("llm")
class LLMClassifier(Classifier):
    """Coding / Math / Other from a chat model, with retries, bounded concurrency and a reply cache."""

    version = "v1"

    def identity(self) -> dict:
        return {**super().identity(), "prompt_version": PROMPT_VERSION, "model": self.cfg.model}

    @property
    def tag(self) -> str:
        return f"llm-{self.version}:{self.cfg.model}:{PROMPT_VERSION}"

    def cache_path(self) -> Path:
        root = Path(self.cfg.cache_dir) if self.cfg.cache_dir else (self.cache_dir or Path(".codemix-cache"))
        return root / "llm_labels.sqlite"

    def client(self):
        from codemix.openai_client import ChatClient

        return ChatClient(model=self.cfg.model, base_url=self.cfg.base_url, api_key_env=self.cfg.api_key_env,
                          concurrency=self.cfg.concurrency, max_retries=self.cfg.max_retries, backoff=self.cfg.backoff,
                          cache=self.cache_path())

    def labels(self, convs: list[dict], report: DataReport) -> list[str]:
        client = self.client()
        requests = [((c["content_hash"], PROMPT_VERSION, self.cfg.model), render_prompt(c["turns"])) for c in convs]
        replies = client.complete_many(requests, temperature=0.0, max_tokens=20)
        out = []
        for conv, reply in zip(convs, replies, strict=True):
            if isinstance(reply, Exception):
                report.repair("llm_failed_used_heuristic")
                out.append(heuristic.label(conv["turns"]))
                continue
            lab, how = parse_label(reply)
            if how == "word":
                report.repair("llm_label_from_word")
            if lab is None:
                report.repair("llm_unparsed_used_heuristic")
                lab = heuristic.label(conv["turns"])
            out.append(lab)
        for key, n in client.stats.items():
            report.stats[f"llm_{key}"] += n
        client.cache.close()
        return out
