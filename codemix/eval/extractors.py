"""Answer extractors: objects that read the final answers of many model outputs at once.

    extractor.extract_many([(answer_type, output, choices), ...]) -> [Extraction(answer, by), ...]

``RulesExtractor`` applies the answer rules (``codemix.eval.extract``); ``LLMExtractor``
(``codemix.eval.llm_extract``) asks a model; ``CascadeExtractor`` asks the LLM only where the
rules find no answer. Scoring (``codemix.eval.scoring``) is handed one of them; build the
configured one with ``scoring.make_extractor(eval_cfg)``.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, Sequence

from codemix.eval.extract import extract_answer

Item = tuple[str, str, Sequence[str] | None]  # (answer type, model output, options or vocabulary)


class Extraction(NamedTuple):
    """The answer read from one output (None: it states none) and which extractor read it."""

    answer: str | None
    by: str


class Extractor(Protocol):
    """Anything that reads answers from outputs, in order."""

    name: str

    def extract_many(self, items: Sequence[Item]) -> list[Extraction]: ...


class RulesExtractor:
    """The answer rules: offline, deterministic, free."""

    name = "rules"

    def extract_many(self, items: Sequence[Item]) -> list[Extraction]:
        """Rule-based answers for (answer_type, output, choices) triples."""
        return [Extraction(extract_answer(t, o, c), "rules") for t, o, c in items]


class CascadeExtractor:
    """Rules first; the LLM reads only the outputs where the rules find no answer."""

    name = "cascade"

    def __init__(self, llm: Extractor, rules: Extractor | None = None):
        self.llm, self.rules = llm, rules or RulesExtractor()

    def extract_many(self, items: Sequence[Item]) -> list[Extraction]:
        """Rule answers, with the LLM's where the rules found none."""
        found = self.rules.extract_many(items)
        todo = [i for i, e in enumerate(found) if e.answer is None]
        if todo:
            for i, e in zip(todo, self.llm.extract_many([items[i] for i in todo])):
                found[i] = e
        return found
