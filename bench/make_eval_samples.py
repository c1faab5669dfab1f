"""Rebuild codemix/eval/samples/: fixed 50-question subsets of the public task files whose licences
allow redistribution (see codemix/eval/samples/README.md), in each release's own file format, so
the task readers parse them unchanged. Reads ../shared/data/reasoning (the byte-identical public
copies); run from the repository root:  python bench/make_eval_samples.py
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("CODEMIX_SHARED_DATA", REPO.parent / "shared" / "data")) / "reasoning"
OUT = REPO / "codemix" / "eval" / "samples"
N = 50


def pick(n_items: int, salt: str) -> list[int]:
    return sorted(random.Random(f"codemix-samples:{salt}").sample(range(n_items), min(N, n_items)))


def jsonl(rel: str) -> None:
    lines = [ln for ln in (SRC / rel).read_text(encoding="utf-8").splitlines() if ln.strip()]
    write(rel, "".join(lines[i] + "\n" for i in pick(len(lines), rel)))


def json_list(rel: str) -> None:
    items = json.loads((SRC / rel).read_text(encoding="utf-8"))
    write(rel, json.dumps([items[i] for i in pick(len(items), rel)], indent=1, ensure_ascii=False) + "\n")


def bigbench(rel: str) -> None:
    task = json.loads((SRC / rel).read_text(encoding="utf-8"))  # metadata (the canary string too) is kept
    task["examples"] = [task["examples"][i] for i in pick(len(task["examples"]), rel)]
    write(rel, json.dumps(task, indent=1, ensure_ascii=False) + "\n")


def babi(rel: str) -> None:
    stories, current = [], []
    for line in (SRC / rel).read_text(encoding="utf-8").splitlines():
        if line.startswith("1 ") and current:
            stories.append(current)
            current = []
        current.append(line)
    stories.append(current)
    chosen, questions = [], 0
    for i in pick(len(stories), rel) + [i for i in range(len(stories))]:  # whole stories until N questions
        if questions >= N:
            break
        if i not in chosen:
            chosen.append(i)
            questions += sum("\t" in ln for ln in stories[i])
    write(rel, "".join(ln + "\n" for i in sorted(chosen) for ln in stories[i]))


def write(rel: str, text: str) -> None:
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"{path.relative_to(REPO)}: {len(text):,} bytes")


if __name__ == "__main__":
    if not SRC.is_dir():
        sys.exit(f"{SRC} not found")
    jsonl("grade-school-math/test.jsonl")
    json_list("SVAMP/SVAMP.json")
    jsonl("AQuA/test.json")
    bigbench("Bigbench_Date/task.json")
    babi("babi/en/qa15_basic-deduction_test.txt")
    babi("babi/en/qa16_basic-induction_test.txt")
