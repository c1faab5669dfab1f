"""BIG-bench Date Understanding: infer a date from context, multiple choice (MM/DD/YYYY).

The BIG-bench ``task.json`` gives each example's candidate dates in ``target_scores`` (the one
scored 1 is correct); they are shown as options (A), (B), ... in file order. The generator is
a stand-in: the same kinds of puzzles (yesterday/tomorrow/a week ago/N days later from an
anchor date), with distractors made as BIG-bench's are (off by a day, a month, a year, day
and month swapped). It is not the BIG-bench set and is easier than its calendar-trivia items.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from codemix.eval.extract import OPTION_LETTERS
from codemix.eval.tasks.base import Example, Task, TaskDataError, register_task
from codemix.eval.tasks.files import convert_all, field, read_json, records

DATE_FILE = "Bigbench_Date/task.json"
OFFSETS = {"today": 0, "tomorrow": 1, "yesterday": -1, "one week ago from today": -7, "one week from today": 7,
           "10 days ago": -10, "one year ago from today": None}
ANCHORS = [("Yesterday was {d}.", 1), ("Today is {d}.", 0), ("Tomorrow is {d}.", -1),
           ("Jane's appointment was 3 days ago, on {d}.", 3), ("The meeting is in 2 days, on {d}.", -2)]


def fmt(d: dt.date) -> str:
    """MM/DD/YYYY."""
    return d.strftime("%m/%d/%Y")


def read_date(root: Path) -> list[Example]:
    """BIG-bench's date_understanding task.json: options from ``target_scores``, gold = the letter scored 1."""
    path = root / DATE_FILE
    items = records(read_json(path), path, "examples")

    def convert(i: int, rec) -> Example:
        where = f"example {i}"
        scores = field(rec, "target_scores", path, where, dict)
        choices = tuple(scores)
        correct = [k for k, v in scores.items() if v == 1]
        if len(correct) != 1 or len(choices) > len(OPTION_LETTERS):
            raise TaskDataError(f"{path}: {where}: field 'target_scores' must mark exactly one of at most "
                                f"{len(OPTION_LETTERS)} options with 1, got {scores}")
        return Example(id=f"date_understanding/{i}", question=field(rec, "input", path, where), choices=choices,
                       gold=OPTION_LETTERS[choices.index(correct[0])])
    return convert_all(items, convert, path, "date_understanding")


def _shift_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def generate_date(rng: random.Random) -> Example:
    """A stand-in date puzzle: an anchor sentence plus 'What is the date <when> in MM/DD/YYYY?', 6 options."""
    today = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 75))
    anchor, shift = rng.choice(ANCHORS)
    shown = today - dt.timedelta(days=shift)
    when, offset = rng.choice(list(OFFSETS.items()))
    answer = _shift_years(today, -1) if offset is None else today + dt.timedelta(days=offset)
    candidates = [answer + dt.timedelta(days=1), answer - dt.timedelta(days=1), _shift_years(answer, 1),
                  _shift_years(answer, -1), answer + dt.timedelta(days=30), answer - dt.timedelta(days=7)]
    if answer.day <= 12 and answer.day != answer.month:
        candidates.append(answer.replace(month=answer.day, day=answer.month))
    options = [fmt(answer)] + rng.sample(sorted({fmt(c) for c in candidates} - {fmt(answer)}), 5)
    rng.shuffle(options)
    text = anchor.format(d=shown.strftime("%B %d, %Y").replace(" 0", " "))
    return Example(id="", question=f"{text} What is the date {when} in MM/DD/YYYY?", choices=tuple(options),
                   gold=OPTION_LETTERS[options.index(fmt(answer))],
                   rationale=f"Today is {fmt(today)}, so the date {when} is {fmt(answer)}.")


register_task(Task(
    name="date_understanding", domain="logical", answer_type="option",
    files=(DATE_FILE,), read=read_date, generate=generate_date,
    template="{question}\n{choices}",
    instruction='End your response with "The answer is (X)." where X is the letter of the correct option.',
    description="BIG-bench Date Understanding (369 questions, 5-6 options each).",
))
