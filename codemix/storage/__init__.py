"""Where codemix keeps things, and the one way each is written: one owner per layout.

    store.py        Store: an experiment storage on local disk or any pyarrow filesystem (s3://, gs://), atomic
                    writes, content hashes (stable_hash)
    stage_cache.py  <storage>/_cache/: every stage output by the content hash of what determines it; publish
    local_cache.py  $CODEMIX_HOME: the machine-local caches (converted and tiny models, the local pool and label
                    caches), and pkg:// sources
    attempts.py     <experiment>/attempts/: one record per trial attempt
"""

from codemix.storage.attempts import ATTEMPTS, attempt_counts, attempt_starts, attempt_trials, record_attempt
from codemix.storage.local_cache import (
    PACKAGE_SCHEME,
    downloads_dir,
    extractor_cache_file,
    gguf_converted_dir,
    labels_dir,
    local_data_dir,
    package_file,
    pool_subdir,
    tiny_model_dir,
    tokenizers_dir,
)
from codemix.storage.stage_cache import (
    CACHE,
    CHECKPOINTS,
    INTERPOLATED,
    LABELS,
    LAYOUT,
    MIXES,
    POOLS,
    PREDICTIONS,
    TOKENIZED,
    TRAIN_RUNS,
    checkpoint_key,
    interpolated_key,
    mix_key,
    pool_key,
    predictions_key,
    publish,
    tokenized_key,
    train_run_key,
    train_run_name,
)
from codemix.storage.store import (
    COMPLETE,
    StorageError,
    Store,
    atomic_dir,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    canonical_json,
    copy_tree,
    evict_local_copies,
    stable_hash,
)

__all__ = ["ATTEMPTS", "CACHE", "CHECKPOINTS", "COMPLETE", "INTERPOLATED", "LABELS", "LAYOUT", "MIXES",
           "PACKAGE_SCHEME", "POOLS", "PREDICTIONS", "TOKENIZED", "TRAIN_RUNS", "StorageError", "Store",
           "atomic_dir", "atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_parquet",
           "atomic_write_text", "attempt_counts", "attempt_starts", "attempt_trials", "canonical_json",
           "checkpoint_key", "copy_tree", "downloads_dir", "evict_local_copies", "extractor_cache_file",
           "gguf_converted_dir", "labels_dir", "interpolated_key", "local_data_dir", "mix_key", "package_file",
           "pool_key", "pool_subdir", "predictions_key", "publish", "record_attempt", "stable_hash",
           "tiny_model_dir", "tokenized_key", "tokenizers_dir", "train_run_key", "train_run_name"]
