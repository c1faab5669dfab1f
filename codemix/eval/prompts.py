"""Chat prompts for the reasoning tasks: zero-shot chain-of-thought (default), zero-shot, few-shot.

Zero-shot CoT (Kojima et al. 2022) is the question, the task's answer-format instruction and
"Let's think step by step." in one user message; the backend renders it with the model's chat
template. Few-shot puts k demonstrations (user question / assistant worked answer) before it.
Bump PROMPT_VERSION whenever a prompt's text changes: it is part of the evaluation's identity.
"""

from __future__ import annotations

from typing import Sequence

from codemix.eval.rules import OPTION_LETTERS

PROMPT_VERSION = "2024-zs-cot-v1"
COT_TRIGGER = "Let's think step by step."
STYLES = ("zero_shot_cot", "zero_shot", "few_shot")


def format_choices(choices: Sequence[str] | None) -> str:
    """'Answer Choices: (A) 5 (B) 6 ...' (a leading 'A)' already in the text is not repeated)."""
    if not choices:
        return ""
    parts = []
    for letter, text in zip(OPTION_LETTERS, choices):
        body = text[2:].strip() if text[:2] == f"{letter})" else text
        parts.append(f"({letter}) {body}")
    return "Answer Choices: " + " ".join(parts)


def render_question(task, example) -> str:
    """The task's template filled with the example's question (and choices), plus the answer instruction."""
    body = task.template.format(question=example.question.strip(), choices=format_choices(example.choices))
    if example.choices and "{choices}" not in task.template:
        body += "\n" + format_choices(example.choices)
    return f"{body.strip()}\n{task.instruction}".strip()


def answer_sentence(task, example) -> str:
    """How a demonstration states its answer, in the form the instruction asks for."""
    gold = f"({example.gold})" if task.answer_type == "option" else example.gold
    return f"The answer is {gold}."


def build_messages(task, example, style: str = "zero_shot_cot", shots: Sequence = ()) -> list[dict]:
    """Chat messages for one example. ``shots`` (few-shot only) are demonstrations from ``task.shots``."""
    if style not in STYLES:
        raise ValueError(f"unknown prompt style {style!r}; use one of {', '.join(STYLES)}")
    messages: list[dict] = []
    if style == "few_shot":
        for shot in shots:
            reply = f"{shot.rationale.strip()} {answer_sentence(task, shot)}".strip()
            messages += [{"role": "user", "content": render_question(task, shot)},
                         {"role": "assistant", "content": reply}]
    question = render_question(task, example)
    if style in ("zero_shot_cot", "few_shot"):
        question += "\n" + COT_TRIGGER
    messages.append({"role": "user", "content": question})
    return messages
