"""Arithmetic tasks: GSM8K, SVAMP, MultiArith and AQuA-RAT (the files of Kojima et al.'s release).

Offline twins: MultiArith's generator follows its own two-step templates. The GSM8K, SVAMP and
AQuA generators are STAND-INS: templated problems of comparable shape (GSM8K: 3-4 step money,
rate and percent problems; SVAMP: one-step problems with reversed questions and an irrelevant
number; AQuA: five-option algebra, speed, interest and average problems). They are not the
benchmarks and are probably easier; use the real files (``data_dir``) for reported numbers.
Every generated rationale is a chain of ``a op b = c`` steps whose last result is the answer.
"""

from __future__ import annotations

import random
from pathlib import Path

from codemix.eval.extract import OPTION_LETTERS, normalise_gold, normalise_number
from codemix.eval.tasks.arith_templates import GSM8K_TEMPLATES, MULTIARITH_TEMPLATES, SVAMP_TEMPLATES, aqua_problem
from codemix.eval.tasks.base import Example, Task, TaskDataError, register_task
from codemix.eval.tasks.files import convert_all, field, read_json, read_jsonl, records
from codemix.eval.tasks.hub import hub_loader

NUMBER_INSTRUCTION = 'End your response with "The answer is N." where N is a number.'
OPTION_INSTRUCTION = 'End your response with "The answer is (X)." where X is the letter of the correct option.'


def _number_gold(value, path: Path, where: str, name: str) -> str:
    gold = normalise_number(value) if isinstance(value, (int, float, str)) else None
    if gold is None:
        raise TaskDataError(f"{path}: {where}: field {name!r} is not a number: {value!r:.60}")
    return gold


def _generator(templates):
    def generate(rng: random.Random) -> Example:
        question, steps = rng.choice(templates)(rng)
        rationale = " ".join(f"{a} {op} {b} = {c}." for a, op, b, c in steps)
        return Example(id="", question=question, gold=normalise_gold("number", steps[-1][3]), rationale=rationale)
    return generate


def generate_aqua(rng: random.Random) -> Example:
    """A stand-in five-option problem; gold is the letter of the computed value."""
    question, steps, options, letter = aqua_problem(rng)
    return Example(id="", question=question, choices=tuple(options), gold=letter,
                   rationale=" ".join(f"{a} {op} {b} = {c}." for a, op, b, c in steps))


# ---------------------------------------------------------------------------- readers


def read_gsm8k(root: Path) -> list[Example]:
    """GSM8K test.jsonl: ``question``; the gold number follows ``#### `` in ``answer``."""
    path = root / "grade-school-math/test.jsonl"

    def convert(i: int, item) -> Example:
        lineno, rec = item
        where = f"line {lineno}"
        answer = field(rec, "answer", path, where)
        if "####" not in answer:
            raise TaskDataError(f"{path}: {where}: field 'answer' has no '#### <number>' final answer")
        gold = _number_gold(answer.rsplit("####", 1)[1].strip(), path, where, "answer")
        return Example(id=f"gsm8k/{lineno - 1}", question=field(rec, "question", path, where), gold=gold,
                       rationale=answer.rsplit("####", 1)[0].strip())
    return convert_all(list(read_jsonl(path)), convert, path, "gsm8k")


def read_svamp(root: Path) -> list[Example]:
    """SVAMP.json: question = ``Body`` + " " + ``Question``, gold = ``Answer``."""
    path = root / "SVAMP/SVAMP.json"

    def convert(i: int, rec) -> Example:
        where = f"record {i}"
        body, q = field(rec, "Body", path, where).strip(), field(rec, "Question", path, where).strip()
        gold = _number_gold(field(rec, "Answer", path, where, (int, float)), path, where, "Answer")
        return Example(id=f"svamp/{rec.get('ID', i)}", question=f"{body.rstrip('.')}. {q}" if body else q, gold=gold)
    return convert_all(records(read_json(path), path), convert, path, "svamp")


def read_multiarith(root: Path) -> list[Example]:
    """MultiArith.json: ``sQuestion``, gold = ``lSolutions[0]``."""
    path = root / "MultiArith/MultiArith.json"

    def convert(i: int, rec) -> Example:
        where = f"record {i}"
        solutions = field(rec, "lSolutions", path, where, list)
        if not solutions:
            raise TaskDataError(f"{path}: {where}: field 'lSolutions' is empty")
        gold = _number_gold(solutions[0], path, where, "lSolutions[0]")
        return Example(id=f"multiarith/{rec.get('iIndex', i)}", question=field(rec, "sQuestion", path, where).strip(),
                       gold=gold)
    return convert_all(records(read_json(path), path), convert, path, "multiarith")


def read_aqua(root: Path) -> list[Example]:
    """AQuA test.json (JSONL despite the name): ``question``, ``options`` ["A)..", ..], gold = ``correct``."""
    path = root / "AQuA/test.json"

    def convert(i: int, item) -> Example:
        lineno, rec = item
        where = f"line {lineno}"
        options = field(rec, "options", path, where, list)
        correct = field(rec, "correct", path, where).strip().upper()
        letters = OPTION_LETTERS[: len(options)]
        if correct not in letters or len(correct) != 1:
            raise TaskDataError(f"{path}: {where}: field 'correct' = {correct!r} is not one of {', '.join(letters)}")
        return Example(id=f"aqua/{lineno - 1}", question=field(rec, "question", path, where),
                       choices=tuple(str(o) for o in options), gold=correct, rationale=rec.get("rationale", ""))
    return convert_all(list(read_jsonl(path)), convert, path, "aqua")


def _hub_number(qkey: str, akey: str, prefix: str):
    def convert(i: int, rec: dict) -> Example:
        answer = str(rec[akey]).rsplit("####", 1)[-1]
        return Example(id=f"{prefix}/{i}", question=rec[qkey], gold=normalise_gold("number", answer.strip()))
    return convert


register_task(Task(
    name="gsm8k", domain="arithmetic", answer_type="number",
    files=("grade-school-math/test.jsonl",), read=read_gsm8k, generate=_generator(GSM8K_TEMPLATES),
    hub=hub_loader("openai/gsm8k", "main", "test", _hub_number("question", "answer", "gsm8k")),
    instruction=NUMBER_INSTRUCTION, description="GSM8K grade-school math (1319 test problems).",
))

register_task(Task(
    name="svamp", domain="arithmetic", answer_type="number",
    files=("SVAMP/SVAMP.json",), read=read_svamp, generate=_generator(SVAMP_TEMPLATES),
    hub=hub_loader("ChilleD/SVAMP", None, "test", lambda i, r: Example(
        id=f"svamp/{r.get('ID', i)}", question=f"{r['Body'].rstrip('.')}. {r['Question']}",
        gold=normalise_gold("number", r["Answer"]))),
    instruction=NUMBER_INSTRUCTION, description="SVAMP one-step problems with variations (1000 problems).",
))

register_task(Task(
    name="multiarith", domain="arithmetic", answer_type="number",
    files=("MultiArith/MultiArith.json",), read=read_multiarith, generate=_generator(MULTIARITH_TEMPLATES),
    hub=hub_loader("ChilleD/MultiArith", None, "test", _hub_number("question", "final_ans", "multiarith")),
    instruction=NUMBER_INSTRUCTION, description="MultiArith two-step problems (600 problems).",
))

register_task(Task(
    name="aqua", domain="arithmetic", answer_type="option",
    files=("AQuA/test.json",), read=read_aqua, generate=generate_aqua, template="{question}\n{choices}",
    hub=hub_loader("deepmind/aqua_rat", "raw", "test", lambda i, r: Example(
        id=f"aqua/{i}", question=r["question"], choices=tuple(r["options"]), gold=r["correct"].strip().upper())),
    instruction=OPTION_INSTRUCTION, description="AQuA-RAT algebra word problems, five options (254 test problems).",
))
