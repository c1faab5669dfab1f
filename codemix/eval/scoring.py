"""Scoring: extract the answers of model outputs with a given extractor and compare them with gold.

    extractor = make_extractor(eval_cfg)                  # rules, llm or cascade, as configured
    scored = score_many([(task, example, output), ...], extractor)
    scored[0].extracted, scored[0].correct, scored[0].by

The sweep (``runner.score``) and ``codemix eval agreement`` both score through ``score_many``,
so an output gets the same extraction wherever it is scored: the options come from the
example, a word task's vocabulary from the task.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from codemix.eval.extract import is_correct
from codemix.eval.extractors import CascadeExtractor, Extractor, RulesExtractor
from codemix.eval.llm_extract import LLMExtractor

EXTRACTORS = ("rules", "llm", "cascade")


class Scored(NamedTuple):
    """One scored output: the answer read from it, whether it matches gold, which extractor read it."""

    extracted: str | None
    correct: bool
    by: str


def make_extractor(eval_cfg, name: str | None = None) -> Extractor:
    """The extractor ``name`` (default: ``eval_cfg.extractor``) with the config's LLM settings."""
    name = name or eval_cfg.extractor
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; use one of {', '.join(EXTRACTORS)}")
    if name == "rules":
        return RulesExtractor()
    llm = LLMExtractor.from_config(eval_cfg)
    return llm if name == "llm" else CascadeExtractor(llm)


def task_choices(task, example) -> tuple[str, ...] | None:
    """What the extractor should know of the possible answers: the options, or the task's vocabulary."""
    return tuple(example.choices) if example.choices else (tuple(task.vocabulary) if task.vocabulary else None)


def score_many(items: Iterable[tuple], extractor: Extractor) -> list[Scored]:
    """Score (task, example, output) triples with one extractor (one batch: LLM requests go out together)."""
    items = list(items)
    kinds = [task.extractor or task.answer_type for task, _, _ in items]
    found = extractor.extract_many([(k, output or "", task_choices(task, ex))
                                    for k, (task, ex, output) in zip(kinds, items)])
    return [Scored(e.answer, is_correct(k, e.answer, ex.gold), e.by) for e, k, (_, ex, _) in zip(found, kinds, items)]


def score_output(task, example, output: str, extractor: Extractor) -> Scored:
    """Score one model output."""
    return score_many([(task, example, output)], extractor)[0]
