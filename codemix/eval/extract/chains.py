"""The extraction chains: per answer type, the declared list of steps that reads an output's answer.

Every chain reads the same way and differs only in its statement and fallback steps:

1. **An answer statement decides** (``STATED``): cut at a hallucinated next turn, find the
   answer statements, keep the final answer stage (from the last answer trigger on), keep the
   closing run, read each statement, and decide by the last one unless a closing statement
   contradicts it. A statement that holds no valid answer for the type or hedges between two
   is no answer: ``None``, never a guess from elsewhere.
2. **Only outputs that never state an answer** reach the fallback (``UNSTATED`` then the type's
   fallback steps): the last mention in the whole output, unless the generation ran away.

A task picks its chain by name (``Task.extractor``, default its answer type); ``declare`` adds one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from codemix.eval.extract.normalise import ANSWER_TYPES
from codemix.eval.extract.steps import STEPS, Reading, run

EXTRACT_VERSION = "rules-v4"  # bump when what the chains read changes; v2: the final answer trigger wins; v3: names;
# v4: only the trigger's statement counts (not what follows it), two options joined by 'and' are no answer

STATED = ("not_empty", "cut_next_turn", "find_statements", "final_stage", "closing_run", "read_statements", "agree")
UNSTATED = ("not_degenerate",)


@dataclass(frozen=True)
class Chain:
    """How one kind of output is read: ``steps`` for the output, ``statement`` for each answer statement."""

    name: str
    answer_type: str  # how the chain's answers compare (``is_correct``)
    steps: tuple[str, ...]
    statement: tuple[str, ...]

    def read(self, text: str, choices: Sequence[str] | None = None) -> Reading:
        """The output read by this chain (``.answer``: what it states, None if nothing)."""
        return run(self.steps, Reading(self.answer_type, text, tuple(choices) if choices else None, self.statement))

    def read_statement(self, statement: str, choices: Sequence[str] | None = None) -> str | None:
        """The answer one answer statement holds; None if it holds no valid one or hedges between two."""
        return run(self.statement, Reading(self.answer_type, statement, tuple(choices) if choices else None)).answer


CHAINS: dict[str, Chain] = {}


def declare(name: str, statement: Sequence[str], fallback: Sequence[str], answer_type: str | None = None) -> Chain:
    """Register the chain ``name``: ``STATED`` reading its statements by ``statement``, then ``UNSTATED``
    and ``fallback``."""
    chain = Chain(name, answer_type or name, (*STATED, *UNSTATED, *fallback), tuple(statement))
    unknown = [s for s in (*chain.steps, *chain.statement) if s not in STEPS]
    if unknown:
        raise ValueError(f"chain {name!r}: no step named {', '.join(unknown)}")
    if chain.answer_type not in ANSWER_TYPES:
        raise ValueError(f"chain {name!r}: answer type {chain.answer_type!r} not one of {ANSWER_TYPES}")
    CHAINS[name] = chain
    return chain


declare("number", statement=("first_sentence", "result_after_equals", "number_candidates", "no_hedge", "take_first"),
        fallback=("drop_enumerations", "last_number"))
declare("option", statement=("unbox", "first_sentence", "option_candidates", "known_option", "no_hedge", "one_option",
        "take_first"),
        fallback=("last_marked_option",))
declare("yes_no", statement=("unbox", "first_sentence", "yes_no_candidates", "no_hedge", "take_first"),
        fallback=("drop_questions", "last_yes_no"))
declare("string", statement=("unbox", "first_sentence", "string_candidates", "no_hedge", "take_first"),
        fallback=("last_quoted_word", "last_result_word"))
declare("list", statement=("unbox", "first_sentence", "list_candidates", "no_hedge", "take_first"),
        fallback=("last_quoted_list", "last_comma_line"))
declare("word", statement=("unbox", "first_sentence", "word_candidates", "no_hedge", "take_first"),
        fallback=("last_vocabulary_word",))


def get_chain(name: str) -> Chain:
    """The chain declared as ``name`` (an answer type, or a task's own extractor)."""
    if name not in CHAINS:
        raise ValueError(f"no extraction rules for answer type {name!r}; known: {', '.join(CHAINS)}")
    return CHAINS[name]


def extract_answer(answer_type: str, text: str, choices: Sequence[str] | None = None) -> str | None:
    """The answer a model output states, by the chain for its type; None when it states none.

    ``choices`` are the option texts for "option" and the closed vocabulary for "word".
    """
    return get_chain(answer_type).read(text, choices).answer


def read_statement(answer_type: str, statement: str, choices: Sequence[str] | None = None) -> str | None:
    """The answer one answer statement holds; None if it holds no valid one or hedges between two."""
    return get_chain(answer_type).read_statement(statement, choices)
