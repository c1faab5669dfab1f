"""CLUTRR: infer a kinship relation from a short family story (Sinha et al. 2019, HF 1.0 test CSVs).

The CSV's ``story`` puts names in [brackets]; ``query`` is a tuple string ``('A', 'B')`` and
``target_text`` is how B is related to A ("B is A's <target_text>"). The generator builds
CLUTRR-style chains of 2-4 family facts and composes them with the same rules CLUTRR uses
(a parent's sibling is an uncle/aunt, a spouse's parent an in-law, ...).
"""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

from codemix.eval.tasks.base import Example, Task, TaskDataError, register_task
from codemix.eval.tasks.files import convert_all, read_csv
from codemix.eval.tasks.hub import hub_loader
from codemix.eval.tasks.words import FEMALE_NAMES, MALE_NAMES

CLUTRR_FILE = "clutrr/gen_train23_test2to10/test.csv"
RELATIONS = ("father", "mother", "son", "daughter", "brother", "sister", "husband", "wife", "grandfather",
             "grandmother", "grandson", "granddaughter", "uncle", "aunt", "nephew", "niece", "father-in-law",
             "mother-in-law", "son-in-law", "daughter-in-law")
QUESTION = "How is {b} related to {a}? ({b} is {a}'s what?)"

# (male word, female word) for a primitive step or a composed chain of steps.
WORDS = {
    ("parent",): ("father", "mother"), ("child",): ("son", "daughter"), ("sibling",): ("brother", "sister"),
    ("spouse",): ("husband", "wife"), ("parent", "parent"): ("grandfather", "grandmother"),
    ("child", "child"): ("grandson", "granddaughter"), ("parent", "sibling"): ("uncle", "aunt"),
    ("sibling", "child"): ("nephew", "niece"), ("spouse", "parent"): ("father-in-law", "mother-in-law"),
    ("child", "spouse"): ("son-in-law", "daughter-in-law"),
}
# chains that collapse: my sibling's parent is my parent, my child's sibling my child, ...
REDUCE = {("sibling", "parent"): "parent", ("child", "sibling"): "child", ("spouse", "child"): "child",
          ("parent", "spouse"): "parent", ("sibling", "sibling"): None}
SENTENCES = {
    "parent": ["{b} is the {w} of {a}.", "{a} went shopping with {poss} {w}, {b}."],
    "child": ["{a} has a {w} called {b}.", "{a} took {poss} {w} {b} to the park."],
    "sibling": ["{b} is {a}'s {w}.", "{a} and {poss} {w} {b} watched a movie together."],
    "spouse": ["{a} and {poss} {w} {b} went on a cruise.", "{b} is {a}'s {w}."],
}


def compose(steps: tuple[str, ...]) -> tuple[str, ...] | None:
    """Reduce a chain of primitive steps to a WORDS key, or None when CLUTRR has no single word for it."""
    steps = list(steps)
    changed = True
    while changed and len(steps) > 1:
        changed = False
        for i in range(len(steps) - 1):
            pair = (steps[i], steps[i + 1])
            if pair in REDUCE:
                if REDUCE[pair] is None:
                    return None
                steps[i:i + 2] = [REDUCE[pair]]
                changed = True
                break
    key = tuple(steps)
    return key if key in WORDS else None


def generate_clutrr(rng: random.Random) -> Example:
    """A chain of 2-4 facts between distinct people; the answer is the composed relation of the last to the first."""
    while True:
        steps = tuple(rng.choice(["parent", "child", "sibling", "spouse"]) for _ in range(rng.choice([2, 3, 4])))
        key = compose(steps)
        if key is not None:
            break
    genders = [rng.choice("mf") for _ in range(len(steps) + 1)]
    for i, s in enumerate(steps):  # spouses are of the opposite gender, as in CLUTRR's stories
        if s == "spouse":
            genders[i + 1] = "f" if genders[i] == "m" else "m"
    pools = {"m": rng.sample(MALE_NAMES, len(genders)), "f": rng.sample(FEMALE_NAMES, len(genders))}
    names = [pools[g][i] for i, g in enumerate(genders)]
    facts = []
    for i, s in enumerate(steps):
        w = WORDS[(s,)][genders[i + 1] == "f"]
        poss = "his" if genders[i] == "m" else "her"
        facts.append(rng.choice(SENTENCES[s]).format(a=names[i], b=names[i + 1], w=w, poss=poss))
    answer = WORDS[key][genders[-1] == "f"]
    return Example(id="", question=" ".join(facts) + " " + QUESTION.format(a=names[0], b=names[-1]), gold=answer,
                   rationale=" ".join(facts) + f" So {names[-1]} is {names[0]}'s {answer}.")


def clutrr_example(row: dict, source: str, where: str) -> Example:
    """One CLUTRR row (CSV or hub record) as an Example; errors name the source, row and column."""
    for col in ("story", "query", "target_text"):
        if not str(row.get(col) or "").strip():
            raise TaskDataError(f"{source}: {where}: empty or missing column {col!r}")
    try:
        a, b = ast.literal_eval(row["query"]) if isinstance(row["query"], str) else row["query"]
    except (ValueError, SyntaxError, TypeError):
        raise TaskDataError(f"{source}: {where}: column 'query' is not a ('A', 'B') tuple: "
                            f"{row['query']!r}") from None
    story = re.sub(r"\[([^\]]+)\]", r"\1", row["story"]).strip()
    return Example(id=f"clutrr/{row.get('id', where)}", question=f"{story} {QUESTION.format(a=a, b=b)}",
                   gold=row["target_text"].strip().lower())


def read_clutrr(root: Path) -> list[Example]:
    """The CLUTRR test CSV: story without brackets + the question; gold is ``target_text``."""
    path = root / CLUTRR_FILE

    def convert(i: int, item) -> Example:
        rowno, row = item
        return clutrr_example(row, str(path), f"row {rowno} (id {row.get('id', '?')})")
    return convert_all(list(read_csv(path)), convert, path, "clutrr")


register_task(Task(
    name="clutrr", domain="logical", answer_type="word",
    files=(CLUTRR_FILE,), read=read_clutrr, generate=generate_clutrr, vocabulary=RELATIONS,
    hub=hub_loader("CLUTRR/v1", "gen_train23_test2to10", "test",
                   lambda i, r: clutrr_example(r, "CLUTRR/v1", f"record {i}")),
    instruction='End your response with "The answer is X." where X is one kinship word such as '
                '"niece", "grandfather" or "son-in-law".',
    description="CLUTRR kinship inference, clause lengths 2-10 (1146 test stories).",
))
