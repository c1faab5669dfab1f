"""A generated, labelled ShareGPT-format corpus for running the pipeline with no network.

Records look like real ShareGPT dumps (``{"id", "conversations": [{"from", "value"}]}``) plus the
gold ``label`` (coding / math / other) and, for coding, the programming ``language``. Coding
conversations contain fenced code in six languages, math ones worked arithmetic, the rest
general chat; conversations have one to three exchanges. Deterministic for a seed.
"""

from __future__ import annotations

import random

GENERATOR_VERSION = "demo-v1"

_NAMES = ["Alice", "Bob", "Carmen", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena"]
_ITEMS = ["apples", "books", "marbles", "pencils", "stickers", "cookies", "shells", "cards", "coins", "flowers"]
_TOPICS = [
    ("the water cycle", "Water evaporates from oceans, condenses into clouds and falls back as rain or snow."),
    ("photosynthesis", "Plants turn light, water and carbon dioxide into sugar and release oxygen."),
    ("the French Revolution", "It began in 1789 and ended the absolute monarchy in France."),
    ("black holes", "They are regions where gravity is so strong that not even light escapes."),
    ("compound interest", "Interest is added to the principal, so later interest grows on earlier interest."),
    ("the Roman Empire", "It ruled the Mediterranean for centuries and split into east and west in 395."),
    ("volcanoes", "Molten rock rises through cracks in the crust and erupts as lava and ash."),
    ("sleep hygiene", "Keep a regular schedule, a dark room and avoid screens before bed."),
]
_WRITING = ["a short poem about autumn", "a polite email asking for a deadline extension",
            "a product description for a reusable water bottle", "a haiku about the sea",
            "a two-sentence horror story", "a thank-you note to a teacher"]

_CODE = {
    "python": [
        ("reverse a list", "def reverse_list(items):\n    return items[::-1]\n\nprint(reverse_list([1, 2, 3]))"),
        ("count words in a file", "from collections import Counter\n\nwith open('data.txt') as f:\n"
         "    counts = Counter(f.read().split())\nprint(counts.most_common(5))"),
        ("compute a factorial", "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n"
         "        result *= i\n    return result"),
    ],
    "javascript": [
        ("debounce a function", "function debounce(fn, ms) {\n  let t;\n  return (...args) => {\n"
         "    clearTimeout(t);\n    t = setTimeout(() => fn(...args), ms);\n  };\n}"),
        ("fetch JSON from an API", "async function getJson(url) {\n  const res = await fetch(url);\n"
         "  if (!res.ok) throw new Error(res.status);\n  return res.json();\n}"),
    ],
    "sql": [
        ("find the top customers", "SELECT customer_id, SUM(amount) AS total\nFROM orders\n"
         "GROUP BY customer_id\nORDER BY total DESC\nLIMIT 10;"),
        ("join two tables", "SELECT u.name, o.id\nFROM users u\nJOIN orders o ON o.user_id = u.id\n"
         "WHERE o.created_at > '2023-01-01';"),
    ],
    "shell": [
        ("find large files", "find . -type f -size +100M -exec ls -lh {} \\;"),
        ("count lines in all python files", "find . -name '*.py' | xargs wc -l | sort -n | tail -1"),
    ],
    "java": [
        ("check if a string is a palindrome", "public static boolean isPalindrome(String s) {\n"
         "    int i = 0, j = s.length() - 1;\n    while (i < j) {\n"
         "        if (s.charAt(i++) != s.charAt(j--)) return false;\n    }\n    return true;\n}"),
    ],
    "cpp": [
        ("sum a vector", "#include <vector>\n#include <numeric>\n\nint sum(const std::vector<int>& v) {\n"
         "    return std::accumulate(v.begin(), v.end(), 0);\n}"),
    ],
}
_FENCE = {"python": "python", "javascript": "javascript", "sql": "sql", "shell": "bash", "java": "java", "cpp": "cpp"}


def _coding(rng: random.Random) -> tuple[list[tuple[str, str]], str]:
    language = rng.choice(sorted(_CODE))
    task, code = rng.choice(_CODE[language])
    pretty = {"cpp": "C++", "sql": "SQL", "javascript": "JavaScript"}.get(language, language.capitalize())
    ask = rng.choice([f"How do I {task} in {pretty}?", f"Write {pretty} code to {task}.",
                      f"Can you show me how to {task} using {pretty}?"])
    answer = (f"Here is one way to {task} in {pretty}:\n\n```{_FENCE[language]}\n{code}\n```\n\n"
              f"It is short and easy to adapt.")
    turns = [(ask, answer)]
    if rng.random() < 0.5:
        turns.append(("Can you explain how it works?",
                      f"Sure. The code above does the following: it is a small {pretty} snippet that "
                      f"solves the task to {task} step by step, without extra libraries."))
    if rng.random() < 0.25:
        turns.append(("I get an error when I run it.",
                      "Check the input you pass in. A common cause is a wrong type; print the value before "
                      "the call to see what it holds."))
    return turns, language


def _math(rng: random.Random) -> list[tuple[str, str]]:
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    a, b, c = rng.randint(3, 60), rng.randint(2, 30), rng.randint(2, 9)
    total = (a + b) * c
    ask = (f"{name} has {a} {item} and buys {b} more. Then {name} gets {c} times as many in total. "
           f"How many {item} does {name} have now?")
    answer = (f"Let's think step by step. First, {a} + {b} = {a + b}. Then {a + b} * {c} = {total}. "
              f"The answer is {total}.")
    turns = [(ask, answer)]
    if rng.random() < 0.4:
        d = rng.randint(1, max(1, total - 1))
        turns.append((f"And if {name} gives away {d}?", f"{total} - {d} = {total - d}. The answer is {total - d}."))
    return turns


def _other(rng: random.Random) -> list[tuple[str, str]]:
    if rng.random() < 0.5:
        topic, fact = rng.choice(_TOPICS)
        turns = [(rng.choice([f"Can you explain {topic}?", f"Tell me about {topic}.", f"What is {topic}?"]),
                  f"Of course. {fact} In short, {topic} is worth understanding because it shapes everyday life.")]
        if rng.random() < 0.5:
            turns.append(("Give me one more detail.", f"Here is another point about {topic}: scientists and "
                          "historians still study it, and new findings appear every year."))
        return turns
    task = rng.choice(_WRITING)
    name = rng.choice(_NAMES)
    return [(f"Please write {task}.", f"Here is {task}, written for {name}:\n\nThe light is soft, the day is long, "
             f"and every small thing has its song.")]


def generate_demo_corpus(size: int = 600, seed: int = 0, coding_share: float = 0.4,
                         math_share: float = 0.15) -> list[dict]:
    """Generate ``size`` labelled ShareGPT records: about 40% coding, 15% math, the rest other."""
    rng = random.Random(f"{GENERATOR_VERSION}:{seed}")
    records = []
    for i in range(size):
        r = rng.random()
        language = None
        if r < coding_share:
            label = "coding"
            turns, language = _coding(rng)
        elif r < coding_share + math_share:
            label, turns = "math", _math(rng)
        else:
            label, turns = "other", _other(rng)
        conversations = []
        for human, gpt in turns:
            conversations += [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]
        records.append({"id": f"demo_{seed}_{i}", "conversations": conversations,
                        "label": label, "language": language})
    return records
