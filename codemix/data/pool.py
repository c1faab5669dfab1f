"""The labelled pool: ingest -> clean -> classify, cached under its content address.

``pool_hash`` hashes the bytes of every source file (with its relative name), the cleaning
options, the classifier's identity (name, version, prompt version, model; not the endpoint
or key) and DATA_VERSION. It does not depend on paths, time or machine, so two runs or two
machines with the same data agree and share ``<cache_dir>/pools/<pool_hash>/``.

The pool's report (``report.json`` beside ``pool.parquet``; not part of the hash) is the data
report (records in, drops and repairs by reason, class counts, ...) plus ``sources`` (the
configured ``data.source``) and ``classifier`` (name, tag and its ``measured`` accuracy statement).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from codemix.config import DataConfig
from codemix.data.classify import label_conversations, make_classifier
from codemix.data.clean import CleanOptions, clean
from codemix.data.demo import GENERATOR_VERSION, generate_demo_corpus
from codemix.data.ingest import ingest, list_files, to_conversation
from codemix.data.report import DataReport
from codemix.paths import pool_subdir
from codemix.storage import atomic_write_json, atomic_write_parquet

DATA_VERSION = "data-v4"  # bump when ingest/clean/label code changes its output
POOL_HASH_KEY = b"codemix.pool_hash"


def _sources(cfg: DataConfig) -> list[str]:
    return cfg.source if isinstance(cfg.source, list) else [cfg.source]


def source_fingerprint(cfg: DataConfig) -> list:
    """What identifies the input: the demo generator's parameters or each file's name and sha256."""
    if cfg.source == "demo":
        return ["demo", GENERATOR_VERSION, cfg.demo_size, cfg.demo_seed]
    out = []
    for source in _sources(cfg):
        for path, name in list_files(source):
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            out.append([name, digest.hexdigest()])
    return out


def clean_options(cfg: DataConfig) -> CleanOptions:
    """The cleaning options a DataConfig asks for."""
    return CleanOptions(language=cfg.language, max_tokens=cfg.max_tokens, keep_prompt_only=cfg.keep_prompt_only)


def pool_hash(cfg: DataConfig) -> str:
    """The content address of the labelled pool ``cfg`` produces (16 hex digits)."""
    classifier = make_classifier(cfg.classifier)
    key = {"version": DATA_VERSION, "source": source_fingerprint(cfg), "clean": vars(clean_options(cfg)),
           "classifier": classifier.identity(), **({"max_records": cfg.max_records} if cfg.max_records else {})}
    blob = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def load_conversations(cfg: DataConfig, report: DataReport) -> list[dict]:
    """Normalised (not yet cleaned) conversations of the configured source."""
    if cfg.source != "demo":
        return ingest(_sources(cfg), report, strict=cfg.strict, max_records=cfg.max_records)
    report.files.append("demo")
    out = []
    for i, rec in enumerate(generate_demo_corpus(cfg.demo_size, cfg.demo_seed), start=1):
        if cfg.max_records is not None and i > cfg.max_records:
            report.stats["records_not_read (data.max_records)"] = 1
            break
        report.records_in += 1
        fmt, conv = to_conversation(rec, "demo", i)
        report.formats[fmt] += 1
        out.append(conv)
    return out


def label_pool(cfg: DataConfig, labels_dir: str | Path | None = None) -> tuple[pa.Table, dict]:
    """Ingest, clean and classify without caching: (LABELLED_SCHEMA table, report dict).

    ``labels_dir``: the folder of the LLM label cache (default: ``cfg.classifier.cache_dir``, else
    $CODEMIX_HOME/labels).
    """
    report = DataReport()
    classifier = make_classifier(cfg.classifier, labels_dir)
    convs = clean(load_conversations(cfg, report), report, clean_options(cfg))
    table = label_conversations(convs, classifier, report)
    report.records_out = table.num_rows
    return table, {**report.as_dict(), "sources": [str(s) for s in _sources(cfg)], "classifier": classifier.describe()}


def _cached_pool(cfg: DataConfig, cache_dir: str | Path) -> Path | None:
    folder = Path(cache_dir) / pool_subdir(pool_hash(cfg))
    return folder if (folder / "pool.parquet").exists() and (folder / "report.json").exists() else None


def requests_to_label(cfg: DataConfig, cache_dir: str | Path, labels_dir: str | Path | None = None) -> int:
    """How many paid classifier requests ``prepare_pool`` would send (0: pool or every label cached)."""
    classifier = make_classifier(cfg.classifier, labels_dir)
    if not classifier.paid or _cached_pool(cfg, cache_dir) is not None:
        return 0
    report = DataReport()
    return classifier.uncached(clean(load_conversations(cfg, report), report, clean_options(cfg)))


def prepare_pool(cfg: DataConfig, cache_dir: str | Path,
                 labels_dir: str | Path | None = None) -> tuple[pa.Table, str, dict]:
    """The labelled pool of ``cfg``: (table, pool_hash, report), reused from ``cache_dir`` when present.

    The table carries ``pool_hash`` in its schema metadata (``codemix.pool_hash``) so a mix
    built from it records where it came from. ``labels_dir`` as for ``label_pool``.
    """
    h = pool_hash(cfg)
    folder = Path(cache_dir) / pool_subdir(h)
    if _cached_pool(cfg, cache_dir) is not None:
        report = json.loads((folder / "report.json").read_text())
        # the classifier is part of the hash, its statement is this code's (a pool cached before it had none)
        report = {**report, "classifier": make_classifier(cfg.classifier, labels_dir).describe()}
        return pq.read_table(folder / "pool.parquet"), h, report
    table, report = label_pool(cfg, labels_dir)
    table = table.replace_schema_metadata({POOL_HASH_KEY: h.encode()})
    report = {**report, "pool_hash": h}
    atomic_write_json(folder / "report.json", report)
    atomic_write_parquet(folder / "pool.parquet", table)  # written last: its presence means complete
    return table, h, report
