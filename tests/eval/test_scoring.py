"""Scoring in the sweep and in ``codemix eval agreement`` is one code path: the stored options make a
prediction re-score exactly as it was scored; ``first_stop`` cuts generations where the sampling says."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from pydantic import ValidationError

from codemix.eval import RulesExtractor, get_task, score
from codemix.eval.cli import re_extract
from codemix.eval.generate import first_stop
from codemix.results.schema import PREDICTIONS_SCHEMA
from codemix.spec import SamplingConfig

DATES = ["05/04/2003", "05/05/2003", "04/04/2003"]
AQUA = ["A)$61", "B)$65", "C)$67.40", "D)$70", "E)$78.20"]


def _row(task: str, output: str, gold: str, choices=None) -> dict:
    return {"task": task, "domain": get_task(task).domain, "example_id": f"{task}/1", "gold": gold,
            "choices": json.dumps(choices), "messages": "[]", "output": output}


def test_predictions_keep_options_and_rescore_as_the_sweep_scored():
    rows = [_row("date_understanding", "So 10 days ago would be May 4th, 2003.", "A", DATES),
            _row("aqua", "The original price was $78.20.", "E", AQUA),
            _row("aqua", "The answer is (B) or (E).", "E", AQUA),
            _row("babi15_deduction", "Sheep fear wolves. The answer is 18.", "wolf")]
    predictions, scores = score(rows, RulesExtractor())
    assert [(p["extracted"], p["correct"]) for p in predictions] == [("A", True), ("E", True), (None, False),
                                                                     (None, False)]
    assert predictions[0]["choices"] == DATES and predictions[3]["choices"] is None
    assert {s["task"]: s["n_correct"] for s in scores} == {"aqua": 1, "babi15_deduction": 0, "date_understanding": 1}
    stored = pa.Table.from_pylist(predictions, schema=pa.schema([f for f in PREDICTIONS_SCHEMA
                                                                if f.name in predictions[0]])).to_pylist()
    assert re_extract(stored, "rules") == [p["extracted"] for p in predictions]


def test_generations_are_cut_at_the_earliest_stop_string():
    text = "The answer is 4.\nQ: next question\nUser: more"
    assert text[:first_stop(text, ["\nUser:", "\nQ:"])] == "The answer is 4."
    assert first_stop(text, ["\nQuestion:"]) == len(text)  # absent stop strings change nothing
    assert first_stop(text, []) == len(text)
    assert first_stop("Q: at once", ["Q:"]) == 0


def test_an_empty_stop_string_is_refused():
    with pytest.raises(ValidationError, match="stop"):
        SamplingConfig(stop=["\nQ:", ""])  # "" would cut every generation to nothing
