"""The shared chat client against the loopback OpenAI server: retries, errors that stop, cache, secrets."""

from __future__ import annotations

import pickle
import socket
import threading
import time

import openai
import pytest

from codemix.endpoints import ChatClient, EndpointError, FailureBudget, ReplyCache

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


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


@pytest.mark.parametrize("status,kind,says", [
    (400, "rejected", "the endpoint rejected the request (HTTP 400; not retried)"),
    (401, "auth", "the endpoint rejected the credentials (HTTP 401; not retried): check the key in $CODEMIX_TEST_KEY"),
    (403, "auth", "the endpoint rejected the credentials (HTTP 403; not retried)"),
    (404, "not_found", "unknown model or path (HTTP 404; not retried)"),
])
def test_errors_that_cannot_heal_stop_at_once_and_say_where(fake_openai, monkeypatch, status, kind, says):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "sk-very-secret-42")
    fake_openai.fail_when = lambda req: status  # the 401 body echoes the key it got, as careless servers do
    with pytest.raises(EndpointError) as err:
        client(fake_openai, api_key_env="CODEMIX_TEST_KEY", role="llm classifier").complete(MSG)
    assert fake_openai.count == 1 and err.value.kind == kind and err.value.status == status
    message = str(err.value)
    assert message.startswith(f"llm classifier stopped: {says}")
    assert f"Endpoint {fake_openai.url}, model 'm', key from $CODEMIX_TEST_KEY. Response: " in message
    assert "sk-very-secret" not in message and "Traceback" not in message
    if status == 401:
        assert "Incorrect API key provided: ***" in message
    if status == 404:
        assert "The model `m` does not exist" in message


def test_refused_connection_is_retried_then_stops(monkeypatch):
    monkeypatch.delenv("CODEMIX_UNSET_KEY", raising=False)
    url = closed_port_url()
    c = ChatClient(model="m", base_url=url, api_key_env="CODEMIX_UNSET_KEY", max_retries=2, backoff=0.01)
    with pytest.raises(EndpointError) as err:
        c.complete(MSG)
    assert err.value.kind == "connect" and c.stats["requests"] == 3 and c.stats["retries"] == 2
    assert str(err.value) == (f"chat client stopped: cannot connect, still after 2 retries: check the base URL and "
                              f"that the server is running. Endpoint {url}, model 'm', no key ($CODEMIX_UNSET_KEY is "
                              f"not set). Error: ConnectError: [Errno 111] Connection refused")
    copy = pickle.loads(pickle.dumps(err.value))  # Ray ships it between processes
    assert str(copy) == str(err.value) and copy.kind == "connect" and copy.endpoint.url == url


@pytest.mark.parametrize("body", [b"<html><body>Welcome to nginx!</body></html>", {"not": "a completion"}])
def test_a_reply_that_is_not_a_completion_stops_at_once(fake_openai, body):
    fake_openai.responder = lambda req: body
    with pytest.raises(EndpointError) as err:
        client(fake_openai).complete(MSG)
    assert err.value.kind == "malformed" and fake_openai.count == 1
    assert "the reply is not a chat completion (HTTP 200; not retried)" in str(err.value)
    assert ("Welcome to nginx!" if isinstance(body, bytes) else '"not": "a completion"') in str(err.value)


def test_an_error_that_cannot_heal_stops_the_whole_batch(fake_openai):
    fake_openai.fail_when = lambda req: 401
    c = client(fake_openai, concurrency=2)
    with pytest.raises(EndpointError, match="HTTP 401"):
        c.complete_many([(None, [{"role": "user", "content": f"q{i}"}]) for i in range(40)])
    assert fake_openai.count <= 2  # the requests not yet sent never go out


def test_the_failure_budget_stops_a_batch_of_transient_failures(fake_openai):
    fake_openai.fail_when = lambda req: 503 if req["messages"][-1]["content"] != "q0" else None
    budget = FailureBudget(total=20, share=0.1)  # 2 may fail
    with pytest.raises(EndpointError) as err:
        client(fake_openai, concurrency=1, max_retries=1).complete_many(
            [(None, [{"role": "user", "content": f"q{i}"}]) for i in range(20)], budget=budget)
    assert err.value.kind == "too_many_failures" and budget.failed == 3 and fake_openai.count == 1 + 3 * 2
    assert "3 of the stage's 20 requests still failed after their retries (max_failure_share 0.1 allows 2); the " \
           "last: HTTP 503, still after 1 retries" in str(err.value)


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
    fake_openai.responder = lambda req: "ok"
    fake_openai.fail_when = lambda req: 503 if req["messages"][-1]["content"] == "bad" else None
    out = client(fake_openai, max_retries=1).complete_many(
        [(None, [{"role": "user", "content": c}]) for c in ("a", "bad", "b")], budget=FailureBudget(3, 0.5))
    assert out[0] == "ok" and out[2] == "ok"
    assert isinstance(out[1], openai.InternalServerError) and out[1].status_code == 503
    assert fake_openai.count == 2 + 2  # "bad" was tried twice (one retry) before it was given up


def test_api_key_comes_from_env_and_is_never_stored(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "sk-very-secret-42")
    c = ChatClient(model="m", base_url=fake_openai.url, api_key_env="CODEMIX_TEST_KEY", cache=tmp_path / "c.sqlite")
    c.complete(MSG, key="k")
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-very-secret-42"
    assert "secret" not in repr(c)
    assert all(b"sk-very-secret" not in p.read_bytes() for p in tmp_path.iterdir())
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(EndpointError, match="set the environment variable CODEMIX_MISSING_KEY"):
        ChatClient(model="m", api_key_env="CODEMIX_MISSING_KEY")
