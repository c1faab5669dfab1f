"""The llm classifier through the loopback server: parsing, fallbacks, cache hits, retries."""

from __future__ import annotations

import json

from codemix.config import ClassifierConfig, DataConfig
from codemix.data import prepare_pool
from codemix.data.classify.llm import PROMPT_VERSION, parse_label
from codemix.data.demo import generate_demo_corpus

GOLD = {r["id"]: r["label"] for r in generate_demo_corpus(40, 0)}


def gold_responder(req):
    """Answer with the demo's gold label, found from the conversation text in the prompt."""
    text = req["messages"][-1]["content"]
    if "```" in text:
        return '{"label": "coding"}'
    return json.dumps({"label": "math" if "The answer is" in text else "other"})


def cfg(server, tmp_path, **kw):
    return DataConfig(demo_size=40, classifier=ClassifierConfig(
        name="llm", model="fake-model", base_url=server.url, cache_dir=str(tmp_path / "labels"), max_retries=3,
        backoff=0.01, **kw))


def test_labels_from_the_model_and_cache_hits_on_rerun(fake_openai, tmp_path):
    fake_openai.responder = gold_responder
    pool, h, report = prepare_pool(cfg(fake_openai, tmp_path), tmp_path / "a")
    n = pool.num_rows
    assert fake_openai.count == n and report["stats"]["llm_requests"] == n
    assert all(GOLD[i] == lab for i, lab in zip(pool.column("id").to_pylist(), pool.column("label").to_pylist()))
    assert set(pool.column("classifier").to_pylist()) == {f"llm-v1:fake-model:{PROMPT_VERSION}"}
    assert fake_openai.requests[0]["model"] == "fake-model" and fake_openai.requests[0]["temperature"] == 0.0
    # a second sweep with a fresh pool cache: every label comes from the reply cache
    pool2, h2, report2 = prepare_pool(cfg(fake_openai, tmp_path), tmp_path / "b")
    assert h2 == h and fake_openai.count == n and report2["stats"]["llm_cache_hits"] == n
    assert pool2.column("label").to_pylist() == pool.column("label").to_pylist()


def test_model_change_is_a_new_pool_and_new_requests(fake_openai, tmp_path):
    fake_openai.responder = gold_responder
    _, h1, _ = prepare_pool(cfg(fake_openai, tmp_path), tmp_path / "a")
    first = fake_openai.count
    c = cfg(fake_openai, tmp_path)
    c.classifier.model = "other-model"
    _, h2, _ = prepare_pool(c, tmp_path / "a")
    assert h1 != h2 and fake_openai.count == 2 * first


def test_retries_on_429_then_labels(fake_openai, tmp_path):
    fake_openai.responder, fake_openai.fail_first, fake_openai.fail_status = gold_responder, 3, 429
    pool, _, report = prepare_pool(cfg(fake_openai, tmp_path, concurrency=1), tmp_path)
    assert report["stats"]["llm_retries"] == 3 and fake_openai.count == pool.num_rows + 3
    assert "llm_failed_used_heuristic" not in report["repaired"]


def test_malformed_replies_fall_back_and_are_counted(fake_openai, tmp_path):
    replies = iter(["Sure! The category is **Coding**.", "I cannot decide.", '{"label": "others"}'] * 100)
    fake_openai.responder = lambda req: next(replies)
    _, _, report = prepare_pool(cfg(fake_openai, tmp_path, concurrency=1), tmp_path)
    n = report["records_out"]
    assert report["repaired"]["llm_label_from_word"] == (n + 2) // 3
    assert report["repaired"]["llm_unparsed_used_heuristic"] == (n + 1) // 3


def test_unreachable_endpoint_falls_back_and_counts(fake_openai, tmp_path):
    fake_openai.fail_first, fake_openai.fail_status = 10_000, 503
    c = cfg(fake_openai, tmp_path)
    c.classifier.max_retries = 0
    _, _, report = prepare_pool(c, tmp_path)
    assert report["repaired"]["llm_failed_used_heuristic"] == report["records_out"]


def test_parse_label_variants():
    assert parse_label('```json\n{"label": "math"}\n```') == ("math", "json")
    assert parse_label('{"category": "Coding"}') == ("coding", "json")
    assert parse_label("Others") == ("other", "word")
    assert parse_label("no idea") == (None, "unparsed")
