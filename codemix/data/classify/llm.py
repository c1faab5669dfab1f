"""The paper's classifier: ask a chat model (any OpenAI-compatible endpoint) for Coding / Math / Other.

The prompt (PROMPT_VERSION below; change the version whenever the text changes) shows the
conversation, each turn cut to 2000 characters and the whole to 6000, and asks for JSON
``{"label": "coding" | "math" | "other"}``. Parsing: JSON first (also inside a ``` fence or
surrounded by prose), then the first category word in the reply ("others" -> other, "code"
-> coding). Replies are cached on disk by (content hash, PROMPT_VERSION, model), so a rerun or
a second sweep pays for each conversation once, and a run whose labels are all cached sends
nothing (it needs no key).

Failures never degrade the labels silently. A key the endpoint rejects, an unknown model, a
refused request or connection stop labelling at once (EndpointError). A conversation whose
request still fails after its retries, or whose reply names no label, is unlabelled: it is
dropped from the pool (``dropped``: ``llm_failed`` / ``llm_unparsed``), or, only with
``fallback: heuristic`` in the config, gets the heuristic's label, marked
``fallback:heuristic-<version>`` in the ``classifier`` column (``repaired``: ``llm_failed_used_heuristic``
/ ``llm_unparsed_used_heuristic``). More unlabelled conversations than ``max_failure_share``
allows stop labelling too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from codemix import endpoints  # endpoints.ChatClient loads openai when labels are first requested
from codemix.data.accounting import DataReport
from codemix.data.classify.base import Classifier, register
from codemix.data.classify.heuristic import Heuristic
from codemix.data.classify.heuristic import label as heuristic_label
from codemix.endpoints import EndpointError, FailureBudget, ReplyCache, excerpt
from codemix.storage import labels_dir

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


FALLBACK_TAG = f"fallback:{Heuristic.name}-{Heuristic.version}"
LABEL_DB = "llm_labels.sqlite"


def default_labels_dir() -> Path:
    """Where the label cache lives when neither the config nor the caller names a folder."""
    return labels_dir()


@register("llm")
class LLMClassifier(Classifier):
    """Coding / Math / Other from a chat model, with retries, bounded concurrency and a reply cache."""

    version = "v1"
    paid = True
    measured = ("not measured in this project: its accuracy is the endpoint model's (named in the tag) with prompt "
                f"{PROMPT_VERSION}, and differs from model to model; the tests check parsing, caching and failures "
                "against a fake server, not accuracy. Measure it on the 300 hand-labelled real ShareGPT prompts of "
                "split heldout2 (tests/data/fixtures/classify_labels.csv) with codemix.data.audit.agreement before "
                "quoting its class counts (there: heuristic v3 0.897, minilm v1 0.913)")

    def identity(self) -> dict:
        ident = {**super().identity(), "prompt_version": PROMPT_VERSION, "model": self.cfg.endpoint.model}
        if self.cfg.fallback != "none":  # a pool with fallback labels is not the pool without them
            ident["fallback"] = self.cfg.fallback
        return ident

    @property
    def tag(self) -> str:
        return f"llm-{self.version}:{self.cfg.endpoint.model}:{PROMPT_VERSION}"

    def cache_path(self) -> Path:
        """The label cache file: in ``cfg.cache_dir``, else the folder the caller gave, else $CODEMIX_HOME/labels."""
        root = self.cfg.cache_dir or self.cache_dir or default_labels_dir()
        return Path(root) / LABEL_DB

    def requests(self, convs: list[dict]) -> list[tuple[tuple, list[dict]]]:
        """(cache key, chat messages) per conversation."""
        model = self.cfg.endpoint.model
        return [((c["content_hash"], PROMPT_VERSION, model), render_prompt(c["turns"])) for c in convs]

    def client(self, cached: bool = True):
        """The chat client of this classifier's endpoint, writing replies to the label cache if ``cached``."""
        return endpoints.ChatClient(**self.cfg.endpoint.client_kwargs(), cache=self.cache_path() if cached else None,
                                    role="llm classifier")

    def _cached_replies(self, convs: list[dict]) -> list[str | None]:
        if not self.cache_path().exists():
            return [None] * len(convs)
        cache = ReplyCache(self.cache_path())
        try:
            return [cache.get(key) for key, _ in self.requests(convs)]
        finally:
            cache.close()

    def uncached(self, convs: list[dict]) -> int:
        return sum(r is None for r in self._cached_replies(convs))

    def labels(self, convs: list[dict], report: DataReport) -> list[str | None]:
        return [lab for lab, _ in self.label_with_sources(convs, report)]

    def label_with_sources(self, convs: list[dict], report: DataReport) -> list[tuple[str | None, str]]:
        replies: list = self._cached_replies(convs)
        todo = [i for i, r in enumerate(replies) if r is None]
        report.stats["llm_cache_hits"] += len(convs) - len(todo)
        budget = FailureBudget(len(convs), self.cfg.endpoint.max_failure_share)
        client = None
        if todo:  # only now is a key needed
            client = self.client()
            requests = self.requests([convs[i] for i in todo])
            try:
                sent = client.complete_many(requests, budget=budget, temperature=0.0, max_tokens=20)
            finally:
                self._count_stats(client, report)
            for i, reply in zip(todo, sent):
                replies[i] = reply
        out, unlabelled, first_unparsed = [], [], None
        for conv, reply in zip(convs, replies, strict=True):
            if isinstance(reply, Exception):
                reason = "failed"
            else:
                lab, how = parse_label(reply)
                if lab is not None:
                    if how == "word":
                        report.repair("llm_label_from_word")
                    out.append((lab, self.tag))
                    continue
                reason, first_unparsed = "unparsed", first_unparsed if first_unparsed is not None else reply
            unlabelled.append(reason)
            if self.cfg.fallback == "heuristic":
                report.repair(f"llm_{reason}_used_heuristic")
                out.append((heuristic_label(conv["turns"]), FALLBACK_TAG))
            else:
                report.drop(f"llm_{reason}")
                out.append((None, self.tag))
        if len(unlabelled) > budget.allowed:
            raise self._too_many_unlabelled(unlabelled, len(convs), budget.allowed, first_unparsed, client)
        return out

    def _count_stats(self, client, report: DataReport) -> None:
        for key, n in client.stats.items():
            if key != "cache_hits":  # the client only sees uncached requests; hits are counted above
                report.stats[f"llm_{key}"] += n
        if client.cache is not None:
            client.cache.close()

    def _too_many_unlabelled(self, reasons: list[str], total: int, allowed: int, first_unparsed: str | None,
                             client) -> EndpointError:
        failed, unparsed = reasons.count("failed"), reasons.count("unparsed")
        endpoint = self.cfg.endpoint
        where = client.endpoint.describe() if client is not None else f"model {endpoint.model!r} (cached replies)"
        sample = f"; the first reply without one: {excerpt(first_unparsed, limit=200)!r}" if first_unparsed else ""
        return EndpointError(
            f"llm classifier stopped: {len(reasons)} of {total} conversations got no label from the model "
            f"({failed} requests still failed after their retries, {unparsed} replies named no label{sample}); "
            f"data.classifier.endpoint.max_failure_share {endpoint.max_failure_share:g} allows {allowed}. Check "
            f"that the model follows the prompt, or set data.classifier.fallback: heuristic to label them offline "
            f"(marked {FALLBACK_TAG!r}). {where[0].upper()}{where[1:]}.", kind="unlabelled",
            endpoint=getattr(client, "endpoint", None))
