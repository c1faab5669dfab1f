"""Mixes: exact class counts, determinism, nesting, feasibility, filters, corruption, files."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest

from codemix.data import LABELLED_SCHEMA, MixInfeasibleError, build_mix, check_mix_feasible, prepare_pool, write_mix
from codemix.data.mix import manifest_bytes
from codemix.spec import DataConfig, MixConfig


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    table, _, _ = prepare_pool(DataConfig(demo_size=600), tmp_path_factory.mktemp("cache"))
    return table


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.75, 1.0, 0.33])
def test_exact_counts(pool, p):
    mix = MixConfig(total=40)
    table, manifest = build_mix(pool, mix, p, seed=1)
    labels = table.column("label").to_pylist()
    assert labels.count("coding") == round(p * 40) == manifest["counts"]["coding"]
    assert len(labels) == 40 == manifest["total"] and len(set(table.column("content_hash").to_pylist())) == 40
    assert manifest["counts"]["general"] == 40 - round(p * 40)
    assert manifest["counts"]["math"] == labels.count("math")
    assert table.schema.remove_metadata() == LABELLED_SCHEMA


def test_same_inputs_give_byte_identical_manifests_and_seed_matters(pool, tmp_path):
    a = build_mix(pool, MixConfig(total=30), 0.5, seed=7)
    b = build_mix(pool.slice(0), MixConfig(total=30), 0.5, seed=7)
    write_mix(*a, tmp_path / "a")
    write_mix(*b, tmp_path / "b")
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    assert (tmp_path / "a" / "manifest.json").read_bytes() == manifest_bytes(a[1])
    c = build_mix(pool, MixConfig(total=30), 0.5, seed=8)
    assert c[1]["sha256"] != a[1]["sha256"]
    # the draw does not depend on the pool's row order
    shuffled = pool.take(list(reversed(range(pool.num_rows))))
    assert build_mix(shuffled, MixConfig(total=30), 0.5, seed=7)[1]["sha256"] == a[1]["sha256"]


def test_nested_mixes_are_subsets(pool):
    mix = MixConfig(total=40, nested=True)
    sets = {p: build_mix(pool, mix, p, seed=3)[0] for p in (0.25, 0.5, 1.0)}
    coding = {p: {i for i, lab in zip(t.column("id").to_pylist(), t.column("label").to_pylist()) if lab == "coding"}
              for p, t in sets.items()}
    general = {p: set(t.column("id").to_pylist()) - coding[p] for p, t in sets.items()}
    assert coding[0.25] < coding[0.5] < coding[1.0]
    assert general[0.5] < general[0.25]
    flat = {p: build_mix(pool, MixConfig(total=40, nested=False), p, seed=3)[0] for p in (0.25, 0.5)}
    flat_coding = [{i for i, lab in zip(t.column("id").to_pylist(), t.column("label").to_pylist()) if lab == "coding"}
                   for t in flat.values()]
    assert not flat_coding[0] <= flat_coding[1]


def test_infeasible_request_says_what_is_available(pool):
    n_coding = pool.column("label").to_pylist().count("coding")
    with pytest.raises(MixInfeasibleError, match=rf"coding: need 500, available {n_coding}"):
        check_mix_feasible(pool, MixConfig(total=1000), 0.5)
    with pytest.raises(MixInfeasibleError, match="code_language=python"):
        build_mix(pool, MixConfig(total=100), 1.0, seed=0, code_language="python")
    with pytest.raises(MixInfeasibleError, match="exceed 1"):
        check_mix_feasible(pool, MixConfig(total=10, math="own", math_proportion=0.6), 0.5)
    assert issubclass(MixInfeasibleError, ValueError)


def test_math_options(pool):
    own, m = build_mix(pool, MixConfig(total=40, math="own", math_proportion=0.25), 0.5, seed=0)
    assert m["counts"] == {"coding": 20, "general": 10, "math": 10, "other": 10}
    excl, m2 = build_mix(pool, MixConfig(total=40, math="exclude"), 0.5, seed=0)
    assert "math" not in excl.column("label").to_pylist() and m2["counts"]["general"] == 20


def test_code_language_filter(pool):
    table, manifest = build_mix(pool, MixConfig(total=20), 0.5, seed=0, code_language="python")
    coding_langs = [ls for ls, lab in zip(table.column("languages").to_pylist(), table.column("label").to_pylist())
                    if lab == "coding"]
    assert len(coding_langs) == 10 and all("python" in ls for ls in coding_langs)
    assert manifest["language_counts"]["python"] == 10 and manifest["code_language"] == "python"


def _code_blocks(table):
    return [b for turns in table.column("turns").to_pylist() for t in turns
            for b in re.findall(r"```[^\n]*\n(.*?)```", t["content"], re.S)]


def test_corruption_damages_only_code_blocks_deterministically(pool):
    clean, _ = build_mix(pool, MixConfig(total=30), 0.5, seed=2)
    bad, manifest = build_mix(pool, MixConfig(total=30), 0.5, seed=2, corruption=1.0)
    again, manifest2 = build_mix(pool, MixConfig(total=30), 0.5, seed=2, corruption=1.0)
    assert manifest == manifest2
    assert clean.column("id").to_pylist() == bad.column("id").to_pylist()
    before, after = _code_blocks(clean), _code_blocks(bad)
    assert len(before) == len(after) == manifest["corrupted"]["code_blocks"] == 15
    assert sum(a != b for a, b in zip(before, after)) >= 14
    strip = lambda t: [re.sub(r"```.*?```", "", x["content"], flags=re.S) for x in t]  # noqa: E731
    assert [strip(t) for t in clean.column("turns").to_pylist()] == [strip(t) for t in bad.column("turns").to_pylist()]
    zero, _ = build_mix(pool, MixConfig(total=30), 0.5, seed=2, corruption=0.0)
    assert zero.equals(clean)
    with pytest.raises(ValueError, match="corruption"):
        build_mix(pool, MixConfig(total=30), 0.5, seed=2, corruption=1.5)


def test_write_mix_files(pool, tmp_path):
    table, manifest = build_mix(pool, MixConfig(total=16), 0.25, seed=0)
    out = write_mix(table, manifest, tmp_path / "mix")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "mix.parquet"]
    assert pq.read_table(out / "mix.parquet").equals(table)
    m = json.loads((out / "manifest.json").read_text())
    assert m["ids"] == table.column("id").to_pylist() and m["pool_hash"] == pool.schema.metadata[
        b"codemix.pool_hash"].decode()
    for key in ("sha256", "counts", "language_counts", "proportion", "total", "seed", "code_language",
                "corruption", "math"):
        assert key in m
