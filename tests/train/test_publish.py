"""Publishing a finished run copies storage to storage only what evaluation needs; local copies are bounded.

The storage here is a real filesystem behind pyarrow's PyFileSystem, which codemix treats as remote storage (as
s3://): every file opened for reading and every copy made inside it is counted, so the test sees what would
cross the network or land on the trial's node. No Ray: the loop runs in this process (train_launcher in_process),
whose checkpoints are the same folders Ray Train's are (model/, metrics.json, the optimizer state beside them).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from fsspec.implementations.local import LocalFileSystem
from helpers import demo_conversations

from codemix import storage as storage_module
from codemix.config import ModelConfig, ResourcesConfig, TrainConfig
from codemix.models.loading import load_causal_lm, resolve_model_source
from codemix.storage import COMPLETE, Store, evict_local_copies
from codemix.train import TrainRun, fine_tune
from codemix.train.engine import STATE_FILE


class CountingHandler(pafs.FSSpecHandler):
    """A local filesystem that records every file opened for reading and every copy within it."""

    def __init__(self):
        super().__init__(LocalFileSystem())
        self.read: list[str] = []
        self.copied: list[tuple[str, str]] = []

    def open_input_stream(self, path):
        self.read.append(path)
        return super().open_input_stream(path)

    def open_input_file(self, path):
        self.read.append(path)
        return super().open_input_file(path)

    def copy_file(self, src, dest):
        self.copied.append((src, dest))
        return super().copy_file(src, dest)


def _remote_store(root: Path) -> tuple[Store, CountingHandler]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    handler = CountingHandler()
    store = Store(str(root), filesystem=pafs.PyFileSystem(handler))
    root.mkdir(parents=True, exist_ok=True)
    assert not store.is_local  # what codemix does with it is what it does with s3://
    mix = root / "mix.parquet"
    pq.write_table(pa.table({"turns": demo_conversations(24, seed=3)}), mix)
    store.fs.create_dir(store.path("_cache/mixes/m1"), recursive=True)
    store.write_bytes("_cache/mixes/m1/mix.parquet", mix.read_bytes())
    store.write_bytes(f"_cache/mixes/m1/{COMPLETE}", b"")
    return store, handler


@pytest.mark.parametrize("method", ["full", "lora"])
def test_publish_reads_only_the_model_and_metrics_of_the_final_checkpoint(tmp_path, method):
    store, counted = _remote_store(tmp_path / "bucket")
    run = TrainRun(store=store, mix_key="_cache/mixes/m1", mix_hash="m1", family="llama",
                   model_source=resolve_model_source("llama", ModelConfig()), model_cfg=ModelConfig(),
                   train_cfg=TrainConfig(method=method, lr=3e-3, micro_batch_size=4, max_length=96, max_steps=2),
                   resources=ResourcesConfig(train_launcher="in_process"), seed=0, train_hash=f"pub-{method}")
    key, metrics = fine_tune(run)
    assert metrics["step"] == 2

    [final] = [p for p in (tmp_path / "bucket" / run.run_key).iterdir() if p.name.startswith("checkpoint_")]
    state = final / STATE_FILE  # the optimizer's moments and the weights: what a resume needs, evaluation not
    model_files = {p.relative_to(final).as_posix() for p in (final / "model").rglob("*") if p.is_file()}
    assert state.stat().st_size > sum((final / f).stat().st_size for f in model_files)  # AdamW: 2 moments + weights
    from_run = sorted(Path(p).relative_to(final).as_posix() for p in counted.read if str(final) in p)
    copied = sorted(Path(src).relative_to(final).as_posix() for src, _ in counted.copied if str(final) in src)
    print(f"{method}: read from the run's checkpoint {from_run}; copied in storage {copied}; "
          f"left in place {state.name} ({state.stat().st_size / 1e6:.1f} MB)")
    assert from_run == ["metrics.json"]  # what the publish reads itself
    assert copied == sorted(model_files)  # the model, copied storage to storage, file by file
    published = {p.name for p in (tmp_path / "bucket" / key).iterdir()}
    assert {Path(f).name for f in model_files} | {"tokenizer.json", "train_metrics.json", COMPLETE} <= published
    assert STATE_FILE not in published
    model = load_causal_lm(str(store.local_dir(key, tmp_path / "copies")))  # what evaluation then loads
    assert model.config.model_type == "llama"


def _copy(root: Path, name: str, size: int, used_ago: float) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "model.safetensors").write_bytes(b"\0" * size)
    (d / COMPLETE).write_text(str(size))
    when = time.time() - used_ago
    os.utime(d / COMPLETE, (when, when))
    return d


def test_local_copies_are_evicted_least_recently_used_first_but_never_while_in_use(tmp_path, monkeypatch):
    root = tmp_path / "copies"
    old = _copy(root, "a", 4000, used_ago=3 * 3600)
    older = _copy(root, "b", 4000, used_ago=5 * 3600)
    busy = _copy(root, "c", 4000, used_ago=60)  # read a minute ago: an evaluation may still be loading it
    new = _copy(root, "d", 4000, used_ago=0)
    assert evict_local_copies(root, keep=new, max_bytes=8000) == [older, old]  # LRU first, down to the bound
    assert sorted(p.name for p in root.iterdir()) == ["c", "d"] and busy.exists()
    assert evict_local_copies(root, keep=new, max_bytes=0) == []  # c is in use, d is the one just asked for

    # through Store.local_dir: each download evicts beyond $CODEMIX_STORE_CACHE_GB
    store, _ = _remote_store(tmp_path / "bucket")
    for name in ("x", "y"):
        store.write_bytes(f"models/{name}/weights.bin", b"\1" * 3000)
    monkeypatch.setenv(storage_module.STORE_CACHE_GB, str(5000 / 1e9))
    monkeypatch.setattr(storage_module, "IN_USE_S", 0.0)
    first = store.local_dir("models/x", root)
    second = store.local_dir("models/y", root)
    assert second.exists() and not first.exists() and not busy.exists()  # 3000 + 3000 > 5000: x goes
    assert store.local_dir("models/x", root).exists() and not second.exists()  # fetched again when needed
