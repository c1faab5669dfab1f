"""Prompts: zero-shot CoT by default, plain zero-shot and few-shot as options, right pieces in each."""

from __future__ import annotations

import hashlib
import json

import pytest

from codemix.eval.prompts import (
    COT_TRIGGER,
    PROMPT_VERSION,
    answer_trigger,
    build_messages,
    format_choices,
    prompt_version,
)
from codemix.eval.tasks import Example, get_task, resolve_suite


@pytest.mark.parametrize("name", resolve_suite("paper12"))
def test_zero_shot_cot_has_question_instruction_and_trigger(name):
    task = get_task(name)
    ex = task.load(None, 1, 0)[0]
    messages = build_messages(task, ex)
    assert [m["role"] for m in messages] == ["user"]
    text = messages[0]["content"]
    assert text.startswith(ex.question.strip()[:40])
    assert task.instruction in text and text.endswith(COT_TRIGGER)
    assert text.index(ex.question.strip()[-20:]) < text.index(task.instruction) < text.index(COT_TRIGGER)
    if ex.choices:
        assert "Answer Choices: (A) " in text and all(c.split(")", 1)[-1] in text for c in ex.choices)
    if task.answer_type != "yes_no":  # its instruction names both answers
        assert f"answer is {ex.gold}" not in text and f"({ex.gold})." not in text  # no leaked answer


def test_choices_are_lettered_once():
    assert format_choices(["A)$61", "B)$65"]) == "Answer Choices: (A) $61 (B) $65"
    assert format_choices(["05/01/2021", "02/23/2021"]) == "Answer Choices: (A) 05/01/2021 (B) 02/23/2021"
    assert format_choices(None) == ""


def test_zero_shot_has_no_trigger_and_few_shot_has_demonstrations():
    task = get_task("gsm8k")
    ex = task.load(None, 1, 0)[0]
    plain = build_messages(task, ex, "zero_shot")
    assert len(plain) == 1 and COT_TRIGGER not in plain[0]["content"]
    shots = task.shots(3, seed=0)
    few = build_messages(task, ex, "few_shot", shots)
    assert [m["role"] for m in few] == ["user", "assistant"] * 3 + ["user"]
    for shot, answer in zip(shots, few[1:6:2]):
        assert answer["content"].endswith(f"The answer is {shot.gold}.")
        assert shot.rationale in answer["content"]
    assert few[-1]["content"] == build_messages(task, ex)[0]["content"]
    option = get_task("aqua")
    demo = build_messages(option, option.load(None, 1, 0)[0], "few_shot", option.shots(1, 0))[1]["content"]
    assert demo.endswith(f"The answer is ({option.shots(1, 0)[0].gold}).")
    with pytest.raises(ValueError, match="prompt style"):
        build_messages(task, ex, "chain")


# The prompt text of each PROMPT_VERSION. Changing a template, instruction, trigger or the choice format changes
# the fingerprint: bump PROMPT_VERSION (it is part of every evaluation's hash) and record the new pair here.
PROMPT_FINGERPRINTS = {"2024-zs-cot-v1": "e487d7ba2f2b20dc", "kojima-2stage-v1": "e6c294f5edd247e2"}


def prompt_fingerprint(styles=("zero_shot_cot", "zero_shot", "few_shot")) -> str:
    """sha256 of every paper12 task's prompts in ``styles`` (with the two-stage answer triggers), for
    placeholder examples (not generator output)."""
    parts = []
    for name in resolve_suite("paper12"):
        task = get_task(name)
        choices = ("first option", "second option") if task.answer_type == "option" else None
        ex = Example(id="x", question="<question>", gold="<gold>", choices=choices, rationale="<rationale>")
        for style in styles:
            parts.append(json.dumps(build_messages(task, ex, style, shots=[ex] if style == "few_shot" else ())))
            if style == "two_stage_cot":
                parts.append(answer_trigger(task, ex))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@pytest.mark.parametrize("style", ["zero_shot_cot", "two_stage_cot"])
def test_prompt_text_changes_come_with_a_new_prompt_version(style):
    version = prompt_version(style)
    styles = ("two_stage_cot",) if style == "two_stage_cot" else ("zero_shot_cot", "zero_shot", "few_shot")
    assert version in PROMPT_FINGERPRINTS, f"record prompt version {version!r} in PROMPT_FINGERPRINTS"
    assert prompt_fingerprint(styles) == PROMPT_FINGERPRINTS[version], (
        f"the prompt text changed but its version is still {version!r}: bump it and record "
        f"{prompt_fingerprint(styles)!r} for the new version")


def test_two_stage_prompt_asks_no_answer_format_and_triggers_by_answer_type():
    """Kojima et al.'s protocol: the question alone, the assistant turn opened with the CoT trigger; the second
    stage's trigger names the answer type (numerals, Yes or No, the options' letters)."""
    ex = Example(id="x", question="Is 7 odd?", gold="yes")
    messages = build_messages(get_task("coin_flip"), ex, "two_stage_cot")
    assert [m["role"] for m in messages] == ["user", "assistant"] and messages[1]["content"] == COT_TRIGGER
    assert "answer is" not in messages[0]["content"].lower() and "Is 7 odd?" in messages[0]["content"]
    assert answer_trigger(get_task("gsm8k"), ex) == "Therefore, the answer (arabic numerals) is"
    assert answer_trigger(get_task("coin_flip"), ex) == "Therefore, the answer (Yes or No) is"
    aqua = Example(id="y", question="q", gold="B", choices=("1", "2", "3", "4", "5"))
    assert answer_trigger(get_task("aqua"), aqua) == "Therefore, among A through E, the answer is"
    assert answer_trigger(get_task("last_letter_concat"), ex) == "Therefore, the answer is"
    assert prompt_version("two_stage_cot") != prompt_version("zero_shot_cot") == PROMPT_VERSION
