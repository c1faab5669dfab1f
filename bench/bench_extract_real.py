"""The answer rules on real model outputs: GPT-3 zero-shot-CoT logs and the hand-judged SmolLM2 held-out set.

    python bench/bench_extract_real.py --kojima-logs DIR [--heldout tests/eval/real_outputs_heldout.jsonl]

``--kojima-logs``: the ``log/`` folder of kojima-takeshi188/zero_shot_cot (text-davinci-002
zero-shot-CoT outputs with gold answers and the authors' own answer cleansing). That repository
has no licence, so its logs are read where you put them (e.g. ``git clone`` it) and never
committed here. Each output is the reasoning plus the authors' answer-extraction completion
("Therefore, the answer (Yes or No) is ..."). Per dataset it prints the authors' accuracy, the
rules' accuracy, how often the rules agree where the authors' scoring is correct, how many
outputs the rules credit although the authors' cleansing found no answer in them (credited
non-answers), how many the rules find no answer in, and how many of those the authors' cleansing
read an answer from (ref only: an upper bound on what a cascade's LLM would be asked to add).

``--heldout``: hand-judged real outputs (default: tests/eval/real_outputs_heldout.jsonl, SmolLM2):
agreement of the rules with the human judgement per task, credited non-answers (the judge found
no answer, the rules scored the output correct) and the cascade's job (outputs where the rules
find nothing but the judge found an answer: what an LLM extractor would add). With
``--kojima-logs`` the same table is printed for bench/kojima_judged.jsonl, a hand-judged sample of
the odd (held-out) GPT-3 records, stored as (log, record index, judged answer) only.

It uses only ``extract_answer`` and ``is_correct``, so an older checkout can run it for a
before/after comparison: ``PYTHONPATH=/path/to/old/checkout python bench/bench_extract_real.py ...``.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

try:
    from codemix.eval import extract_answer, is_correct
except ImportError:  # a checkout from before the eval package API
    from codemix.eval.extract import extract_answer, is_correct

KOJIMA = {  # log name -> (answer type, codemix task it matches, or "")
    "strategyqa": ("yes_no", ""), "coin_flip": ("yes_no", "coin_flip"), "gsm8k": ("number", "gsm8k"),
    "svamp": ("number", "svamp"), "multiarith": ("number", "multiarith"), "addsub": ("number", ""),
    "singleeq": ("number", ""), "aqua": ("option", "aqua"), "date_understanding": ("option", "date_understanding"),
    "commonsensqa": ("option", ""), "shuffled_objects": ("option", ""),
    "last_letters": ("string", "last_letter_concat"),
}
RECORD = re.compile(r"\nQ: (?P<q>.*?)\nA: (?P<a>.*?)\npred_before :(?P<before>.*?)\npred_after :(?P<after>.*?)\n"
                    r"pred_list :.*?\npred_mode :(?P<mode>.*?)\nGT :(?P<gt>.*?)\n", re.S)
BENCH = Path(__file__).resolve().parent
KOJIMA_JUDGED = BENCH / "kojima_judged.jsonl"  # (log, record index, judged answer): no log text
HELDOUT = BENCH.parent / "tests" / "eval" / "real_outputs_heldout.jsonl"
CHOICE = re.compile(r"\(([A-F])\)\s*(.*?)(?=\s*\([A-F]\)|$)", re.S)


def read_kojima_log(path: Path) -> list[dict]:
    """Records of one zero-shot-CoT log: output text, choices, the authors' extraction and the gold answer."""
    out = []
    for m in RECORD.finditer(path.read_text()):
        q = m.group("q")
        choices = [c.strip() for _, c in CHOICE.findall(q.split("Answer Choices:", 1)[1])] if "Answer Choices:" in q \
            else None
        output = m.group("a").strip()
        output = output[len("Let's think step by step."):].strip() if output.startswith("Let's think") else output
        out.append({"output": output, "choices": choices, "reference": m.group("mode").strip() or None,
                    "gold": m.group("gt").strip()})
    return out


def kojima_table(log_dir: Path, split: str = "all", show: int = 0) -> None:
    """Per-dataset rules vs the authors' scoring on the GPT-3 logs (``split``: even records "dev", odd "heldout")."""
    print(f"{'dataset':<20} {'n':>5} {'ref acc':>8} {'rules acc':>9} {'agree|ref ok':>12} {'credited none':>13} "
          f"{'rules none':>10} {'ref only':>8}")
    total = Counter()
    for name, (kind, _) in KOJIMA.items():
        path = log_dir / f"{name}_zero_shot_cot.log"
        if not path.exists():
            continue
        c = Counter()
        for i, r in enumerate(read_kojima_log(path)):
            if split != "all" and (i % 2 == 0) != (split == "dev"):
                continue
            got = extract_answer(kind, r["output"], r["choices"])
            ref_ok = is_correct(kind, r["reference"], r["gold"])
            ok = is_correct(kind, got, r["gold"])
            c.update(n=1, ref_ok=ref_ok, ok=ok, agree_ref_ok=ref_ok and ok, credited_none=r["reference"] is None and ok,
                     rules_none=got is None, ref_only=got is None and r["reference"] is not None)
            if show and ref_ok != ok and c["shown"] < show:
                c["shown"] += 1
                print(f"  [{name} #{i}] rules={got!r} reference={r['reference']!r} gold={r['gold']!r}: "
                      f"{r['output'][-300:]!r}")
        total.update(c)
        _kojima_row(name, c)
    _kojima_row("ALL", total)


def _kojima_row(name: str, c: Counter) -> None:
    print(f"{name:<20} {c['n']:>5} {c['ref_ok'] / c['n']:>8.1%} {c['ok'] / c['n']:>9.1%} "
          f"{c['agree_ref_ok'] / max(c['ref_ok'], 1):>12.1%} {c['credited_none']:>13} {c['rules_none']:>10} "
          f"{c['ref_only']:>8}")


def judged_cases(path: Path) -> list[dict]:
    """Hand-judged real outputs (tests/eval/real_outputs_*.jsonl) with their answer type and options."""
    from codemix.eval.tasks import get_task  # (also in checkouts from before the package API)

    cases = []
    for line in path.read_text().splitlines():
        if line.strip():
            case = json.loads(line)
            task = get_task(case["task"])
            vocabulary = list(task.vocabulary) if task.vocabulary else None
            cases.append({**case, "group": case["task"], "answer_type": task.extractor or task.answer_type,
                          "choices": case.get("choices") or vocabulary})
    return cases


def kojima_judged_cases(log_dir: Path, judged: Path) -> list[dict]:
    """The hand-judged sample of the GPT-3 logs: judgements (committed) joined with the logs (not committed)."""
    logs: dict[str, list[dict]] = {}
    cases = []
    for line in judged.read_text().splitlines():
        j = json.loads(line)
        if j["log"] not in logs:
            logs[j["log"]] = read_kojima_log(log_dir / f"{j['log']}_zero_shot_cot.log")
        r = logs[j["log"]][j["index"]]
        cases.append({**r, "group": j["log"], "answer_type": KOJIMA[j["log"]][0], "judged": j["judged"]})
    return cases


def agreement_with_judgement(cases: list[dict], show: bool = False) -> None:
    """Per group: agreement of the rules with the hand judgement, credited non-answers, the cascade's job."""
    stats: dict[str, Counter] = defaultdict(Counter)
    t0 = time.perf_counter()
    for case in cases:
        kind, judged = case["answer_type"], case["judged"]
        got = extract_answer(kind, case["output"], case["choices"])
        same = (got is None and judged is None) or (None not in (got, judged) and is_correct(kind, got, judged))
        for key in (case["group"], "ALL"):
            stats[key].update(n=1, agree=same, judged_none=judged is None,
                              credited_none=judged is None and is_correct(kind, got, case["gold"]),
                              cascade=got is None and judged is not None, misread=not same and got is not None)
        if show and not same:
            print(f"  [{case['group']}] rules={got!r} judged={judged!r}: {case['output'][-200:]!r}")
    seconds = time.perf_counter() - t0
    print(f"{'task':<20} {'n':>4} {'agreement':>9} {'judged none':>11} {'credited none':>13} {'cascade job':>11} "
          f"{'misread':>7}")
    for key in sorted(stats, key=lambda k: (k == "ALL", k)):
        c = stats[key]
        print(f"{key:<20} {c['n']:>4} {c['agree'] / c['n']:>9.1%} {c['judged_none']:>11} {c['credited_none']:>13} "
              f"{c['cascade']:>11} {c['misread']:>7}")
    print(f"({len(cases) / seconds:,.0f} outputs/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kojima-logs", type=Path, help="log/ folder of kojima-takeshi188/zero_shot_cot")
    parser.add_argument("--split", choices=("all", "dev", "heldout"), default="all",
                        help="GPT-3 logs: even records (dev: rule development) or odd ones (heldout)")
    parser.add_argument("--show", type=int, default=0, help="print up to N disagreements per dataset")
    parser.add_argument("--heldout", type=Path, action="append", help="hand-judged real outputs (JSONL); default: "
                        "the committed SmolLM2 held-out set")
    parser.add_argument("--misses", action="store_true", help="print the hand-judged outputs the rules misread")
    args = parser.parse_args()
    if args.kojima_logs:
        kojima_table(args.kojima_logs, args.split, args.show)
        print(f"\nhand-judged sample of the held-out (odd) GPT-3 records ({KOJIMA_JUDGED.name})")
        agreement_with_judgement(kojima_judged_cases(args.kojima_logs, KOJIMA_JUDGED), args.misses)
    for path in args.heldout or [HELDOUT]:
        print(f"\n{path}")
        agreement_with_judgement(judged_cases(path), args.misses)


if __name__ == "__main__":
    main()
