"""Chat completions against any OpenAI-compatible endpoint, with retries and a persistent cache.

    client = ChatClient(model="gpt-3.5-turbo", base_url="http://localhost:8000/v1",
                        api_key_env="OPENAI_API_KEY", cache="labels.sqlite", role="llm classifier")
    text = client.complete([{"role": "user", "content": "hi"}], key=("hash", "v1"))
    texts = client.complete_many([(key, messages), ...], max_failures=5)   # bounded concurrency, order kept

The API key is read from the named environment variable when the client is built and handed to
the ``openai`` client only: it is never logged, cached or written, and blanked from any response
body quoted in an error. Failures fall in two kinds:

- transient (429, 408/409, 5xx, timeouts, dropped connections): retried with exponential backoff
  and jitter, honouring ``Retry-After``; connection refused / DNS failures are retried too and
  become an :class:`~codemix.endpoints.EndpointError` when the retries run out;
- permanent (401/403, 404, other 4xx, a reply that is not a chat completion): never retried; an
  ``EndpointError`` at once, which stops ``complete_many`` too.

The cache is a ``ReplyCache`` (``reply_cache.py``, SQLite) keyed by whatever the caller says identifies a
reply, e.g. (content hash, prompt version, model).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai

from codemix.endpoints.errors import Endpoint, EndpointError, FailureBudget, excerpt
from codemix.endpoints.reply_cache import ReplyCache

Messages = list[dict[str, str]]
PROBE = [{"role": "user", "content": "Reply with the word ok."}]


def _transient(err: Exception) -> bool:
    """Worth retrying: rate limits, server errors, timeouts and connection problems."""
    if isinstance(err, (openai.APIConnectionError, openai.RateLimitError)):  # timeouts are connection errors
        return True
    return isinstance(err, openai.APIStatusError) and (err.status_code >= 500 or err.status_code in (408, 409))


def _retry_after(err: Exception) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _Malformed(Exception):
    """A 200 reply that is not a chat completion."""


def _reply_text(reply: Any) -> str:
    choices = getattr(reply, "choices", None)
    message = getattr(choices[0], "message", None) if isinstance(choices, list) and choices else None
    if message is None:
        raise _Malformed(reply if isinstance(reply, str) else json.dumps(_as_jsonable(reply), default=str))
    return message.content or ""


def _as_jsonable(reply: Any) -> Any:
    dump = getattr(reply, "model_dump", None)
    return dump(exclude_none=True) if callable(dump) else reply


class ChatClient:
    """A small, thread-safe chat-completions client: retries, bounded concurrency, persistent cache."""

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, max_retries: int = 5, backoff: float = 0.5, max_backoff: float = 30.0,
                 timeout: float = 120.0, cache: str | Path | ReplyCache | None = None, role: str = "chat client"):
        self.model, self.role, self.api_key_env = model, role, api_key_env
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.concurrency, self.max_retries = concurrency, max_retries
        self.backoff, self.max_backoff = backoff, max_backoff
        api_key = os.environ.get(api_key_env)
        self._secret = api_key or None  # only to blank echoes of it in quoted response bodies
        if not api_key:
            if self.base_url is None:
                raise EndpointError(
                    f"{role} stopped: no API key: set the environment variable {api_key_env} (or give the base URL "
                    f"of a local OpenAI-compatible server that needs none). Model {model!r}.", kind="no_key")
            api_key = "EMPTY"  # local servers (vLLM, llama.cpp) accept any key
        # our own retry loop (jitter, Retry-After, counted) replaces the client's
        self._client = openai.OpenAI(api_key=api_key, base_url=self.base_url, timeout=timeout, max_retries=0)
        self.endpoint = Endpoint(role, str(self._client.base_url).rstrip("/"), model, api_key_env, bool(self._secret))
        self.cache = ReplyCache(cache) if isinstance(cache, (str, Path)) else cache
        self.stats = {"requests": 0, "retries": 0, "cache_hits": 0, "failures": 0}
        self._stats_lock = threading.Lock()

    def __repr__(self) -> str:  # no key in here, ever
        return f"ChatClient(model={self.model!r}, base_url={self.endpoint.url!r})"

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self.stats[name] += 1

    # ---- errors

    def error(self, err: Exception, retries: int | None = None) -> EndpointError:
        """The EndpointError that reports ``err`` (an openai exception or a malformed reply)."""
        if isinstance(err, EndpointError):
            return err
        kind, status, headline, detail = self._explain(err, self.max_retries if retries is None else retries)
        return self._make(kind, status, headline, detail)

    def _explain(self, err: Exception, retries: int) -> tuple[str, int | None, str, str]:
        """(kind, HTTP status, what happened and what to check, quoted response or error)."""
        if isinstance(err, _Malformed):
            return ("malformed", 200, "the reply is not a chat completion (HTTP 200; not retried): check that the "
                    "base URL is that of an OpenAI-compatible API (usually ending in /v1)",
                    self._body("Response", str(err)))
        if isinstance(err, openai.APIStatusError):
            status, body = err.status_code, self._body("Response", err.response.text)
            if status in (401, 403):
                return ("auth", status, f"the endpoint rejected the credentials (HTTP {status}; not retried): "
                        f"check the key in ${self.api_key_env}", body)
            if status == 404:
                return ("not_found", status, "unknown model or path (HTTP 404; not retried): check the model name "
                        "and the base URL (usually ending in /v1)", body)
            if not _transient(err):
                return ("rejected", status, f"the endpoint rejected the request (HTTP {status}; not retried): check "
                        "that the model serves chat completions with these parameters", body)
            return "transient", status, f"HTTP {status}, still after {retries} retries", body
        if isinstance(err, openai.APITimeoutError):
            return "transient", None, f"no reply within the timeout, still after {retries} retries", ""
        if isinstance(err, openai.APIConnectionError):
            cause = err.__cause__ or err
            return ("connect", None, f"cannot connect, still after {retries} retries: check the base URL and that "
                    "the server is running", self._body("Error", f"{type(cause).__name__}: {cause}"))
        return "rejected", None, "the request failed", self._body("Error", f"{type(err).__name__}: {err}")

    def _make(self, kind: str, status: int | None, headline: str, detail: str) -> EndpointError:
        where = self.endpoint.describe()
        return EndpointError(f"{self.role} stopped: {headline}. {where[0].upper()}{where[1:]}. {detail}".rstrip(),
                             kind=kind, status=status, endpoint=self.endpoint)

    def _body(self, label: str, text: str) -> str:
        return f"{label}: {excerpt(text, self._secret) or '(empty)'}"

    def too_many_failures(self, last: Exception, budget: FailureBudget) -> EndpointError:
        """The error of a stage where more requests failed after their retries than its budget allows."""
        _, status, headline, detail = self._explain(last, self.max_retries)
        return self._make("too_many_failures", status, f"{budget.failed} of the stage's {budget.total} requests "
                          f"still failed after their retries (max_failure_share {budget.share:g} allows "
                          f"{budget.allowed}); the last: {headline}", detail)

    # ---- requests

    def _request(self, messages: Messages, params: dict[str, Any], stop: threading.Event | None = None) -> str:
        for attempt in range(self.max_retries + 1):
            try:
                self._count("requests")
                reply = self._client.chat.completions.create(model=self.model, messages=messages, **params)
                return _reply_text(reply)
            except Exception as err:  # noqa: BLE001 - classified just below
                last = attempt == self.max_retries or (stop is not None and stop.is_set())
                if not _transient(err) or last:
                    self._count("failures")
                    if not _transient(err) or (isinstance(err, openai.APIConnectionError)
                                               and not isinstance(err, openai.APITimeoutError)):
                        raise self.error(err, attempt) from None  # cannot heal: stops the stage
                    raise
                self._count("retries")
                delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random())
                delay = min(self.max_backoff, _retry_after(err) or delay)
                if stop is not None:
                    stop.wait(delay)
                else:
                    time.sleep(delay)
        raise AssertionError("unreachable")

    def complete(self, messages: Messages, key: Hashable | None = None, **params: Any) -> str:
        """The assistant's reply text; served from the cache when ``key`` was seen before.

        Raises EndpointError for what retrying cannot heal, and the last openai error when a
        transient failure outlasts the retries.
        """
        return self._complete(messages, key, params)

    def _complete(self, messages: Messages, key: Hashable | None, params: dict,
                  stop: threading.Event | None = None) -> str:
        if key is not None and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self._count("cache_hits")
                return hit
        text = self._request(messages, params, stop)
        if key is not None and self.cache is not None:
            self.cache.put(key, text)
        return text

    def probe(self) -> float:
        """Send one minimal request (a few tokens, never cached); seconds it took. Raises EndpointError."""
        start = time.perf_counter()
        try:
            self._request(PROBE, {"max_tokens": 1, "temperature": 0})
        except Exception as err:  # noqa: BLE001 - every failure is reported the same way here
            raise self.error(err) from None
        return time.perf_counter() - start

    def complete_many(self, requests: Sequence[tuple[Hashable | None, Messages]],
                      on_done: Callable[[int], None] | None = None, budget: FailureBudget | None = None,
                      **params: Any) -> list[str | Exception]:
        """Replies for (key, messages) pairs, in order, at most ``concurrency`` in flight.

        A request whose transient failure outlasts its retries yields its exception in place of
        the text, so one bad conversation never loses the others' (paid-for) replies, unless the
        stage's ``budget`` of such failures is spent: then, as on any failure that cannot heal,
        the requests not yet sent are skipped and EndpointError is raised.
        """
        stop, lock = threading.Event(), threading.Lock()
        fatal: list[EndpointError] = []
        last: list[Exception] = []

        def one(item: tuple[Hashable | None, Messages]) -> str | Exception | None:
            if stop.is_set():
                return None
            try:
                return self._complete(item[1], item[0], params, stop)
            except EndpointError as err:
                with lock:
                    fatal.append(err)
                stop.set()
                return err
            except Exception as err:  # noqa: BLE001 - returned to the caller, who counts it
                last.append(err)
                if budget is not None and budget.spend():
                    stop.set()
                return err
            finally:
                if on_done:
                    on_done(1)

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            out = list(pool.map(one, requests))
        if fatal:
            raise fatal[0]
        if budget is not None and budget.exceeded:
            raise self.too_many_failures(last[-1], budget)
        return out
