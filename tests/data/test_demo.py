"""The generated demo corpus: deterministic, varied, correctly labelled, with correct arithmetic."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from codemix.data import code_languages, content_hash
from codemix.data.demo import generate_demo_corpus
from codemix.data.ingest import to_conversation

EXPR = re.compile(r"(\d+(?: [-+*/] \d+)+) = (\d+)")


@pytest.fixture(scope="module")
def corpus():
    return generate_demo_corpus(2000, seed=1)


def test_deterministic_and_seeded():
    assert generate_demo_corpus(50, 4) == generate_demo_corpus(50, 4)
    assert generate_demo_corpus(50, 4) != generate_demo_corpus(50, 5)


def test_shares_structure_and_uniqueness(corpus):
    labels = Counter(r["label"] for r in corpus)
    assert abs(labels["coding"] / 2000 - 0.40) < 0.04 and abs(labels["math"] / 2000 - 0.15) < 0.03
    assert {len(r["conversations"]) // 2 for r in corpus} == {1, 2, 3}
    assert all([t["from"] for t in r["conversations"]] == ["human", "gpt"] * (len(r["conversations"]) // 2)
               for r in corpus)
    convs = [to_conversation(r, "demo", i)[1] for i, r in enumerate(corpus, 1)]
    assert len({content_hash(c["turns"]) for c in convs}) >= 0.9 * len(corpus)
    assert len({r["conversations"][0]["value"] for r in corpus}) >= 0.85 * len(corpus)  # varied prompts, too


def test_only_coding_has_fences_with_its_language(corpus):
    for i, r in enumerate(corpus):
        text = "\n".join(t["value"] for t in r["conversations"])
        assert ("```" in text) == (r["label"] == "coding")
        if r["label"] == "coding":
            assert code_languages(to_conversation(r, "demo", i + 1)[1]["turns"]) == [r["language"]]
        else:
            assert r["language"] is None


def test_math_answers_are_worked_and_correct(corpus):
    checked = 0
    for r in corpus:
        answers = [t["value"] for t in r["conversations"] if t["from"] == "gpt"]
        if r["label"] != "math":
            assert not any("The answer is" in a for a in answers)
            continue
        for a in answers:
            final = re.search(r"The answer is (\d+)\.$", a)
            steps = EXPR.findall(a)
            assert final and steps, a
            for expr, value in steps:
                assert eval(expr) == int(value), a  # exact: divisions in the templates are whole
                checked += 1
            assert steps[-1][1] == final.group(1), a
    assert checked > 300
