"""Symbolic tasks: last/first letter concatenation, reverse list, coin flip.

All four were generated in the first place (Kojima et al. 2022; SymbolicReasoningBenchLLM), so
the generators here follow the same templates. First-letter concatenation and reverse list have
no public test files, only 10-example samples: their generator is their real source.
"""

from __future__ import annotations

import random
from pathlib import Path

from codemix.eval.extract import normalise_gold
from codemix.eval.tasks.base import Example, Task, register_task
from codemix.eval.tasks.files import convert_all, field, read_json, records
from codemix.eval.tasks.words import FIRST_NAMES, OBJECTS

N_WORDS = 4  # names per letter-concatenation question, as in the public sets
N_OBJECTS = 5  # objects per reverse-list question
N_FLIPPERS = 4  # people per coin-flip question


def read_qa(rel: str, task: str, answer_type: str, key: str | None = None):
    """A reader for a ``[{question, answer}]`` (or ``{key: [...]}``) JSON file at ``data_dir/rel``."""
    def read(root: Path) -> list[Example]:
        path = root / rel
        items = records(read_json(path), path, key)

        def convert(i: int, rec) -> Example:
            where = f"record {i}"
            gold = normalise_gold(answer_type, field(rec, "answer", path, where))
            return Example(id=f"{task}/{i}", question=field(rec, "question", path, where), gold=gold)
        return convert_all(items, convert, path, task)
    return read


def _names(rng: random.Random, n: int) -> list[str]:
    return rng.sample(FIRST_NAMES, n)


def generate_last_letters(rng: random.Random) -> Example:
    """Kojima et al.'s template: four first names, answer their last letters joined (lower case)."""
    names = _names(rng, N_WORDS)
    answer = "".join(n[-1] for n in names).lower()
    steps = " ".join(f'The last letter of "{n}" is "{n[-1]}".' for n in names)
    return Example(id="", question=f'Take the last letters of each words in "{" ".join(names)}" and concatenate them.',
                   gold=answer, rationale=f'{steps} Concatenating them is "{answer}".')


def generate_first_letters(rng: random.Random) -> Example:
    """SymbolicReasoningBenchLLM's template: four first names, answer their initials joined (upper case)."""
    names = _names(rng, N_WORDS)
    answer = "".join(n[0] for n in names).upper()
    steps = " ".join(f'The first letter of "{n}" is "{n[0]}".' for n in names)
    return Example(id="", question=f'Take the first letters of the words in "{" ".join(names)}" and concatenate them.',
                   gold=answer, rationale=f'{steps} Concatenating them is "{answer}".')


def generate_reverse_list(rng: random.Random) -> Example:
    """SymbolicReasoningBenchLLM's template: five objects (repeats allowed), answer the reversed list."""
    items = [rng.choice(OBJECTS) for _ in range(N_OBJECTS)]
    answer = ", ".join(reversed(items))
    return Example(id="", question=f'Reverse the sequence "{", ".join(items)}".', gold=normalise_gold("list", answer),
                   rationale=f'The last item is "{items[-1]}", then "{items[-2]}", and so on back to "{items[0]}".')


def generate_coin_flip(rng: random.Random) -> Example:
    """Kojima et al.'s template: four people flip or do not flip; heads up iff the flips are even."""
    names = _names(rng, N_FLIPPERS)
    flips = [rng.random() < 0.5 for _ in names]
    text = " ".join(f"{n} flips the coin." if f else f"{n} does not flip the coin." for n, f in zip(names, flips))
    answer = "yes" if sum(flips) % 2 == 0 else "no"
    return Example(id="", question=f'A coin is heads up. {text} Is the coin still heads up? '
                                   f'Note that "flip" here means "reverse".', gold=answer,
                   rationale=f"The coin was flipped {sum(flips)} time(s), an {'even' if answer == 'yes' else 'odd'} "
                             f"number, so it is {'still' if answer == 'yes' else 'no longer'} heads up.")


register_task(Task(
    name="last_letter_concat", domain="symbolic", answer_type="string",
    files=("last_letters/last_letters.json",),
    read=read_qa("last_letters/last_letters.json", "last_letter_concat", "string", key="examples"),
    generate=generate_last_letters,
    instruction='End your response with "The answer is X." where X is the concatenated letters.',
    description="Concatenate the last letters of four names (Kojima et al. 2022, 500 questions).",
))

register_task(Task(
    name="first_letter_concat", domain="symbolic", answer_type="string",
    files=("first_letter_concatenation/example.json",),
    read=read_qa("first_letter_concatenation/example.json", "first_letter_concat", "string"),
    generate=generate_first_letters, generated_is_real=True,
    instruction='End your response with "The answer is X." where X is the concatenated letters.',
    description="Concatenate the first letters of four names (generated; the public file is a 10-item sample).",
))

register_task(Task(
    name="reverse_list", domain="symbolic", answer_type="list",
    files=("reverse_list/example.json",),
    read=read_qa("reverse_list/example.json", "reverse_list", "list"),
    generate=generate_reverse_list, generated_is_real=True,
    instruction='End your response with "The answer is X." where X is the reversed, comma-separated list.',
    description="Reverse a list of five objects (generated; the public file is a 10-item sample).",
))

register_task(Task(
    name="coin_flip", domain="symbolic", answer_type="yes_no",
    files=("coin_flip/coin_flip.json",),
    read=read_qa("coin_flip/coin_flip.json", "coin_flip", "yes_no", key="examples"),
    generate=generate_coin_flip,
    instruction='End your response with "The answer is yes." or "The answer is no."',
    description="Is a coin still heads up after four people flip it or not (Kojima et al. 2022, 500 questions).",
))
