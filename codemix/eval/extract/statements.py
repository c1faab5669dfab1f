"""What an output says about its answer: where it ends, its answer statements, the run that closes it.

An *answer statement* is the text after an answer cue (``\\boxed{..}``, "the answer is ..",
"Answer: ..", "#### ..", or an answer named before its cue: "A is the correct answer."). An
*answer trigger* is the cue of a two-stage prompt's answer stage, as Kojima et al. word it:
"Therefore, the answer (Yes or No) is", "Therefore, the answer (arabic numerals) is",
"Therefore, among A through E, the answer is".
"""

from __future__ import annotations

import re
from typing import NamedTuple, Sequence

_NEXT_TURN = re.compile(r"\n\s*(?:Q|Question|User|Human|Problem|### ?Instruction)\s*\d*\s*[:：]", re.I)
_CUE = re.compile(
    r"\\boxed\s*\{"
    r"|(?<![\w-])(?:final\s+|correct\s+)?answer(?P<hint>\s*\([^)\n]{0,40}\))?"
    r"(?:\s+to\s+(?:the|this)\s+(?:question|problem))?"
    r"\s*(?:is|:|=|would\s+be|should\s+be|will\s+be|equals)(?![\w-])\s*:?"
    r"|\*\*(?:final\s+)?answer\*\*\s*:?|####", re.I)
# what stands before an answer trigger's cue: "Therefore, the", "Therefore, among A through E, the"
_TRIGGER_LEAD = re.compile(r"\btherefore,?\s+(?P<among>among\s+[A-H]\s+through\s+[A-H]\s*,?\s*)?the\s+$", re.I)
_PLACEHOLDER = re.compile(r"^[\s*\"'`(]*[XN](?:[\s*\"'`).]*$|,?\s+(?:which|where)\b)")  # "N, which is the ..."
_NOT_A_STATEMENT = re.compile(r"\b(?:this|that|an|no|whose|which|your)\s+$", re.I)
_STATED_BEFORE = re.compile(  # the answer named before its cue: "A is the correct answer."
    r"(?:^|\n)[ \t]*(?!(?:this|that|it|which|what|here|there|mine|yours)\b)(?P<s>[^\n]{1,40}?)"
    r"[ \t]+is[ \t]+the[ \t]+(?:correct|right|final)[ \t]+answer\b(?![ \t]+(?:is|to)\b)",
    re.I)
# what may stand between two answer statements of one closing run (a list label, "So, the ...")
_RUN_GAP = re.compile(r"\s*(?:\d+[.)]\s*)?(?:(?:so|therefore|thus|hence),?\s*)?(?:the\s+)?", re.I)
_LINE_LABEL = re.compile(r"^\s*(?:\d+[.):]|step\s+\d+\s*:|[-*•])\s*", re.I)
_CUT_OFF = re.compile(r"[\w,(+\-*/=:]\s*$")


class Statement(NamedTuple):
    """The text after one answer cue ("" for a copied placeholder) and where it sits in the output."""

    text: str
    start: int  # where its cue starts
    end: int  # where its line ends
    trigger: bool = False  # its cue is an answer trigger ("the answer (Yes or No) is")


def cut_next_turn(text: str) -> str:
    """The output up to a hallucinated next turn ("\\nQ:", "\\nQuestion:", "\\nUser:", ...)."""
    cut = _NEXT_TURN.search(text)
    return text[:cut.start()] if cut and cut.start() > 0 else text


def closing_brace(text: str, start: int) -> int:
    """Index of the brace that closes the one opened before ``start`` (len(text) if unclosed)."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return len(text)


def _is_trigger(body: str, cue: re.Match) -> bool:
    """Whether an answer cue is an answer trigger: "Therefore," and a format hint with words ("(Yes or No)",
    not "(A)"), or "among A through E"; "The answer (in words) is ..." after it is the model's own."""
    lead = _TRIGGER_LEAD.search(body, max(0, cue.start() - 50), cue.start())
    return bool(lead and (lead.group("among") or re.search(r"[^\W\d_]{2}", cue.group("hint") or "")))


def find_statements(body: str) -> list[Statement]:
    """Every answer statement of ``body``, in order; a copied placeholder ("The answer is X.") is empty.

    A cue talked about rather than stated ("this answer is correct", "no answer is given") and a
    cue left empty at the very end (cut off while stating its answer) make no statement.
    """
    found = []
    for m in _CUE.finditer(body):
        cue = m.group(0)
        if cue.startswith("\\boxed"):
            close = closing_brace(body, m.end())
            found.append(Statement("\\boxed{" + body[m.end():close] + "}", m.start(), close))
            continue
        before = body[max(0, m.start() - 12):m.start()]
        if _NOT_A_STATEMENT.search(before):
            continue
        rest = body[m.end():].lstrip(" \t*:")
        if not rest.strip():
            continue
        line = rest.split("\n", 1)[0]
        end = len(body) - len(rest) + len(line)
        trigger = _is_trigger(body, m)
        if _PLACEHOLDER.match(line):  # the instruction's '"The answer is X." where X is ...' copied
            found.append(Statement("", m.start(), end, trigger))
            continue
        text = line if re.search(r"\w", line) else rest[:200]  # "is\n\n$$\nx = 80"
        found.append(Statement(text, m.start(), end, trigger))
    for m in _STATED_BEFORE.finditer(body):
        found.append(Statement(m.group("s"), m.start("s"), m.end()))
    return sorted(found, key=lambda st: st.start)


def answer_statements(text: str) -> tuple[list[str], str]:
    """(the texts after answer cues, in order; the whole output), cut at any hallucinated next turn.

    A copied placeholder ("The answer is X.") is an empty statement: it defers to an earlier real
    statement, and with none the output stated no answer.
    """
    body = cut_next_turn(text)
    return [st.text for st in find_statements(body)], body


def final_stage(statements: Sequence[Statement]) -> list[Statement]:
    """The last real answer trigger's statement alone (all the statements if there is none).

    A two-stage prompt's answer stage ("Therefore, the answer (Yes or No) is No.") is the output's
    final word: what the reasoning before it stated does not count against it, and what the model wrote
    after it ("... is 15.\n#### 1", a restatement in other words) does not override it.
    """
    last = max((i for i, st in enumerate(statements) if st.trigger and st.text), default=None)
    return list(statements) if last is None else [statements[last]]


def closing_run(statements: Sequence[Statement], body: str) -> list[Statement]:
    """The real statements that close the output one after another (nothing but a lead-in between them).

    "The answer is yes.\\n\\nThe answer is no." closes with two; a statement, more reasoning and a
    revised statement closes with one (the revision).
    """
    real = [st for st in statements if st.text]
    run = real[-1:]
    for st in reversed(real[:-1]):
        if not _RUN_GAP.fullmatch(body[st.end:run[0].start]):
            break
        run.insert(0, st)
    return run


def is_degenerate(text: str) -> bool:
    """A generation that ran away: one line said 5+ times (a loop), or a long text cut off mid-sentence.

    Such an output, if it never states an answer, states none: its last number or word is a
    fragment of the loop, not a conclusion.
    """
    lines = [_LINE_LABEL.sub("", ln).strip().casefold() for ln in text.splitlines()]
    counts: dict[str, int] = {}
    for ln in lines:
        if len(ln) >= 8:
            counts[ln] = counts.get(ln, 0) + 1
            if counts[ln] >= 5:
                return True
    return len(text) > 200 and bool(_CUT_OFF.search(text))
