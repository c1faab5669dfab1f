"""A loopback server speaking the OpenAI chat-completions API, for tests (the only allowed fake).

    with FakeOpenAI(responder=lambda req: "coding", fail_first=2, fail_status=429) as server:
        client = ChatClient(model="m", base_url=server.url)   # server.url = http://127.0.0.1:PORT/v1
        ...
        assert server.count == 3

``responder(request_json) -> str | dict``: a str becomes the assistant message content; a dict is
sent as the whole JSON body. The first ``fail_first`` requests get ``fail_status`` (e.g. 429 or
500) before the responder is asked. Every parsed request body is kept in ``server.requests``,
its headers (lower-case keys) in ``server.headers``.
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
                 retry_after: float | None = None):
        self.responder, self.fail_first, self.fail_status = responder, fail_first, fail_status
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

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                blob = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(blob)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(blob)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.count += 1
                    n = fake.count
                    fake.requests.append(request)
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if n <= fake.fail_first:
                    extra = {"Retry-After": str(fake.retry_after)} if fake.retry_after is not None else None
                    return self._send(fake.fail_status, {"error": {"message": "scripted failure",
                                                                   "type": "server_error"}}, extra)
                reply = fake.responder(request)
                body = reply if isinstance(reply, dict) else completion_body(str(reply), request.get("model", "fake"))
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
