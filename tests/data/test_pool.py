"""prepare_pool: content address, cache reuse, and real data end to end."""

from __future__ import annotations

import shutil

from codemix.config import ClassifierConfig, DataConfig
from codemix.data import pool_hash, prepare_pool


def test_demo_pool_is_cached_by_content_address(tmp_path):
    cfg = DataConfig(demo_size=100)
    table, h, report = prepare_pool(cfg, tmp_path)
    path = tmp_path / "pools" / h / "pool.parquet"
    mtime = path.stat().st_mtime_ns
    table2, h2, report2 = prepare_pool(cfg, tmp_path)
    assert h2 == h and path.stat().st_mtime_ns == mtime and table2.equals(table) and report2 == report
    assert report["records_in"] == 100 and report["records_out"] == table.num_rows
    assert report["records_out"] == 100 - report["dropped"].get("duplicate", 0)
    assert sum(report["classes"].values()) == table.num_rows
    assert pool_hash(DataConfig(demo_size=100, demo_seed=1)) != h
    assert pool_hash(DataConfig(demo_size=100, max_tokens=64)) != h
    assert pool_hash(DataConfig(demo_size=100, classifier=ClassifierConfig(name="llm"))) != h


def test_pool_hash_depends_on_content_not_location(shared_data, tmp_path):
    src = shared_data / "ift" / "alpaca_sample_torchtune"
    a, b = tmp_path / "a", tmp_path / "elsewhere" / "b"
    shutil.copytree(src, a)
    shutil.copytree(src, b)
    t1, h1, _ = prepare_pool(DataConfig(source=str(a)), tmp_path / "c1")
    t2, h2, _ = prepare_pool(DataConfig(source=str(b)), tmp_path / "c2")
    assert h1 == h2 and t1.equals(t2)
    (b / "alpaca_tiny.json").write_text((b / "alpaca_tiny.json").read_text().replace("healthy", "wealthy"))
    assert pool_hash(DataConfig(source=str(b))) != h1


def test_real_mixed_sources(shared_data, tmp_path):
    ift = shared_data / "ift"
    cfg = DataConfig(source=[str(ift / "codealpaca" / "code_alpaca_2k.json"), str(ift / "alpaca_en_demo_llamafactory"),
                             str(ift / "sharegpt_zh_medicalgpt")], language="en", max_tokens=512)
    table, h, report = prepare_pool(cfg, tmp_path)
    assert report["dropped"]["language_not_en"] > 900
    assert report["classes"]["coding"] > 1500 and report["classes"]["other"] > 800
    files = table.column("source_file").to_pylist()
    assert set(files) == {"code_alpaca_2k.json", "alpaca_en_demo.json", "sharegpt_zh_1K_format.jsonl"}
    assert files.count("sharegpt_zh_1K_format.jsonl") <= 10  # a few mostly-English/code conversations in it
    langs = report["languages"]
    assert langs["python"] > 100 and langs["sql"] > 20


def test_max_records_reads_only_the_first_records_and_says_so(tmp_path):
    import json

    records = [{"id": f"r{i}", "conversations": [{"from": "human", "value": f"Question number {i} about Python?"},
                                                  {"from": "gpt", "value": f"Answer number {i}: use a list."}]}
               for i in range(30)]
    (tmp_path / "src.json").write_text(json.dumps(records))
    full = DataConfig(source=str(tmp_path / "src.json"))
    cut = DataConfig(source=str(tmp_path / "src.json"), max_records=12)
    table, h, report = prepare_pool(cut, tmp_path / "cache")
    assert report["records_in"] == 12 and report["stats"] == {"records_not_read (data.max_records)": 1}
    assert sorted(table.column("id").to_pylist()) == sorted(f"r{i}" for i in range(12))
    assert h != pool_hash(full) and pool_hash(DataConfig(source=str(tmp_path / "src.json"), max_records=13)) != h
    assert "records_not_read (data.max_records)" not in prepare_pool(full, tmp_path / "cache")[2]["stats"]
    demo = prepare_pool(DataConfig(demo_size=40, max_records=25), tmp_path / "cache")[2]
    assert demo["records_in"] == 25
