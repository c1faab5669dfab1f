"""The steps answer extraction is composed of: small named functions of a ``Reading``.

A chain (``codemix.eval.extract.chains``) is a declared list of step names; ``run`` passes one
``Reading`` through them in order until a step decides (``Reading.decide``); a chain that ends
undecided read no answer. Each step does one thing:

- **output steps** narrow what counts: cut at a hallucinated next turn, find the answer
  statements, keep the final answer stage, keep the closing run, read each statement (by the
  chain's statement steps), and decide when the closing statements agree;
- **statement steps** read one statement: unbox, first sentence, result after "=", the type's
  candidates, no unknown option, no hedge, the first candidate;
- **fallback steps** read outputs that never state an answer: their last mention, unless the
  generation ran away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from codemix.eval.extract import candidates as cands
from codemix.eval.extract import statements as stmts
from codemix.eval.extract.candidates import QUOTED, Candidate
from codemix.eval.extract.normalise import is_correct, normalise_list
from codemix.eval.extract.statements import Statement


@dataclass
class Reading:
    """One text on its way through a chain: what the steps so far made of it."""

    answer_type: str  # how answers compare (``is_correct``)
    text: str  # what is still read: the output, or one statement
    choices: tuple[str, ...] | None = None  # the options, or a word task's vocabulary
    statement_steps: tuple[str, ...] = ()  # how ``read_statements`` reads each statement
    statements: list[Statement] = field(default_factory=list)
    stated: bool = False  # the output makes an answer statement (a placeholder counts): no fallback
    answers: list[str | None] = field(default_factory=list)  # what each closing statement holds
    found: list[Candidate] = field(default_factory=list)  # candidates in ``text``
    answer: str | None = None
    done: bool = False

    def decide(self, answer: str | None) -> Reading:
        """End the chain here with ``answer`` (None: the text states no answer)."""
        self.answer, self.done = answer, True
        return self


Step = Callable[[Reading], Reading]
STEPS: dict[str, Step] = {}


def step(fn: Step) -> Step:
    """Register ``fn`` as a step under its own name."""
    STEPS[fn.__name__] = fn
    return fn


def run(steps: Sequence[str], reading: Reading) -> Reading:
    """Pass ``reading`` through the named steps in order until one decides."""
    for name in steps:
        reading = STEPS[name](reading)
        if reading.done:
            break
    return reading


# ---------------------------------------------------------------------------- output steps


@step
def not_empty(r: Reading) -> Reading:
    """An empty output states no answer."""
    return r if r.text and r.text.strip() else r.decide(None)


@step
def cut_next_turn(r: Reading) -> Reading:
    """Drop what follows a hallucinated next turn ("\\nQ:", "\\nQuestion:", "\\nUser:")."""
    r.text = stmts.cut_next_turn(r.text)
    return r


@step
def find_statements(r: Reading) -> Reading:
    """The output's answer statements, in order (copied placeholders as empty ones)."""
    r.statements = stmts.find_statements(r.text)
    return r


@step
def final_stage(r: Reading) -> Reading:
    """Only the last answer trigger's statement ("Therefore, the answer (Yes or No) is No."), if there is one."""
    r.statements = stmts.final_stage(r.statements)
    return r


@step
def closing_run(r: Reading) -> Reading:
    """Only the real statements that close the output back to back; an output with statements is stated."""
    r.stated = bool(r.statements)
    r.statements = stmts.closing_run(r.statements, r.text)
    return r


@step
def read_statements(r: Reading) -> Reading:
    """The answer each statement holds, read by the chain's statement steps."""
    r.answers = [run(r.statement_steps, Reading(r.answer_type, st.text, r.choices)).answer for st in r.statements]
    return r


@step
def agree(r: Reading) -> Reading:
    """A stated output's answer: the last statement's, unless a closing statement contradicts it."""
    if not r.stated:
        return r
    if not r.answers:
        return r.decide(None)  # only copied placeholders
    last = r.answers[-1]
    if last is not None and any(a is not None and not is_correct(r.answer_type, a, last) for a in r.answers):
        return r.decide(None)  # "The answer is yes. The answer is no.": left open between the two
    return r.decide(last)


@step
def not_degenerate(r: Reading) -> Reading:
    """A run-away generation (a loop, a long output cut off) that states no answer states none."""
    return r.decide(None) if stmts.is_degenerate(r.text) else r


# ---------------------------------------------------------------------------- statement steps


@step
def unbox(r: Reading) -> Reading:
    """'\\boxed{\\text{yes}}' -> 'yes' (for answers that are not numbers)."""
    if r.text.startswith("\\boxed"):
        r.text = re.sub(r"^\\boxed\{(?:\\text\{)?|\}+$", "", r.text)
    return r


_SENTENCE_END = re.compile(r"(?<!\d)\.(?:\s|$)|(?<=\d)\.(?=\s+[A-Z])|[!?;](?:\s|$)")


@step
def first_sentence(r: Reading) -> Reading:
    """The statement up to its first sentence end (a period that is not a decimal point); a box is whole."""
    m = None if r.text.startswith("\\boxed") else _SENTENCE_END.search(r.text)
    if m:
        r.text = r.text[:m.end()]
    return r


@step
def result_after_equals(r: Reading) -> Reading:
    """'30 - 6 = 14 hours' -> ' 14 hours': a worked statement's result."""
    if "=" in r.text:
        r.text = r.text[r.text.rindex("=") + 1:]
    return r


@step
def number_candidates(r: Reading) -> Reading:
    """The numbers the text names."""
    r.found = cands.number_candidates(r.text)
    return r


@step
def option_candidates(r: Reading) -> Reading:
    """The options the statement names, by letter (a bare one at its start too), text, value or date."""
    r.found = cands.option_candidates(r.text, r.choices, statement=True)
    return r


@step
def yes_no_candidates(r: Reading) -> Reading:
    """The yes/no words (and the coin's 'heads up'/'tails up') the text names."""
    r.found = cands.yes_no_candidates(r.text)
    return r


@step
def string_candidates(r: Reading) -> Reading:
    """The letter string the statement gives."""
    r.found = cands.string_candidates(r.text)
    return r


@step
def list_candidates(r: Reading) -> Reading:
    """The comma-separated list the statement gives."""
    r.found = cands.list_candidates(r.text)
    return r


@step
def word_candidates(r: Reading) -> Reading:
    """The vocabulary's words the text names."""
    r.found = cands.word_candidates(r.text, r.choices)
    return r


@step
def known_option(r: Reading) -> Reading:
    """A statement naming a letter that is no option ("(F)" of five) holds no answer."""
    return r.decide(None) if r.found and r.found[0].value == "?" else r


_HEDGE = re.compile(r"\W*(?:\b(?:or|and/or|nor)\b|/)\W*$", re.I)
_BOTH = re.compile(r"\W*\b(?:and|as well as)\b\W*$", re.I)


def hedged(text: str, found: Sequence[Candidate], joiner: re.Pattern = _HEDGE) -> bool:
    """Whether ``text`` names two different answers joined by 'or' ("A or C", "yes or no"), or by ``joiner``."""
    for a, b in zip(found, found[1:]):
        if a.value != b.value and joiner.match(text[a.end:b.start]) and "\n" not in text[a.end:b.start]:
            return True
    return False


@step
def no_hedge(r: Reading) -> Reading:
    """A statement hedging between two answers ("A or C", "yes or no") holds no answer."""
    return r.decide(None) if hedged(r.text, r.found) else r


@step
def one_option(r: Reading) -> Reading:
    """A statement naming two options as the answer ("(C) 29 and (E) Cannot be determined") holds no answer."""
    return r.decide(None) if hedged(r.text, r.found, _BOTH) else r


@step
def take_first(r: Reading) -> Reading:
    """The first candidate is the statement's answer (none: it holds no answer)."""
    return r.decide(r.found[0].value if r.found else None)


# ---------------------------------------------------------------------------- fallback steps
# Each reads the whole output (no answer statement in it) and decides when it finds an answer.

_ENUMERATION = re.compile(r"\b(?:step|question|problem|part|case|option)\s+\d+|^\s*\d+[.)](?:\s|$)", re.I | re.M)
_QUESTION = re.compile(r"[^.!?\n]*(?:\?|\bwhether\b[^.!\n]*)", re.I)
_RESULT_WORD = re.compile(r"(?:=|\bis|:)\s*\**([A-Za-z]{2,15})\**\s*\.?\s*$", re.M)  # "... = yajc"


def _found(r: Reading, answer: str | None) -> Reading:
    return r if answer is None else r.decide(answer)


@step
def drop_enumerations(r: Reading) -> Reading:
    """Blank out labels ("Step 3", "1. ..."): numbers that are not answers."""
    r.text = _ENUMERATION.sub(lambda m: " " * len(m.group(0)), r.text)
    return r


@step
def last_number(r: Reading) -> Reading:
    """The last number; number words count only in sentences without digits ("three days")."""
    last = None
    for sentence in re.split(r"(?<=[.!?])\s+|\n", r.text):
        found = cands.number_candidates(sentence)
        digits = [c for c in found if not re.fullmatch(r"[A-Za-z]+", sentence[c.start:c.end])]
        if digits or found:
            last = (digits or found)[-1].value
    return _found(r, last)


@step
def drop_questions(r: Reading) -> Reading:
    """Blank out questions ("Is it still heads up?", "whether ..."): their yes/no words are not answers."""
    r.text = _QUESTION.sub(" ", r.text)
    return r


@step
def last_yes_no(r: Reading) -> Reading:
    """The last yes/no word."""
    found = cands.yes_no_candidates(r.text)
    return _found(r, found[-1].value if found else None)


@step
def last_marked_option(r: Reading) -> Reading:
    """The last option named by a marked letter ("(C)", "option C"), text, value or date."""
    found = [c for c in cands.option_candidates(r.text, r.choices, statement=False) if c.value != "?"]
    return _found(r, found[-1].value if found else None)


@step
def last_quoted_word(r: Reading) -> Reading:
    """The last quoted word ("'yajc'")."""
    quoted = [m.group(1) for m in QUOTED.finditer(r.text) if re.fullmatch(r"[^\W\d_]{2,15}", m.group(1).strip())]
    return _found(r, quoted[-1].strip() if quoted else None)


@step
def last_result_word(r: Reading) -> Reading:
    """The last word a line ends on after '=', 'is' or ':' ("... = yajc")."""
    result = _RESULT_WORD.findall(r.text)
    return _found(r, result[-1] if result else None)


@step
def last_quoted_list(r: Reading) -> Reading:
    """The last quoted comma-separated list."""
    quoted = [m.group(1) for m in QUOTED.finditer(r.text) if "," in m.group(1)]
    return _found(r, normalise_list(quoted[-1]) if quoted else None)


@step
def last_comma_line(r: Reading) -> Reading:
    """The last line with two commas or more (after its last ':')."""
    lines = [ln for ln in r.text.splitlines() if ln.count(",") >= 2]
    return _found(r, normalise_list(lines[-1].split(":")[-1]) if lines else None)


@step
def last_vocabulary_word(r: Reading) -> Reading:
    """The last word of the closed vocabulary (none without one)."""
    found = cands.word_candidates(r.text, r.choices) if r.choices else []
    return _found(r, found[-1].value if found else None)
