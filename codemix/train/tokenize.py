"""Turn conversations into (input_ids, labels) with the loss on assistant tokens only.

The conversation is rendered once with ``tokenizer.apply_chat_template``. The character spans of
assistant turns come from rendering each prefix (``messages[:i]`` with the generation prompt,
then ``messages[:i+1]``): whatever the template adds between them is the assistant's turn, up to
and including its end-of-turn token (whitespace the template writes after that token, such as
ChatML's newline, belongs to no turn and is not learned). The text is tokenised once with offsets
and a token is a label exactly when it starts inside an assistant span. This works with any
family's own template and with the Vicuna template, without per-family rules.

BOS goes where FastChat and the official encoders put it (see ``codemix.models.encoding.encode_rendered``).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from codemix.models.encoding import encode_rendered

IGNORE_INDEX = -100


@dataclass
class TokenizeReport:
    """What tokenisation did to the mix, so nothing is lost silently."""

    conversations: int = 0
    examples: int = 0
    tokens: int = 0
    label_tokens: int = 0
    events: Counter = field(default_factory=Counter)  # truncated / split / dropped_overlong / no_assistant ...

    def as_dict(self) -> dict:
        return {"conversations": self.conversations, "examples": self.examples, "tokens": self.tokens,
                "label_tokens": self.label_tokens, **{f"n_{k}": v for k, v in sorted(self.events.items())}}


def assistant_spans(messages: list[dict], tokenizer) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the [start, end) character spans of its assistant turns."""
    render = tokenizer.apply_chat_template
    text = render(messages, tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = render(messages[:i], tokenize=False, add_generation_prompt=True) if i else ""
        upto = render(messages[: i + 1], tokenize=False)
        if text.startswith(upto) and upto.startswith(before):
            start = len(before)
            spans.append((start, start + len(upto[start:].rstrip())))
        else:  # a template whose prefixes are not stable: locate the content itself
            start = text.find(m["content"], spans[-1][1] if spans else 0)
            if start < 0:
                raise ValueError(f"assistant turn {i} not found in the rendered conversation")
            spans.append((start, start + len(m["content"])))
    return text, spans


def tokenize_conversation(messages: list[dict], tokenizer) -> tuple[list[int], list[int]]:
    """Token ids and labels (IGNORE_INDEX outside assistant turns) for one conversation."""
    text, spans = assistant_spans(messages, tokenizer)
    ids, offsets = encode_rendered(text, tokenizer)
    labels, s = [], 0
    for tok_id, (start, _end) in zip(ids, offsets):
        while s < len(spans) and start >= spans[s][1]:
            s += 1
        inside = s < len(spans) and spans[s][0] <= start < spans[s][1]
        labels.append(tok_id if inside else IGNORE_INDEX)
    return ids, labels


def tokenize_mix(conversations: list[list[dict]], tokenizer, max_length: int,
                 overlong: str = "truncate") -> tuple[list[dict], TokenizeReport]:
    """Tokenise a mix; sequences past ``max_length`` are truncated, split or dropped (and counted)."""
    report, examples = TokenizeReport(), []
    for messages in conversations:
        report.conversations += 1
        ids, labels = tokenize_conversation(messages, tokenizer)
        if all(lab == IGNORE_INDEX for lab in labels):
            report.events["no_assistant_tokens"] += 1
            continue
        pieces = [(ids, labels)]
        if len(ids) > max_length:
            if overlong == "drop":
                report.events["dropped_overlong"] += 1
                continue
            if overlong == "truncate":
                report.events["truncated"] += 1
                pieces = [(ids[:max_length], labels[:max_length])]
            else:
                report.events["split"] += 1
                pieces = [(ids[i:i + max_length], labels[i:i + max_length]) for i in range(0, len(ids), max_length)]
        for piece_ids, piece_labels in pieces:
            n_labels = sum(lab != IGNORE_INDEX for lab in piece_labels)
            if n_labels == 0:
                report.events["piece_without_labels"] += 1
                continue
            examples.append({"input_ids": piece_ids, "labels": piece_labels})
            report.examples += 1
            report.tokens += len(piece_ids)
            report.label_tokens += n_labels
    return examples, report


def turns_to_messages(turns) -> list[dict]:
    """Arrow ``turns`` (list of {role, content}) to chat-template messages."""
    return [{"role": t["role"], "content": t["content"]} for t in turns]


def pack_examples(examples: list[dict], max_length: int) -> list[dict]:
    """Pack examples into rows of at most ``max_length`` tokens (best-fit decreasing).

    Each row carries ``position_ids`` that restart at 0 for every example; transformers turns
    that into block-diagonal attention (no attention across examples) when no attention mask
    is passed. The first label of every example is masked so no token predicts across a boundary.
    """
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i]["input_ids"]))
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (free space, row index), sorted
    for i in order:
        n = len(examples[i]["input_ids"])
        at = bisect.bisect_left(free, (n, -1))
        if at < len(free):
            space, r = free.pop(at)
            rows[r].append(i)
            bisect.insort(free, (space - n, r))
        else:
            rows.append([i])
            bisect.insort(free, (max_length - n, len(rows) - 1))
    packed = []
    for members in rows:
        ids, labels, positions = [], [], []
        for i in members:
            e = examples[i]
            ids += e["input_ids"]
            labels += [IGNORE_INDEX] + e["labels"][1:]
            positions += list(range(len(e["input_ids"])))
        packed.append({"input_ids": ids, "labels": labels, "position_ids": positions})
    return packed
