"""The data stage: ShareGPT-style files -> cleaned, labelled pool -> IFT mixes.

    pool, pool_hash, report = prepare_pool(spec.data, cache_dir)      # ingest, clean, classify (cached)
    check_mix_feasible(pool, spec.mix, p, code_language)               # fails fast, says what is short
    table, manifest = build_mix(pool, spec.mix, p, seed, code_language, corruption)
    write_mix(table, manifest, out_dir)                                # mix.parquet + manifest.json

    ingest.py, jsonarray.py  the ShareGPT variants people have, read into normalised conversations
    clean.py, langid.py      FastChat-style cleaning; natural-language identification
    classify/                Coding / Math / Other classifiers (a registry), their label store (label_store.py)
    pool.py                  the labelled pool, cached under its content address
    mix.py, corrupt.py       exact-proportion mixes with manifests; code corruption
    accounting.py            what the stage did to every record (counts per reason, located errors)
    audit.py                 how far two labelings agree
    schema.py                the stage's Arrow schemas and a conversation's content hash
    demo.py, demo_code.py    the generated offline demo corpus
"""

from codemix.data.accounting import DataReport, RecordError
from codemix.data.classify import (
    CLASSIFIERS,
    Classifier,
    code_languages,
    make_classifier,
    measured_for_tag,
    register,
)
from codemix.data.classify.label_store import storage_labels_dir
from codemix.data.clean import CleanOptions, clean
from codemix.data.ingest import ingest
from codemix.data.mix import MixInfeasibleError, available, build_mix, check_mix_feasible, class_counts, write_mix
from codemix.data.pool import label_pool, pool_hash, prepare_pool, requests_to_label
from codemix.data.schema import CONVERSATION_SCHEMA, LABELLED_SCHEMA, content_hash

__all__ = [
    "measured_for_tag",
    "CLASSIFIERS", "CONVERSATION_SCHEMA", "LABELLED_SCHEMA", "CleanOptions", "Classifier", "DataReport",
    "MixInfeasibleError", "RecordError", "available", "build_mix", "check_mix_feasible", "class_counts", "clean",
    "code_languages", "content_hash", "ingest", "label_pool", "make_classifier", "pool_hash", "prepare_pool",
    "register", "requests_to_label", "storage_labels_dir", "write_mix",
]
