"""Classifiers: the heuristic against gold labels, the registry, programming-language detection."""

from __future__ import annotations

import json
import re

import pytest

from codemix.data import CLASSIFIERS, Classifier, code_languages, make_classifier, prepare_pool, register
from codemix.data.audit import agreement
from codemix.data.classify import heuristic
from codemix.data.demo import generate_demo_corpus
from codemix.data.ingest import to_conversation
from codemix.spec import ClassifierConfig, DataConfig


def test_heuristic_reads_code_itself_not_just_fences_on_demo_gold_labels():
    """Every demo coding conversation has a code fence: with the fences removed the code must still be seen."""
    records = generate_demo_corpus(300, seed=3)
    convs = [to_conversation(r, "demo", i)[1] for i, r in enumerate(records, 1)]
    unfenced = [[{**t, "content": re.sub(r"^\s*```.*$", "", t["content"], flags=re.M)} for t in c["turns"]]
                for c in convs]
    assert not any("```" in t["content"] for turns in unfenced for t in turns)
    agree = sum(heuristic.label(turns) == r["label"] for turns, r in zip(unfenced, records))
    assert agree / len(records) >= 0.95


def test_heuristic_on_clear_real_cases(shared_data):
    code = json.loads((shared_data / "ift" / "codealpaca" / "code_alpaca_2k.json").read_text())[:200]
    code_turns = [to_conversation(r, "c", i)[1]["turns"] for i, r in enumerate(code, 1)]
    dummy = json.loads((shared_data / "ift" / "fastchat_dummy" / "dummy_conversation.json").read_text())[:100]
    dummy_turns = [to_conversation(r, "d", i)[1]["turns"] for i, r in enumerate(dummy, 1)]
    assert sum(heuristic.label(t) == "coding" for t in code_turns) >= 0.85 * len(code_turns)
    assert all(heuristic.label(t) == "other" for t in dummy_turns)


def test_heuristic_agreement_on_held_out_real_sharegpt(fresh_held_out):
    """Floors on ShareGPT conversations that were labelled by hand and never used to tune the rules.

    Measured on split heldout2 (300 prompts labelled after v3 was final): accuracy 0.897, kappa 0.776,
    coding recall 0.780 / precision 0.988 (on the first held-out split, now dev: 0.860, 0.674).
    """
    truth = [r["label"] for r, _ in fresh_held_out]
    result = agreement(truth, [heuristic.label(c["turns"]) for _, c in fresh_held_out])
    assert result["accuracy"] >= 0.88 and result["kappa"] >= 0.75, result
    assert result["per_class"]["coding"]["recall"] >= 0.76 and result["per_class"]["coding"]["precision"] >= 0.95


@pytest.mark.parametrize("text,expected", [
    ("How to set up amazon ECS", "coding"),  # one named developer tool is the whole question
    ("Can you show an example of how to make an API request with a bearer token?", "coding"),
    ("Is there anyway I can copy `/dev/sda` to vmdk using `dd`?", "coding"),
    ("Web search results:\n\n[1] \"Python is a programming language ... Django, Flask and pandas.\"\n\n"
     "Instructions: write a comprehensive reply to the given query.\nQuery: which electric car sells best in Norway",
     "other"),
    ("Ruby and Min stop at a Holiday Inn for the night and order drinks.", "other"),
    ("i have 23 horses each with 4 legs, along with 14 dogs. how many legs in total do the animals have?", "math"),
    ("Write me the start of a script for a movie scene, with dialogue and stage directions.", "other"),
])
def test_heuristic_reads_the_request(text, expected):
    assert heuristic.label([{"role": "user", "content": text}]) == expected


@pytest.mark.parametrize("text,expected", [
    ("```python\nprint(1)\n```", ["python"]),
    ("```ts\nconst x: number = 1;\n```\n```sql\nSELECT 1\n```", ["javascript", "sql"]),
    ("```\n#include <vector>\nint main() { std::vector<int> v; }\n```", ["cpp"]),
    ("Run this:\n$ ls -la\nsudo apt install git", ["shell"]),
    ("```go\nfunc main() {}\n```", ["other"]),
    ("```\npublic static void main(String[] args) { System.out.println(1); }\n```", ["java"]),
])
def test_code_languages(text, expected):
    assert code_languages([{"role": "user", "content": "help"}, {"role": "assistant", "content": text}]) == expected


def test_language_named_by_the_user_when_no_code():
    assert code_languages([{"role": "user", "content": "How do I read a file in Python?"}]) == ["python"]


def test_registry_declares_a_classifier_and_pool_uses_it(tmp_path):
    @register("all_math_test")
    class AllMath(Classifier):
        version = "t1"

        def labels(self, convs, report):
            return ["math"] * len(convs)

    try:
        cfg = DataConfig(demo_size=40, classifier=ClassifierConfig(name="all_math_test"))
        pool, h, report = prepare_pool(cfg, tmp_path)
        assert set(pool.column("label").to_pylist()) == {"math"}
        assert set(pool.column("classifier").to_pylist()) == {"all_math_test-t1"}
        assert report["classes"] == {"math": pool.num_rows}
        with pytest.raises(ValueError, match="already registered"):
            register("all_math_test")(AllMath)
    finally:
        CLASSIFIERS.pop("all_math_test")
    with pytest.raises(ValueError, match="not registered; known: heuristic, llm, minilm"):
        make_classifier(ClassifierConfig(name="nope"))


def test_bad_label_from_a_classifier_is_an_error(tmp_path):
    @register("bad_label_test")
    class Bad(Classifier):
        def labels(self, convs, report):
            return ["code"] * len(convs)

    try:
        with pytest.raises(ValueError, match="returned 'code' for demo_0_0"):
            prepare_pool(DataConfig(demo_size=10, classifier=ClassifierConfig(name="bad_label_test")), tmp_path)
    finally:
        CLASSIFIERS.pop("bad_label_test")
