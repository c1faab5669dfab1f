"""The stage cache: where every stage output lives in a storage, and the one way it is published.

Every stage output is a folder under ``<storage>/_cache/``, named by the content hash of everything
that determines it (``codemix.sweep.hashes``; the pool's and the tokenisation's own), shared by
every sweep in that storage:

    _cache/pools/<pool hash>/              pool.parquet, report.json          sweep.data_stage.prepare_data
    _cache/mixes/<mix hash>/               mix.parquet, manifest.json         sweep.trial.make_mix
    _cache/tokenized/<hash>/               examples.parquet, [heldout.parquet,] report.json
                                                                              train.trainer.tokenized_examples
    _cache/train_runs/train-<train hash>/  Ray Train's run folder, its checkpoints (the in-process loop's too)
    _cache/checkpoints/<train hash>/       the fine-tuned model, HF-loadable  train.trainer.fine_tune
    _cache/interpolated/<hash>/            a model interpolated between fine-tunes (an adapter or full weights)
                                                                              sweep.trial.interpolate_model
    _cache/predictions/<eval hash>/        predictions.parquet, scores.json   sweep.trial.evaluate_model
    _cache/labels/                         the LLM classifier's label cache   data.classify.label_store

A folder is written once (``publish``: in a temporary folder, then ``Store.put_dir``, which marks it
complete last), so a reader sees a finished output or none, and a stage whose output is complete is
not run again, by this trial, a resumed one or another sweep.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from codemix.storage.store import Store

CACHE = "_cache"
POOLS = f"{CACHE}/pools"
MIXES = f"{CACHE}/mixes"
TOKENIZED = f"{CACHE}/tokenized"
TRAIN_RUNS = f"{CACHE}/train_runs"  # Ray Train's own run folders (sharded checkpoints), one per train_hash
CHECKPOINTS = f"{CACHE}/checkpoints"
INTERPOLATED = f"{CACHE}/interpolated"
PREDICTIONS = f"{CACHE}/predictions"
LABELS = f"{CACHE}/labels"  # the LLM label cache of sweeps in this storage (codemix.data.classify.label_store)


def pool_key(pool_hash: str) -> str:
    """The labelled pool of a sweep's data config."""
    return f"{POOLS}/{pool_hash}"


def mix_key(mix_hash: str) -> str:
    """One IFT mix."""
    return f"{MIXES}/{mix_hash}"


def tokenized_key(tokenize_hash: str) -> str:
    """A mix tokenised for one tokenizer and length policy."""
    return f"{TOKENIZED}/{tokenize_hash}"


def train_run_name(train_hash: str) -> str:
    """The Ray Train run name of a training run: a rerun after a crash continues from its last checkpoint."""
    return f"train-{train_hash}"


def train_run_key(train_hash: str) -> str:
    """A training run's folder of intermediate checkpoints."""
    return f"{TRAIN_RUNS}/{train_run_name(train_hash)}"


def checkpoint_key(train_hash: str) -> str:
    """The finished model of a training run (a HF-loadable folder)."""
    return f"{CHECKPOINTS}/{train_hash}"


def interpolated_key(interpolation_hash: str) -> str:
    """A model interpolated in weight space between fine-tuned anchors (HF- or adapter-loadable folder)."""
    return f"{INTERPOLATED}/{interpolation_hash}"


def predictions_key(eval_hash: str) -> str:
    """One evaluation's predictions and scores."""
    return f"{PREDICTIONS}/{eval_hash}"


# (what, its folder): every stage output in the cache, as the cluster checks and ``codemix plan`` show them
LAYOUT = [("labelled pool (driver)", pool_key("<pool hash>")),
          ("mixes", mix_key("<mix hash>")),
          ("tokenized mixes", tokenized_key("<hash>")),
          ("Ray Train runs and checkpoints", train_run_key("<train hash>")),
          ("fine-tuned models", checkpoint_key("<train hash>")),
          ("interpolated models", interpolated_key("<interpolation hash>")),
          ("predictions and scores", predictions_key("<eval hash>"))]


def publish(store: Store, key: str, write: Callable[[Path], object], also=None) -> bool:
    """Publish the stage output ``key`` unless it is complete: ``write(folder)`` fills a temporary local folder,
    which ``store.put_dir`` then publishes atomically, with the files of ``also`` (filesystem, folder) copied
    storage to storage. Returns True when this call computed it, False when it was there already (``write`` is
    not called)."""
    if store.is_complete(key):
        return False
    with tempfile.TemporaryDirectory() as d:
        write(Path(d))
        store.put_dir(d, key, also=also)
    return True
