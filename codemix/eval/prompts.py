"""Chat prompts for the reasoning tasks: zero-shot chain-of-thought (default), two-stage zero-shot
chain-of-thought, zero-shot, few-shot.

Zero-shot CoT is the question, the task's answer-format instruction and "Let's think step by step."
in one user message; the backend renders it with the model's chat template. Few-shot puts k
demonstrations (user question / assistant worked answer) before it.

Two-stage CoT is Kojima et al. (2022)'s own protocol: the user message is the question alone (no
answer-format instruction, whose placeholder "X" small models copy), the assistant turn opens with
"Let's think step by step." and the model reasons; then the reasoning plus the answer trigger of the
task's answer type (e.g. "Therefore, the answer (arabic numerals) is") is continued for a few tokens.
The backends run both passes batched (``codemix.eval.backends.messages.generate_batch``; the second pass's
length is ``generation_settings.ANSWER_TOKENS``).

Bump a style's version (``prompt_version``) whenever its text changes: it is part of the evaluation's
identity.
"""

from __future__ import annotations

from typing import Sequence

from codemix.eval.extract import OPTION_LETTERS

PROMPT_VERSION = "2024-zs-cot-v1"  # zero_shot_cot, zero_shot and few_shot
TWO_STAGE_VERSION = "kojima-2stage-v1"
COT_TRIGGER = "Let's think step by step."
STYLES = ("zero_shot_cot", "two_stage_cot", "zero_shot", "few_shot")
TWO_STAGE = "two_stage_cot"
# Kojima et al.'s answer triggers by answer type (their "Therefore, the answer is" for the rest)
ANSWER_TRIGGERS = {"number": "Therefore, the answer (arabic numerals) is",
                   "yes_no": "Therefore, the answer (Yes or No) is"}


def prompt_version(style: str) -> str:
    """The version of a prompt style's text (part of the evaluation's hash)."""
    return TWO_STAGE_VERSION if style == TWO_STAGE else PROMPT_VERSION


def format_choices(choices: Sequence[str] | None) -> str:
    """'Answer Choices: (A) 5 (B) 6 ...' (a leading 'A)' already in the text is not repeated)."""
    if not choices:
        return ""
    parts = []
    for letter, text in zip(OPTION_LETTERS, choices):
        body = text[2:].strip() if text[:2] == f"{letter})" else text
        parts.append(f"({letter}) {body}")
    return "Answer Choices: " + " ".join(parts)


def render_body(task, example) -> str:
    """The task's template filled with the example's question (and choices)."""
    body = task.template.format(question=example.question.strip(), choices=format_choices(example.choices))
    if example.choices and "{choices}" not in task.template:
        body += "\n" + format_choices(example.choices)
    return body.strip()


def render_question(task, example) -> str:
    """The question (:func:`render_body`) plus the task's answer-format instruction."""
    return f"{render_body(task, example)}\n{task.instruction}".strip()


def answer_trigger(task, example) -> str:
    """The second stage's opening for this task: Kojima et al.'s trigger for its answer type."""
    if task.answer_type == "option":
        letters = OPTION_LETTERS[:len(example.choices or ()) or 5]
        return f"Therefore, among {letters[0]} through {letters[-1]}, the answer is"
    return ANSWER_TRIGGERS.get(task.answer_type, "Therefore, the answer is")


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
    if style == TWO_STAGE:
        return [{"role": "user", "content": render_body(task, example)},
                {"role": "assistant", "content": COT_TRIGGER}]
    question = render_question(task, example)
    if style in ("zero_shot_cot", "few_shot"):
        question += "\n" + COT_TRIGGER
    messages.append({"role": "user", "content": question})
    return messages
