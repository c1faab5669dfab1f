"""Accuracy of the rule-based answer extractor on the hand-labelled model outputs in
tests/eval/extraction_cases.jsonl (chain-of-thought answers in many phrasings, wrong and
unanswerable ones included), per answer type.

    python bench/bench_extract.py [--cases FILE] [--show-misses]

A case counts as right when the extractor returns the labelled answer (after normalisation),
or returns None for an output that states no answer.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from codemix.eval import extract_answer, is_correct

CASES = Path(__file__).resolve().parents[1] / "tests" / "eval" / "extraction_cases.jsonl"


def load_cases(path: Path = CASES) -> list[dict]:
    """The labelled cases: {answer_type, output, gold_extraction (None = no answer), choices?}."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def agrees(case: dict, got: str | None) -> bool:
    """Whether an extraction matches the case's label."""
    want = case["gold_extraction"]
    if want is None or got is None:
        return want is None and got is None
    return is_correct(case["answer_type"], got, want)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    total, right = Counter(), Counter()
    t0 = time.perf_counter()
    for c in cases:
        got = extract_answer(c["answer_type"], c["output"], c.get("choices"))
        ok = agrees(c, got)
        total[c["answer_type"]] += 1
        right[c["answer_type"]] += ok
        if not ok and args.show_misses:
            print(f"MISS [{c['answer_type']}] got={got!r} want={c['gold_extraction']!r}: {c['output'][:120]!r}")
    seconds = time.perf_counter() - t0
    print(f"{'answer type':<12} {'n':>5} {'accuracy':>9}")
    for t in sorted(total):
        print(f"{t:<12} {total[t]:>5} {right[t] / total[t]:>9.1%}")
    n = sum(total.values())
    print(f"{'ALL':<12} {n:>5} {sum(right.values()) / n:>9.1%}   ({n / seconds:,.0f} outputs/s)")


if __name__ == "__main__":
    main()
