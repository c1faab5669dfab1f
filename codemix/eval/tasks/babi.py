"""bAbI task 15 (basic deduction) and 16 (basic induction), from the 1k English v1.2 release.

The text format: numbered lines, numbering restarting at 1 for each story; a question line is
``N question<TAB>answer<TAB>supporting line numbers``. Each question is asked over the story's
facts so far. The generators follow bAbI's own templates (same species, colours and names).
"""

from __future__ import annotations

import random
from pathlib import Path

from codemix.eval.tasks.base import Example, Task, TaskDataError, register_task

SPECIES_15 = {"mouse": "Mice", "sheep": "Sheep", "wolf": "Wolves", "cat": "Cats"}
NAMES_15 = ["Winona", "Jessica", "Emily", "Gertrude"]
SPECIES_16 = ["swan", "lion", "frog", "rhino"]
COLOURS_16 = ["gray", "green", "white", "yellow"]
NAMES_16 = ["Lily", "Bernhard", "Greg", "Brian", "Julius"]


def read_babi(rel: str, task: str):
    """A reader for one bAbI .txt file at ``data_dir/rel``: one Example per question line."""
    def read(root: Path) -> list[Example]:
        path = root / rel
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise TaskDataError(f"{path}: file not found") from None
        out, facts, story = [], [], 0
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            num, _, text = line.partition(" ")
            if not num.isdigit():
                raise TaskDataError(f"{path}: line {lineno}: expected 'N text', got {line[:60]!r}")
            if num == "1":
                facts, story = [], story + 1
            if "\t" not in text:
                facts.append(text.strip())
                continue
            parts = text.split("\t")
            if len(parts) < 2 or not parts[1].strip():
                raise TaskDataError(f"{path}: line {lineno}: question line without an answer field")
            question = " ".join(facts) + " " + parts[0].strip()
            out.append(Example(id=f"{task}/{story}-{num}", question=question, gold=parts[1].strip().lower()))
        return out
    return read


def generate_deduction(rng: random.Random) -> Example:
    """bAbI-15 template: four 'Xs are afraid of Ys' rules, four 'N is a X' facts, one question."""
    species = list(SPECIES_15)
    fears = {s: rng.choice([t for t in species if t != s]) for s in species}
    members = {n: rng.choice(species) for n in NAMES_15}
    facts = [f"{SPECIES_15[s]} are afraid of {SPECIES_15[t].lower()}." for s, t in fears.items()]
    facts += [f"{n} is a {s}." for n, s in members.items()]
    rng.shuffle(facts)
    name = rng.choice(NAMES_15)
    answer = fears[members[name]]
    return Example(id="", question=" ".join(facts) + f" What is {name.lower()} afraid of?", gold=answer,
                   rationale=f"{name} is a {members[name]}. {SPECIES_15[members[name]]} are afraid of "
                             f"{SPECIES_15[answer].lower()}. So {name} is afraid of {SPECIES_15[answer].lower()}.")


def generate_induction(rng: random.Random) -> Example:
    """bAbI-16 template: four named animals with species and colour, a fifth of a shared species; its colour?"""
    names = rng.sample(NAMES_16, 5)
    colour_of = dict(zip(SPECIES_16, rng.sample(COLOURS_16, 4)))
    known = {n: rng.choice(SPECIES_16) for n in names[:4]}
    target, species = names[4], rng.choice(sorted(set(known.values())))
    facts = []
    for n, s in known.items():
        facts += [f"{n} is a {s}.", f"{n} is {colour_of[s]}."]
    rng.shuffle(facts)
    facts.insert(rng.randrange(len(facts) + 1), f"{target} is a {species}.")
    peer = next(n for n, s in known.items() if s == species)
    return Example(id="", question=" ".join(facts) + f" What color is {target}?", gold=colour_of[species],
                   rationale=f"{target} is a {species}. {peer} is a {species} and is {colour_of[species]}, "
                             f"so {target} is probably {colour_of[species]}.")


register_task(Task(
    name="babi15_deduction", domain="logical", answer_type="word",
    files=("babi/en/qa15_basic-deduction_test.txt",),
    read=read_babi("babi/en/qa15_basic-deduction_test.txt", "babi15_deduction"),
    read_shots=read_babi("babi/en/qa15_basic-deduction_train.txt", "babi15_deduction_train"),
    generate=generate_deduction, generated_is_real=False, vocabulary=tuple(SPECIES_15),
    instruction='End your response with "The answer is X." where X is one animal (singular).',
    description="bAbI task 15, basic deduction (1000 test questions).",
))

register_task(Task(
    name="babi16_induction", domain="logical", answer_type="word",
    files=("babi/en/qa16_basic-induction_test.txt",),
    read=read_babi("babi/en/qa16_basic-induction_test.txt", "babi16_induction"),
    read_shots=read_babi("babi/en/qa16_basic-induction_train.txt", "babi16_induction_train"),
    generate=generate_induction, vocabulary=tuple(COLOURS_16),
    instruction='End your response with "The answer is X." where X is one color.',
    description="bAbI task 16, basic induction (1000 test questions).",
))
