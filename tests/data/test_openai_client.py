"""The shared chat client against the loopback OpenAI server: retries, cache, concurrency, secrets."""

from __future__ import annotations

import threading
import time

import openai
import pytest

from codemix.openai_client import ChatClient, ReplyCache

MSG = [{"role": "user", "content": "ping"}]


def client(server, tmp_path=None, **kw):
    kw.setdefault("backoff", 0.01)
    return ChatClient(model="m", base_url=server.url, cache=tmp_path / "c.sqlite" if tmp_path else None, **kw)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_transient_errors_then_succeeds(fake_openai, status):
    fake_openai.fail_first, fake_openai.fail_status = 2, status
    c = client(fake_openai)
    assert c.complete(MSG) == "ping"
    assert fake_openai.count == 3 and c.stats["retries"] == 2


def test_gives_up_after_max_retries(fake_openai):
    fake_openai.fail_first, fake_openai.fail_status = 100, 500
    c = client(fake_openai, max_retries=2)
    with pytest.raises(openai.InternalServerError):
        c.complete(MSG)
    assert fake_openai.count == 3


def test_client_errors_are_not_retried(fake_openai):
    fake_openai.fail_first, fake_openai.fail_status = 1, 400
    with pytest.raises(openai.BadRequestError):
        client(fake_openai).complete(MSG)
    assert fake_openai.count == 1


def test_retry_after_header_is_honoured(fake_openai):
    fake_openai.fail_first, fake_openai.fail_status, fake_openai.retry_after = 1, 429, 0.3
    start = time.monotonic()
    client(fake_openai, backoff=0.001).complete(MSG)
    assert time.monotonic() - start >= 0.3


def test_cache_persists_across_clients(fake_openai, tmp_path):
    assert client(fake_openai, tmp_path).complete(MSG, key=("h", "v1", "m")) == "ping"
    fake_openai.responder = lambda req: "changed"
    again = client(fake_openai, tmp_path)
    assert again.complete(MSG, key=("h", "v1", "m")) == "ping"  # served from disk
    assert again.complete(MSG, key=("h", "v2", "m")) == "changed"
    assert fake_openai.count == 2 and again.stats["cache_hits"] == 1
    assert len(ReplyCache(tmp_path / "c.sqlite")) == 2


def test_concurrency_is_bounded_and_order_kept(fake_openai):
    active, peak, lock = [0], [0], threading.Lock()

    def slow(req):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return req["messages"][-1]["content"].upper()

    fake_openai.responder = slow
    c = client(fake_openai, concurrency=3)
    out = c.complete_many([(None, [{"role": "user", "content": f"q{i}"}]) for i in range(12)])
    assert out == [f"Q{i}" for i in range(12)]
    assert 2 <= peak[0] <= 3


def test_failed_request_is_returned_not_raised(fake_openai):
    fake_openai.responder = lambda req: {"not": "a completion"} if "bad" in req["messages"][-1]["content"] else "ok"
    out = client(fake_openai).complete_many([(None, [{"role": "user", "content": c}]) for c in ("a", "bad", "b")])
    assert out[0] == "ok" and out[2] == "ok" and isinstance(out[1], Exception)


def test_api_key_comes_from_env_and_is_never_stored(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "sk-very-secret-42")
    c = ChatClient(model="m", base_url=fake_openai.url, api_key_env="CODEMIX_TEST_KEY", cache=tmp_path / "c.sqlite")
    c.complete(MSG, key="k")
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-very-secret-42"
    assert "secret" not in repr(c)
    assert all(b"sk-very-secret" not in p.read_bytes() for p in tmp_path.iterdir())
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="set the environment variable CODEMIX_MISSING_KEY"):
        ChatClient(model="m", api_key_env="CODEMIX_MISSING_KEY")
