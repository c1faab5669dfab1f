"""The stage cache (codemix.storage.stage_cache): one layout of ``_cache/``, and one publish step for every stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import codemix
from codemix.storage import Store, stage_cache

ROOT = Path(codemix.__file__).parent


def test_publish_writes_once_and_marks_complete(tmp_path):
    store = Store(tmp_path)
    calls = []

    def write(d: Path) -> None:
        calls.append(d)
        (d / "out.txt").write_text("x")

    assert stage_cache.publish(store, stage_cache.mix_key("h1"), write) is True  # computed
    assert store.is_complete("_cache/mixes/h1") and store.read_bytes("_cache/mixes/h1/out.txt") == b"x"
    assert stage_cache.publish(store, stage_cache.mix_key("h1"), write) is False  # cached: write is not called again
    assert len(calls) == 1 and not calls[0].exists()  # the temporary folder is gone


def test_publish_leaves_nothing_when_the_writer_fails(tmp_path):
    store = Store(tmp_path)

    def write(d: Path) -> None:
        (d / "half.txt").write_text("x")
        raise RuntimeError("killed mid-stage")

    with pytest.raises(RuntimeError):
        stage_cache.publish(store, stage_cache.predictions_key("e1"), write)
    assert not store.exists("_cache/predictions/e1")


def test_the_layout_is_the_one_every_stage_used():
    # these keys are content addresses shared with stored experiments: they must not move
    assert stage_cache.pool_key("p") == "_cache/pools/p"
    assert stage_cache.mix_key("m") == "_cache/mixes/m"
    assert stage_cache.tokenized_key("t") == "_cache/tokenized/t"
    assert stage_cache.train_run_key("h") == "_cache/train_runs/train-h" == \
        f"{stage_cache.TRAIN_RUNS}/{stage_cache.train_run_name('h')}"
    assert stage_cache.checkpoint_key("h") == "_cache/checkpoints/h"
    assert stage_cache.interpolated_key("i") == "_cache/interpolated/i"
    assert stage_cache.predictions_key("e") == "_cache/predictions/e"
    assert [key for _, key in stage_cache.LAYOUT] == [
        "_cache/pools/<pool hash>", "_cache/mixes/<mix hash>", "_cache/tokenized/<hash>",
        "_cache/train_runs/train-<train hash>", "_cache/checkpoints/<train hash>",
        "_cache/interpolated/<interpolation hash>", "_cache/predictions/<eval hash>"]


# Where a "_cache/..." key may be spelled in code: the layout's owner only. Prose that mentions a folder
# (``<storage>/_cache/...`` in a docstring or a field's description) is text for readers: only strings that start
# a key are looked at.
SPELLED_HERE = {"codemix/storage/stage_cache.py"}


def test_no_other_module_spells_a_cache_key():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel in SPELLED_HERE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("_cache/"):
                offenders.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert offenders == [], "spell cache keys with codemix.storage.stage_cache:\n" + "\n".join(offenders)
