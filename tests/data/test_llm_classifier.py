"""The llm classifier through the loopback server: parsing, cache hits, retries, and failures that
stop labelling, drop conversations (counted) or, only when asked, fall back to the heuristic (marked)."""

from __future__ import annotations

import json
import socket

import pytest

from codemix.data import build_mix, prepare_pool
from codemix.data.classify.llm import FALLBACK_TAG, PROMPT_VERSION, parse_label
from codemix.data.demo import generate_demo_corpus
from codemix.endpoints import EndpointError
from codemix.spec import ClassifierConfig, DataConfig, MixConfig

GOLD = {r["id"]: r["label"] for r in generate_demo_corpus(40, 0)}


def gold_responder(req):
    """Answer with the demo's gold label, found from the conversation text in the prompt."""
    text = req["messages"][-1]["content"]
    if "```" in text:
        return '{"label": "coding"}'
    return json.dumps({"label": "math" if "The answer is" in text else "other"})


def cfg(server, tmp_path, fallback="none", **endpoint):
    return DataConfig(demo_size=40, classifier=ClassifierConfig(
        name="llm", endpoint={"model": "fake-model", "base_url": server.url, "retries": 3, "backoff": 0.01, **endpoint},
        cache_dir=str(tmp_path / "labels"), fallback=fallback))


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
    c.classifier.endpoint.model = "other-model"
    _, h2, _ = prepare_pool(c, tmp_path / "a")
    assert h1 != h2 and fake_openai.count == 2 * first


def test_retries_on_429_then_labels(fake_openai, tmp_path):
    fake_openai.responder, fake_openai.fail_first, fake_openai.fail_status = gold_responder, 3, 429
    pool, _, report = prepare_pool(cfg(fake_openai, tmp_path, concurrency=1), tmp_path)
    assert report["stats"]["llm_retries"] == 3 and fake_openai.count == pool.num_rows + 3
    assert "llm_failed_used_heuristic" not in report["repaired"]


def test_replies_naming_no_label_are_dropped_or_fall_back_only_when_asked(fake_openai, tmp_path):
    replies = iter(["Sure! The category is **Coding**.", "I cannot decide.", '{"label": "others"}'] * 100)
    fake_openai.responder = lambda req: next(replies)
    c = cfg(fake_openai, tmp_path, concurrency=1, max_failure_share=0.5)
    pool, _, report = prepare_pool(c, tmp_path / "a")
    n = fake_openai.count  # one request per cleaned conversation
    unparsed = report["dropped"]["llm_unparsed"]
    assert unparsed == (n + 1) // 3 and pool.num_rows == n - unparsed
    assert report["repaired"]["llm_label_from_word"] == (n + 2) // 3
    assert set(pool.column("classifier").to_pylist()) == {f"llm-v1:fake-model:{PROMPT_VERSION}"}
    # asked for: the same replies (now from the cache) with the heuristic filling in, every such label marked
    c.classifier.fallback = "heuristic"
    pool, _, report = prepare_pool(c, tmp_path / "b")
    sources = pool.column("classifier").to_pylist()
    assert pool.num_rows == n and sources.count(FALLBACK_TAG) == unparsed == report["repaired"][
        "llm_unparsed_used_heuristic"]
    assert "llm_unparsed" not in report["dropped"] and fake_openai.count == n


def test_replies_naming_no_label_beyond_the_share_stop_labelling(fake_openai, tmp_path):
    fake_openai.responder = lambda req: "I am a helpful assistant. How can I help?"
    with pytest.raises(EndpointError) as err:
        prepare_pool(cfg(fake_openai, tmp_path), tmp_path)
    assert err.value.kind == "unlabelled"
    assert "replies named no label; the first reply without one: 'I am a helpful assistant." in str(err.value)
    assert "set data.classifier.fallback: heuristic" in str(err.value)
    assert not (tmp_path / "pools").exists()


def test_failures_beyond_the_share_stop_labelling(fake_openai, tmp_path):
    fake_openai.responder = gold_responder
    fake_openai.fail_when = lambda req: 503 if "```" in req["messages"][-1]["content"] else None  # every coding one
    c = cfg(fake_openai, tmp_path, concurrency=1, max_failure_share=0.05)
    c.classifier.endpoint.retries = 1
    with pytest.raises(EndpointError) as err:
        prepare_pool(c, tmp_path)
    message = str(err.value)
    assert err.value.kind == "too_many_failures" and "(max_failure_share 0.05 allows 2)" in message
    assert message.startswith("llm classifier stopped: 3 of the stage's") and "the last: HTTP 503" in message
    assert not (tmp_path / "pools").exists()


def _failing_for(ids: list[str]):
    """A fail_when answering 503 for the conversations ``ids`` (found by their first user turn)."""
    firsts = {r["id"]: r["conversations"][0]["value"] for r in generate_demo_corpus(40, 0)}
    assert all(sum(firsts[i] == v for v in firsts.values()) == 1 for i in ids)
    marks = [f"USER: {firsts[i]}" for i in ids]
    return lambda req: 503 if any(m in req["messages"][-1]["content"] for m in marks) else None


def test_failures_within_the_share_are_dropped_or_marked_fallbacks_counted_in_the_mix(fake_openai, tmp_path):
    fake_openai.responder = gold_responder
    failing = sorted(GOLD)[:3]
    fake_openai.fail_when = _failing_for(failing)
    c = cfg(fake_openai, tmp_path, max_failure_share=0.1)
    c.classifier.endpoint.retries = 0
    pool, _, report = prepare_pool(c, tmp_path / "a")
    assert report["dropped"]["llm_failed"] == 3 and not set(failing) & set(pool.column("id").to_pylist())
    c.classifier.fallback = "heuristic"  # a new pool (its hash says so), the 37 good replies from the cache
    pool, _, report = prepare_pool(c, tmp_path / "b")
    marked = {i for i, s in zip(pool.column("id").to_pylist(), pool.column("classifier").to_pylist())
              if s == FALLBACK_TAG}
    assert marked == set(failing) and report["repaired"]["llm_failed_used_heuristic"] == 3
    labels = pool.column("label").to_pylist()
    _, manifest = build_mix(pool, MixConfig(total=pool.num_rows), labels.count("coding") / pool.num_rows, 0)
    assert manifest["fallback_labels"] == 3 and manifest["label_sources"][FALLBACK_TAG] == 3
    assert sum(manifest["label_sources"].values()) == pool.num_rows == 40


def test_a_rejected_key_stops_labelling_at_once(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "sk-classifier-secret-7")
    fake_openai.fail_when = lambda req: 401
    c = cfg(fake_openai, tmp_path, concurrency=2, fallback="heuristic")  # no fallback for what cannot heal
    c.classifier.endpoint.api_key_env = "CODEMIX_TEST_KEY"
    with pytest.raises(EndpointError) as err:
        prepare_pool(c, tmp_path)
    assert err.value.kind == "auth" and fake_openai.count <= 2 and "sk-classifier-secret" not in str(err.value)
    assert not (tmp_path / "pools").exists()


def test_unreachable_endpoint_stops_labelling_with_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # closed once the block ends: connections are refused
    endpoint = {"model": "fake-model", "base_url": url, "retries": 1, "backoff": 0.01}
    c = DataConfig(demo_size=40, classifier=ClassifierConfig(name="llm", endpoint=endpoint, fallback="heuristic",
                                                             cache_dir=str(tmp_path / "labels")))
    with pytest.raises(EndpointError) as err:
        prepare_pool(c, tmp_path)
    assert err.value.kind == "connect" and f"Endpoint {url}, model 'fake-model'" in str(err.value)
    assert "Connection refused" in str(err.value) and not (tmp_path / "pools").exists()


def test_a_run_whose_labels_are_all_cached_sends_nothing_and_needs_no_key(fake_openai, tmp_path, monkeypatch):
    fake_openai.responder = gold_responder
    first, _, _ = prepare_pool(cfg(fake_openai, tmp_path), tmp_path / "a")
    sent = fake_openai.count
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    offline = cfg(fake_openai, tmp_path)
    offline.classifier.endpoint.base_url, offline.classifier.endpoint.api_key_env = None, "CODEMIX_NO_SUCH_KEY"
    again, _, report = prepare_pool(offline, tmp_path / "b")
    assert fake_openai.count == sent and report["stats"]["llm_cache_hits"] == first.num_rows
    assert again.column("label").to_pylist() == first.column("label").to_pylist()


def test_parse_label_variants():
    assert parse_label('```json\n{"label": "math"}\n```') == ("math", "json")
    assert parse_label('{"category": "Coding"}') == ("coding", "json")
    assert parse_label("Others") == ("other", "word")
    assert parse_label("no idea") == (None, "unparsed")


def test_classify_cli_stops_on_a_rejected_key_and_the_key_is_in_no_output_cache_or_log(fake_openai, tmp_path,
                                                                                       monkeypatch):
    """The issue's repro: `codemix data classify --classifier llm` against a server that answers 401."""
    from typer.testing import CliRunner

    from codemix.data.cli import app

    key = "sk-classify-secret-5678"
    monkeypatch.setenv("CODEMIX_TEST_KEY", key)
    src = tmp_path / "in" / "sharegpt.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps(r) + "\n" for r in generate_demo_corpus(30, 1)))
    args = ["classify", str(src), "--classifier", "llm", "--model", "fake-model", "--base-url", fake_openai.url,
            "--api-key-env", "CODEMIX_TEST_KEY", "--cache-dir", str(tmp_path / "labels")]
    fake_openai.responder = gold_responder
    ok = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "good.parquet")])
    assert ok.exit_code == 0, ok.output
    fake_openai.responder, fake_openai.fail_when = gold_responder, lambda req: 401
    args[args.index("fake-model")] = "other-model"  # nothing cached for this model: it must ask, and is refused
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "bad.parquet")])
    text = " ".join(bad.output.split())
    assert bad.exit_code == 2 and "llm classifier stopped: the endpoint rejected the credentials (HTTP 401" in text
    assert "Incorrect API key provided: ***" in text and not (tmp_path / "bad.parquet").exists()
    assert all(h["authorization"] == f"Bearer {key}" for h in fake_openai.headers)  # it was sent, as the header only
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"good.parquet", "good.report.json", "llm_labels.sqlite"}
    for blob in [ok.output.encode(), bad.output.encode(), *(p.read_bytes() for p in files)]:
        assert key.encode() not in blob


def test_label_cache_lives_in_the_storage_and_is_shared_by_sweeps_on_other_machines(fake_openai, tmp_path,
                                                                                     monkeypatch):
    import pyarrow.fs as pafs

    from codemix.data import label_pool
    from codemix.data.classify.label_store import storage_labels_dir
    from codemix.storage import Store

    monkeypatch.setenv("CODEMIX_TEST_KEY", "sk-remote-secret-31")
    (tmp_path / "bucket").mkdir()
    remote = Store("codemix", filesystem=pafs.SubTreeFileSystem(str(tmp_path / "bucket"), pafs.LocalFileSystem()))
    assert not remote.is_local  # an object store, as far as codemix can tell: SQLite cannot live there
    fake_openai.responder = gold_responder
    c = cfg(fake_openai, tmp_path)
    c.classifier.cache_dir, c.classifier.endpoint.api_key_env = None, "CODEMIX_TEST_KEY"
    for machine in ("head-1", "head-2"):  # e.g. a cluster taken down and a new one started for the next sweep
        monkeypatch.setenv("CODEMIX_HOME", str(tmp_path / machine))
        with storage_labels_dir(c.classifier, remote) as labels_dir:
            assert str(labels_dir).startswith(str(tmp_path / machine))
            table, report = label_pool(c, labels_dir)
        if machine == "head-1":
            paid = fake_openai.count
            assert paid == table.num_rows
    assert fake_openai.count == paid and report["stats"]["llm_cache_hits"] == table.num_rows
    stored = tmp_path / "bucket" / "codemix" / "_cache" / "labels" / "llm_labels.sqlite"
    assert stored.exists() and b"sk-remote-secret" not in stored.read_bytes()
