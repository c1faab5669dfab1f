"""A loopback server speaking the OpenAI chat-completions API, for tests (the only allowed fake).

    with FakeOpenAI(responder=lambda req: "coding", fail_first=2, fail_status=429) as server:
        client = ChatClient(model="m", base_url=server.url)   # server.url = http://127.0.0.1:PORT/v1
        ...
        assert server.count == 3

``responder(request_json) -> str | dict | bytes``: a str becomes the assistant message content; a
dict is sent as the whole JSON body; bytes are sent as they are (a malformed, non-JSON body).
The first ``fail_first`` requests get ``fail_status`` (e.g. 429 or 500, a burst) before the
responder is asked; after them ``fail_when(request_json)`` may name a status for any request
(e.g. ``lambda req: 401`` for a server that rejects every key, or 503 for some requests only).
Error bodies look like OpenAI's (401: "Incorrect API key provided: <the key sent>", echoing it
as a careless server would, so tests can check codemix blanks it; 404: "The model ... does not
exist"). Every parsed request body is kept in ``server.requests``, its headers (lower-case keys)
in ``server.headers``.
Use the ``fake_openai`` fixture (import it into a conftest) or the class as a context manager.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Responder = Callable[[dict], "str | dict"]


def echo_last_user(request: dict) -> str:
    """Default responder: the last user message, echoed."""
    users = [m["content"] for m in request.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


def error_body(status: int, request: dict, headers: dict) -> dict:
    """An OpenAI-style error body for ``status``."""
    key = headers.get("authorization", "").removeprefix("Bearer ")
    message, kind = {
        400: ("Invalid request: 'messages' must be a non-empty array", "invalid_request_error"),
        401: (f"Incorrect API key provided: {key}. You can find your API key in your account.",
              "invalid_request_error"),
        403: ("You are not allowed to use this model.", "permission_error"),
        404: (f"The model `{request.get('model')}` does not exist or you do not have access to it.",
              "invalid_request_error"),
        429: ("Rate limit reached for requests", "requests"),
    }.get(status, ("scripted failure", "server_error"))
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def completion_body(content: str, model: str = "fake") -> dict:
    """A minimal valid chat.completion response body."""
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeOpenAI:
    """A ThreadingHTTPServer on 127.0.0.1 (free port) answering POST /v1/chat/completions."""

    def __init__(self, responder: Responder = echo_last_user, fail_first: int = 0, fail_status: int = 500,
                 retry_after: float | None = None, fail_when: Callable[[dict], int | None] | None = None):
        self.responder, self.fail_first, self.fail_status = responder, fail_first, fail_status
        self.fail_when = fail_when
        self.retry_after = retry_after
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.count = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread: threading.Thread | None = None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _send(self, status: int, body: dict | bytes, headers: dict | None = None) -> None:
                blob = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if isinstance(body, bytes) else "application/json")
                self.send_header("Content-Length", str(len(blob)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(blob)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.count += 1
                    n = fake.count
                    fake.requests.append(request)
                    fake.headers.append(headers)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                status = fake.fail_status if n <= fake.fail_first else (fake.fail_when and fake.fail_when(request))
                if status:
                    extra = {"Retry-After": str(fake.retry_after)} if fake.retry_after is not None else None
                    return self._send(status, error_body(status, request, headers), extra)
                reply = fake.responder(request)
                body = reply if isinstance(reply, (dict, bytes)) else completion_body(str(reply),
                                                                                   request.get("model", "fake"))
                self._send(200, body)

        return Handler

    def start(self) -> "FakeOpenAI":
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@pytest.fixture
def fake_openai():
    """A running FakeOpenAI; set ``.responder`` / ``.fail_first`` / ``.fail_status`` in the test."""
    with FakeOpenAI() as server:
        yield server
