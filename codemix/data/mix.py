"""Draw one IFT set from the labelled pool: exactly round(p*N) coding and the rest general.

Classes: coding = label "coding" (and, with ``code_language`` other than "any", that language
among its ``languages``); general = label "other", plus "math" when ``mix.math == "general"``;
with ``mix.math == "own"`` math is its own class of round(math_proportion*N) examples and
general fills the rest; with "exclude" math is never drawn. round() is Python's (half to even).

Selection is a seeded order of each class: rows sorted by sha256(seed, class, content hash).
With ``mix.nested`` the order does not depend on p, so the p=0.25 coding set is a prefix of
(a subset of) the p=0.5 one, and the general set of p=0.5 a subset of p=0.25's; without it
p joins the key. The order is independent of pool row order, numpy and Python versions.
The drawn rows are then put in one seeded training order.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from codemix.data.corrupt import corrupt_turns
from codemix.data.pool import POOL_HASH_KEY
from codemix.data.schema import LABELLED_SCHEMA, content_hash
from codemix.spec import MixConfig
from codemix.storage import atomic_write_json, atomic_write_parquet, canonical_json


class MixInfeasibleError(ValueError):
    """The pool cannot supply the requested mix; the message says what is needed and available."""


def class_counts(mix: MixConfig, proportion: float) -> dict[str, int]:
    """How many examples of each class the mix takes: {coding, general, math}."""
    if not 0.0 <= proportion <= 1.0:
        raise ValueError(f"proportion = {proportion} must be within [0, 1]")
    n = mix.total
    coding = round(proportion * n)
    math = round(mix.math_proportion * n) if mix.math == "own" else 0
    return {"coding": coding, "general": n - coding - math, "math": math}


def _class_masks(pool: pa.Table, mix: MixConfig, code_language: str) -> dict[str, pa.Array]:
    label = pool.column("label")
    coding = pc.equal(label, "coding")
    if code_language != "any":
        langs = pool.column("languages").combine_chunks()
        hits = pc.equal(pc.list_flatten(langs), code_language)
        parents = pc.filter(pc.list_parent_indices(langs), hits)
        has_lang = pc.is_in(pa.array(range(pool.num_rows), pa.int64()), value_set=pc.unique(parents))
        coding = pc.and_(coding, has_lang)
    math = pc.equal(label, "math")
    general = pc.equal(label, "other")
    if mix.math == "general":
        general = pc.or_(general, math)
    return {"coding": coding, "general": general, "math": math}


def available(pool: pa.Table, mix: MixConfig, code_language: str = "any") -> dict[str, int]:
    """How many pool rows each class can draw from."""
    return {k: pc.sum(v).as_py() or 0 for k, v in _class_masks(pool, mix, code_language).items()}


def check_mix_feasible(pool: pa.Table, mix: MixConfig, proportion: float, code_language: str = "any") -> None:
    """Raise MixInfeasibleError, before any compute, when a class has fewer rows than the mix needs."""
    need = class_counts(mix, proportion)
    if need["general"] < 0:
        raise MixInfeasibleError(f"proportion {proportion} + math_proportion {mix.math_proportion} exceed 1: "
                                 f"{need['coding']} coding + {need['math']} math > total {mix.total}")
    have = available(pool, mix, code_language)
    short = [k for k in need if need[k] > have[k]]
    if short:
        lang = "" if code_language == "any" else f" (code_language={code_language})"
        detail = ", ".join(f"{k}: need {need[k]}, available {have[k]}" for k in need)
        raise MixInfeasibleError(f"mix p={proportion} total={mix.total} math={mix.math}{lang} is infeasible "
                                 f"(short of {', '.join(short)}): {detail}")


def _order_key(scope: str, h: str) -> str:
    return hashlib.sha256(f"{scope}:{h}".encode()).hexdigest()


def _pick(pool: pa.Table, mask: pa.Array, n: int, key: str) -> list[int]:
    idx = pc.indices_nonzero(mask).to_pylist()
    hashes = pool.column("content_hash").to_pylist()
    idx.sort(key=lambda i: _order_key(key, hashes[i]))
    return idx[:n]


def pool_id(pool: pa.Table) -> str:
    """The pool's content address from its metadata, or a hash of its rows when it has none."""
    meta = pool.schema.metadata or {}
    if POOL_HASH_KEY in meta:
        return meta[POOL_HASH_KEY].decode()
    blob = "\n".join(f"{h}\t{lab}" for h, lab in zip(pool.column("content_hash").to_pylist(),
                                                    pool.column("label").to_pylist()))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_mix(pool: pa.Table, mix: MixConfig, proportion: float, seed: int, code_language: str = "any",
              corruption: float = 0.0) -> tuple[pa.Table, dict]:
    """(mix table in LABELLED_SCHEMA, manifest) for one point of the sweep; deterministic for the inputs."""
    if not 0.0 <= corruption <= 1.0:
        raise ValueError(f"corruption = {corruption} must be within [0, 1]")
    check_mix_feasible(pool, mix, proportion, code_language)
    need = class_counts(mix, proportion)
    masks = _class_masks(pool, mix, code_language)
    scope = f"{seed}" if mix.nested else f"{seed}:p={proportion!r}"
    picked = []
    for cls in ("coding", "math", "general"):
        # coding's order ignores the language filter, so python-only is a consistent sub-draw of "any"
        key = f"{scope}:{cls}:{mix.math if cls == 'general' else ''}"
        picked += _pick(pool, masks[cls], need[cls], key)
    hashes = pool.column("content_hash").to_pylist()
    picked.sort(key=lambda i: _order_key(f"{seed}:order:p={proportion!r}", hashes[i]))
    table = pool.select(LABELLED_SCHEMA.names).take(pa.array(picked, pa.int64()))
    table, damaged = _corrupt(table, corruption, seed)
    table = table.replace_schema_metadata(None)
    return table, _manifest(table, pool, mix, proportion, seed, code_language, corruption, need, damaged)


def _corrupt(table: pa.Table, level: float, seed: int) -> tuple[pa.Table, dict]:
    if level <= 0:
        return table, {"conversations": 0, "code_blocks": 0, "coding_without_code_block": 0}
    turns, hashes = table.column("turns").to_pylist(), table.column("content_hash").to_pylist()
    labels = table.column("label").to_pylist()
    stats = Counter(conversations=0, code_blocks=0, coding_without_code_block=0)
    for i, lab in enumerate(labels):
        if lab != "coding":
            continue
        new, blocks = corrupt_turns(turns[i], level, f"{seed}:{level!r}:{hashes[i]}")
        stats["code_blocks"] += blocks
        if blocks == 0:
            stats["coding_without_code_block"] += 1
            continue
        stats["conversations"] += 1
        turns[i], hashes[i] = new, content_hash(new)
    table = table.set_column(table.schema.get_field_index("turns"), LABELLED_SCHEMA.field("turns"),
                             pa.array(turns, LABELLED_SCHEMA.field("turns").type))
    table = table.set_column(table.schema.get_field_index("content_hash"), "content_hash",
                             pa.array(hashes, pa.string()))
    return table, dict(stats)


def _manifest(table: pa.Table, pool: pa.Table, mix: MixConfig, proportion: float, seed: int, code_language: str,
              corruption: float, need: dict, damaged: dict) -> dict:
    ids, labels = table.column("id").to_pylist(), table.column("label").to_pylist()
    rows = zip(ids, table.column("content_hash").to_pylist(), labels)
    sha = hashlib.sha256(json.dumps(list(rows), separators=(",", ":")).encode()).hexdigest()
    langs = Counter(lang for lab, ls in zip(labels, table.column("languages").to_pylist()) if lab == "coding"
                    for lang in ls)
    by_label = Counter(labels)
    sources = Counter(table.column("classifier").to_pylist())  # how each label was made
    return {
        "sha256": sha, "ids": ids, "total": mix.total, "proportion": proportion, "seed": seed,
        "counts": {"coding": by_label["coding"], "general": table.num_rows - by_label["coding"] - need["math"],
                   "math": by_label["math"], "other": by_label["other"]},
        "language_counts": dict(sorted(langs.items())), "code_language": code_language,
        "corruption": corruption, "corrupted": damaged, "math": mix.math, "math_proportion": mix.math_proportion,
        "nested": mix.nested, "pool_hash": pool_id(pool), "available": available(pool, mix, code_language),
        "label_sources": dict(sorted(sources.items())),
        "fallback_labels": sum(n for s, n in sources.items() if s.startswith("fallback:")),
    }


def write_mix(table: pa.Table, manifest: dict, out_dir: str | Path) -> Path:
    """Write ``mix.parquet`` then ``manifest.json`` (each atomically) into ``out_dir``; returns the folder."""
    out = Path(out_dir)
    atomic_write_parquet(out / "mix.parquet", table)
    atomic_write_json(out / "manifest.json", manifest)
    return out


def manifest_bytes(manifest: dict) -> bytes:
    """The exact bytes ``write_mix`` writes for a manifest."""
    return canonical_json(manifest)
