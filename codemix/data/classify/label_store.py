"""Where a sweep's LLM label cache lives: ``<storage>/_cache/labels/llm_labels.sqlite``.

Labels are paid for once per storage: every sweep that shares a storage (``runs/``, or
``s3://bucket/codemix`` from any machine) reuses them. A local storage holds the SQLite file
itself. A remote one cannot host SQLite, so the file is fetched into
``$CODEMIX_HOME/labels/<storage hash>/`` before labelling, merged with the local copy, and written
back (atomically, after merging in what other sweeps wrote meanwhile) when labelling ends, also
when it failed, so paid-for replies are kept. The cache holds replies only, never the key.
``data.classifier.cache_dir`` overrides the folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codemix.data.classify.llm import LABEL_DB
from codemix.endpoints import ReplyCache
from codemix.spec import ClassifierConfig
from codemix.storage import LABELS, Store, labels_dir


@contextmanager
def storage_labels_dir(cfg: ClassifierConfig, store: Store) -> Iterator[Path | None]:
    """The local folder of the label cache of sweeps in ``store`` (None: the classifier keeps none)."""
    if cfg.name != "llm":
        yield Path(cfg.cache_dir) if cfg.cache_dir else None
        return
    if cfg.cache_dir or store.is_local:
        yield Path(cfg.cache_dir or store.path(LABELS))
        return

    local = labels_dir(store.url())
    key = f"{LABELS}/{LABEL_DB}"
    cache = ReplyCache(local / LABEL_DB)
    try:
        _merge_remote(store, key, cache)
        before = len(cache)
        yield local
        if len(cache) > before:  # something new was paid for: share it
            _merge_remote(store, key, cache)
            with tempfile.TemporaryDirectory() as d:
                cache.snapshot(Path(d) / LABEL_DB)
                store.write_bytes(key, (Path(d) / LABEL_DB).read_bytes())
    finally:
        cache.close()


def _merge_remote(store: Store, key: str, cache) -> None:
    if not store.exists(key):
        return
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / LABEL_DB
        copy.write_bytes(store.read_bytes(key))
        cache.merge(copy)
