"""The 12 paper tasks: real files load with the README's counts; generators are deterministic,
respect limits and produce verifiably correct gold answers; suites resolve; bad files fail clearly."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest

from codemix.eval import OPTION_LETTERS
from codemix.eval.tasks import TaskDataError, get_task, list_tasks, resolve_suite

PAPER12 = ["first_letter_concat", "last_letter_concat", "reverse_list", "coin_flip", "clutrr", "babi15_deduction",
           "babi16_induction", "date_understanding", "gsm8k", "svamp", "multiarith", "aqua"]
# records per file, from shared/data/README.md section 1
README_COUNTS = {"last_letter_concat": 500, "coin_flip": 500, "clutrr": 1146, "babi15_deduction": 1000,
                 "babi16_induction": 1000, "date_understanding": 369, "gsm8k": 1319, "svamp": 1000,
                 "multiarith": 600, "aqua": 254, "first_letter_concat": 10, "reverse_list": 10}


@pytest.fixture(scope="module")
def reasoning(shared_data):
    return shared_data / "reasoning"


def test_paper12_suite_has_four_tasks_per_domain():
    names = resolve_suite("paper12")
    assert names == PAPER12
    domains = [get_task(n).domain for n in names]
    assert domains == ["symbolic"] * 4 + ["logical"] * 4 + ["arithmetic"] * 4
    smoke = resolve_suite("smoke3")
    assert sorted(get_task(n).domain for n in smoke) == ["arithmetic", "logical", "symbolic"]
    assert set(PAPER12) <= set(list_tasks())


def test_resolve_suite_from_yaml_list_and_errors(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("tasks: [gsm8k, smoke3]\n")
    assert resolve_suite(str(f)) == ["gsm8k", "coin_flip", "babi15_deduction", "multiarith"]
    assert resolve_suite(["aqua", "svamp"]) == ["aqua", "svamp"]
    assert resolve_suite("aqua,svamp") == ["aqua", "svamp"]
    with pytest.raises(KeyError, match="gsm9k.*nope|nope.*gsm9k"):
        resolve_suite(["gsm9k", "aqua", "nope"])
    with pytest.raises(FileNotFoundError):
        resolve_suite(str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize("name", PAPER12)
def test_real_files_load_with_readme_counts(name, reasoning):
    task = get_task(name)
    examples = task.read_all(reasoning)
    assert len(examples) == README_COUNTS[name]
    assert len({e.id for e in examples}) == len(examples)
    assert all(isinstance(e.gold, str) and e.gold and e.question for e in examples)
    if task.answer_type == "option":
        assert all(e.choices and e.gold in OPTION_LETTERS[: len(e.choices)] for e in examples)
    if task.vocabulary:
        assert {e.gold for e in examples} <= set(task.vocabulary)
    sub = task.load(reasoning, limit=7, seed=3)
    assert len(sub) == 7 and sub == task.load(reasoning, limit=7, seed=3)
    if not task.generated_is_real:
        assert set(sub) <= set(examples)
        assert sub != task.load(reasoning, limit=7, seed=4)


def test_real_records_parse_to_the_documented_answers(reasoning):
    gsm = get_task("gsm8k").read_all(reasoning)
    assert gsm[0].gold == "18" and gsm[0].question.startswith("Janet")
    aqua = get_task("aqua").read_all(reasoning)
    assert aqua[1].gold == "E" and aqua[1].choices[4] == "E)$78.20"
    date = get_task("date_understanding").read_all(reasoning)
    assert date[0].choices[OPTION_LETTERS.index(date[0].gold)] == "05/01/2021"
    clutrr = get_task("clutrr").read_all(reasoning)
    assert clutrr[0].gold == "grandson" and "[" not in clutrr[0].question
    assert "How is Lewis related to Jason?" in clutrr[0].question
    babi = get_task("babi15_deduction").read_all(reasoning)
    assert babi[0].gold == "wolf" and babi[0].question.endswith("What is emily afraid of?")
    assert babi[0].question.count(".") == 8  # the story's 8 facts precede the question
    svamp = get_task("svamp").read_all(reasoning)
    assert svamp[0].gold == "51" and "How much do you have to pay" in svamp[0].question
    assert get_task("multiarith").read_all(reasoning)[0].gold == "39"
    assert get_task("last_letter_concat").read_all(reasoning)[0].gold == "yajo"


def _skeleton(question: str) -> str:
    """A question with its names, quoted words and flip actions blanked out."""
    return re.sub(r'"[^"]*"', '""', re.sub(r"[A-Z][a-z]* (does not flip|flips)", "X acts", question))


def test_generators_match_the_public_sample_formats(reasoning):
    """First-letter and reverse-list have only samples: the generator must write the same questions."""
    for name in ("first_letter_concat", "reverse_list", "last_letter_concat", "coin_flip"):
        task = get_task(name)
        real = task.read_all(reasoning)[0].question
        generated = task.load(None, 1, 0)[0].question
        assert _skeleton(generated) == _skeleton(real), (name, generated, real)


@pytest.mark.parametrize("name", PAPER12)
def test_generator_is_deterministic_and_respects_limit(name):
    task = get_task(name)
    a, b = task.load(None, limit=20, seed=7), task.load(None, limit=20, seed=7)
    assert a == b and len(a) == 20
    assert len({e.question for e in a}) == 20
    assert task.load(None, limit=20, seed=8) != a
    assert task.load(None, limit=5, seed=7) == a[:5]
    if task.vocabulary:
        assert {e.gold for e in a} <= set(task.vocabulary)


@pytest.mark.parametrize("name", PAPER12)
def test_shots_never_overlap_the_test_examples(name):
    task = get_task(name)
    test = {e.question for e in task.load(None, limit=200, seed=0)}
    shots = task.shots(5, seed=0)
    assert len(shots) == 5 and not test & {s.question for s in shots}
    assert shots == task.shots(5, seed=0) and task.shots(0, 0) == []


def test_babi_shots_come_from_the_train_file(reasoning):
    task = get_task("babi16_induction")
    shots = task.shots(3, seed=0, data_dir=reasoning)
    test = {e.question for e in task.read_all(reasoning)}
    assert len(shots) == 3 and all(s.id.startswith("babi16_induction_train/") for s in shots)
    assert not test & {s.question for s in shots}


# ---------------------------------------------------------------------------- generated gold is right


def _names(q: str) -> list[str]:
    return re.search(r'"([^"]+)"', q).group(1).split()


def test_generated_symbolic_gold_is_correct():
    for e in get_task("last_letter_concat").load(None, 100, 1):
        assert e.gold == "".join(n[-1] for n in _names(e.question)).lower()
    for e in get_task("first_letter_concat").load(None, 100, 1):
        assert e.gold == "".join(n[0] for n in _names(e.question)).upper()
    for e in get_task("reverse_list").load(None, 100, 1):
        items = re.search(r'"([^"]+)"', e.question).group(1).split(", ")
        assert len(items) == 5 and e.gold == ", ".join(reversed(items))
    golds = set()
    for e in get_task("coin_flip").load(None, 100, 1):
        flips = len(re.findall(r"\w+ flips the coin", e.question))
        assert flips + len(re.findall(r"does not flip", e.question)) == 4
        assert e.gold == ("yes" if flips % 2 == 0 else "no")
        golds.add(e.gold)
    assert golds == {"yes", "no"}


def test_generated_babi_gold_is_correct():
    plural = {"mice": "mouse", "sheep": "sheep", "wolves": "wolf", "cats": "cat"}
    for e in get_task("babi15_deduction").load(None, 100, 2):
        fears = {plural[a.lower()]: plural[b] for a, b in re.findall(r"(\w+) are afraid of (\w+)\.", e.question)}
        member = dict(re.findall(r"(\w+) is a (\w+)\.", e.question))
        who = re.search(r"What is (\w+) afraid of\?", e.question).group(1).capitalize()
        assert e.gold == fears[member[who]]
    for e in get_task("babi16_induction").load(None, 100, 2):
        species = dict(re.findall(r"(\w+) is a (\w+)\.", e.question))
        colour = {n: c for n, c in re.findall(r"(\w+) is (\w+)\.", e.question) if c != "a"}
        who = re.search(r"What color is (\w+)\?", e.question).group(1)
        assert who not in colour
        peers = {colour[n] for n, s in species.items() if s == species[who] and n in colour}
        assert peers == {e.gold}


def test_generated_clutrr_gold_follows_kinship_rules():
    from codemix.eval.tasks.clutrr import compose

    assert compose(("parent", "sibling")) == ("parent", "sibling")  # uncle / aunt
    assert compose(("parent", "spouse", "sibling")) == ("parent", "sibling")
    assert compose(("sibling", "parent")) == ("parent",)
    assert compose(("child", "parent")) is None  # self or spouse: ambiguous, never generated
    examples = get_task("clutrr").load(None, 200, 3)
    assert len({e.gold for e in examples}) >= 12
    e = next(x for x in examples if x.gold in ("uncle", "aunt"))
    assert re.search(r"How is (\w+) related to (\w+)\?", e.question)


def _check_steps(rationale: str) -> str:
    steps = re.findall(r"(-?\d+) ([-+*/]) (-?\d+) = (-?\d+)\.", rationale)
    assert steps, rationale
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: Fraction(a, b)}
    for a, op, b, c in steps:
        assert ops[op](int(a), int(b)) == int(c), (a, op, b, c)
    return steps[-1][3]


@pytest.mark.parametrize("name", ["gsm8k", "svamp", "multiarith"])
def test_generated_arithmetic_gold_is_recomputed(name):
    examples = get_task(name).load(None, 100, 4)
    for e in examples:
        assert _check_steps(e.rationale) == e.gold
        first = re.match(r"(-?\d+)", e.rationale).group(1)
        assert first in e.question.replace(",", "") or name == "gsm8k"
    n_steps = [len(re.findall(" = ", e.rationale)) for e in examples]
    assert {"gsm8k": min(n_steps) >= 3, "svamp": max(n_steps) == 1, "multiarith": set(n_steps) == {2}}[name]


def test_generated_aqua_and_date_gold_are_the_right_option():
    import datetime as dt

    for e in get_task("aqua").load(None, 100, 5):
        value = _check_steps(e.rationale)
        assert len(e.choices) == 5 and e.choices["ABCDE".index(e.gold)] == f"{e.gold}){value}"
        assert len(set(e.choices)) == 5
    for e in get_task("date_understanding").load(None, 100, 5):
        today = dt.datetime.strptime(re.search(r"Today is (\S+),", e.rationale).group(1), "%m/%d/%Y").date()
        anchor = re.search(r"([A-Z][a-z]+ \d+, \d{4})", e.question).group(1)
        shown = dt.datetime.strptime(anchor, "%B %d, %Y").date()
        shift = {"Yesterday was": 1, "Today is": 0, "Tomorrow is": -1, "3 days ago": 3, "in 2 days": -2}
        (delta,) = [v for k, v in shift.items() if k in e.question]
        assert shown == today - dt.timedelta(days=delta)
        assert e.choices[OPTION_LETTERS.index(e.gold)] == re.search(r"is (\S+)\.$", e.rationale).group(1)


# ---------------------------------------------------------------------------- bad input


def test_bad_records_name_file_record_and_field(tmp_path):
    (tmp_path / "AQuA").mkdir()
    good = {"question": "q", "options": ["A)1", "B)2"], "correct": "B"}
    (tmp_path / "AQuA" / "test.json").write_text(json.dumps(good) + "\n" + json.dumps({**good, "correct": "Z"}) + "\n")
    with pytest.raises(TaskDataError, match=r"AQuA/test.json: line 2: field 'correct' = 'Z'"):
        get_task("aqua").read_all(tmp_path)
    (tmp_path / "MultiArith").mkdir()
    (tmp_path / "MultiArith" / "MultiArith.json").write_text(json.dumps([{"sQuestion": "q", "lSolutions": []}]))
    with pytest.raises(TaskDataError, match=r"MultiArith.json: record 0: field 'lSolutions' is empty"):
        get_task("multiarith").read_all(tmp_path)
    (tmp_path / "grade-school-math").mkdir()
    gsm = tmp_path / "grade-school-math" / "test.jsonl"
    gsm.write_text('{"question": "q", "answer": "no marker"}\n')
    with pytest.raises(TaskDataError, match=r"test.jsonl: line 1: field 'answer' has no '#### <number>'"):
        get_task("gsm8k").read_all(tmp_path)
    gsm.write_text('{"question": "q", "answer": "#### 3"}\n\n{oops\n')
    with pytest.raises(TaskDataError, match=r"test.jsonl: line 3 is not valid JSON"):
        get_task("gsm8k").read_all(tmp_path)
    with pytest.raises(TaskDataError, match=r"missing .*SVAMP/SVAMP.json"):
        get_task("svamp").load(tmp_path)


def test_hub_needs_a_declared_dataset():
    with pytest.raises(TaskDataError, match="babi15_deduction.*no hub dataset"):
        get_task("babi15_deduction").load("hub")
    with pytest.raises(TaskDataError, match="needs a data_dir"):
        get_task("gsm8k").read_all(None)
