"""Figures for the data stage: heuristic throughput, mix build time, peak memory, agreement with labels.

    python bench/bench_data.py [--size 100000] [--shared ../shared/data]

1. A synthetic pool of SIZE conversations: the demo corpus with a serial number appended to each
   first user turn, so exact dedup keeps them all. Timed: heuristic labels alone; labels plus
   programming-language detection (the whole classify step); clean; build_mix (p=0.5, N=SIZE/2)
   with and without corruption.
2. Heuristic throughput on real text (Arena-Hard prompt+answer, ShareGPT prompts), which is longer.
3. Agreement of the heuristic with bench/labelled_sample.csv (see its description in the report).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import time
from pathlib import Path

from codemix.config import ClassifierConfig, MixConfig
from codemix.data import DataReport, build_mix, clean, ingest
from codemix.data.audit import agreement
from codemix.data.classify import heuristic, label_conversations, make_classifier
from codemix.data.demo import generate_demo_corpus
from codemix.data.ingest import to_conversation

HERE = Path(__file__).resolve().parent


def timed(fn, *args, **kw):
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def synthetic(size: int) -> list[dict]:
    convs = []
    for i, rec in enumerate(generate_demo_corpus(size, seed=0), start=1):
        rec["conversations"][0]["value"] += f" [{i}]"
        convs.append(to_conversation(rec, "synthetic", i)[1])
    return convs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_synthetic(size: int) -> None:
    convs = synthetic(size)
    print(f"## synthetic pool: {size} conversations")
    report = DataReport()
    cleaned, t = timed(clean, convs, report)
    print(f"clean (hash, dedup, checks):         {t:6.2f} s  {size / t:9,.0f} conv/s  kept {len(cleaned)}")
    labels, t = timed(lambda: [heuristic.label(c["turns"]) for c in cleaned])
    print(f"heuristic labels:                    {t:6.2f} s  {size / t:9,.0f} conv/s")
    pool, t = timed(label_conversations, cleaned, make_classifier(ClassifierConfig()), DataReport())
    print(f"classify step (labels + languages):  {t:6.2f} s  {size / t:9,.0f} conv/s")
    mix = MixConfig(total=size // 2)
    (_, manifest), t = timed(build_mix, pool, mix, 0.5, 0)
    print(f"build_mix p=0.5 N={mix.total}:          {t:6.2f} s  counts {manifest['counts']}")
    (_, manifest), t = timed(build_mix, pool, mix, 0.5, 0, "any", 0.5)
    print(f"build_mix corruption 0.5:           {t:6.2f} s  corrupted {manifest['corrupted']}")
    (_, manifest), t = timed(build_mix, pool, MixConfig(total=10_000), 0.5, 0, "python")
    print(f"build_mix python-only N=10000:      {t:6.2f} s  languages {manifest['language_counts']}")
    print(f"peak RSS so far: {peak_rss_mb():,.0f} MB")


def bench_real(shared: Path) -> None:
    print("## heuristic on real text")
    for name in ("arena_hard_fastchat_pr3596", "sharegpt_prompts_ml_energy", "sharegpt_zh_medicalgpt"):
        convs = ingest(shared / "ift" / name, DataReport())
        _, t = timed(lambda: [heuristic.label(c["turns"]) for c in convs])
        chars = sum(len(x["content"]) for c in convs for x in c["turns"]) / len(convs)
        print(f"{name:32s} {len(convs):5d} conv  mean {chars:6,.0f} chars  {len(convs) / t:9,.0f} conv/s")


def bench_agreement(shared: Path) -> None:
    rows = list(csv.DictReader(open(HERE / "labelled_sample.csv")))
    convs = {(c["source_file"], c["source_line"]): c for c in ingest(shared / "ift", DataReport())}
    print(f"## heuristic ({heuristic.Heuristic.version}) vs labelled sample ({len(rows)} conversations)")
    groups = {"all": rows, "hand-labelled only": [r for r in rows if r["how"] == "hand"],
              "real ShareGPT (hand)": [r for r in rows if r["how"] == "hand" and "sharegpt" in r["file"]]}
    for name, group in groups.items():
        truth = [r["label"] for r in group]
        pred = [heuristic.label(convs[(r["file"], int(r["line"]))]["turns"]) for r in group]
        a = agreement(truth, pred)
        print(f"{name:22s} n={a['n']:4d}  accuracy {a['accuracy']:.3f}  kappa {a['kappa']:.3f}  "
              f"confusion (rows truth coding/math/other) {a['confusion']}")
        print("    " + "  ".join(f"{k}: P={v['precision'] if v['precision'] is None else round(v['precision'], 2)} "
                                 f"R={v['recall'] if v['recall'] is None else round(v['recall'], 2)}"
                                 for k, v in a["per_class"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get(
        "CODEMIX_SHARED_DATA", HERE.parent.parent / "shared" / "data")))
    args = parser.parse_args()
    bench_synthetic(args.size)
    if args.shared.is_dir():
        bench_real(args.shared)
        bench_agreement(args.shared)
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
