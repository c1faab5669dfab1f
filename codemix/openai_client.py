"""Chat completions against any OpenAI-compatible endpoint, with retries and a persistent cache.

    client = ChatClient(model="gpt-3.5-turbo", base_url="http://localhost:8000/v1",
                        api_key_env="OPENAI_API_KEY", cache="labels.sqlite")
    text = client.complete([{"role": "user", "content": "hi"}], key=("hash", "v1"))
    texts = client.complete_many([(key, messages), ...])   # bounded concurrency, order kept

The API key is read from the named environment variable when the client is built and handed to
the ``openai`` client only: it is never logged, cached or written. Retries (429, 5xx, connection
errors, timeouts) use exponential backoff with jitter and honour ``Retry-After``. The cache is a
SQLite file (one transaction per write, so a killed run never leaves a half-written entry) keyed
by whatever the caller says identifies a reply, e.g. (content hash, prompt version, model).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai

Messages = list[dict[str, str]]


class ReplyCache:
    """A persistent key -> text map in SQLite, safe to share between threads and processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    @staticmethod
    def encode(key: Hashable) -> str:
        """A canonical string for a key (tuples and lists become JSON)."""
        return key if isinstance(key, str) else json.dumps(key, sort_keys=True, default=str)

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM replies WHERE key = ?", (self.encode(key),)).fetchone()
        return row[0] if row else None

    def put(self, key: Hashable, value: str) -> None:
        with self._lock, self._db:  # the `with db` block is one transaction: committed whole or not at all
            self._db.execute("INSERT OR REPLACE INTO replies (key, value) VALUES (?, ?)", (self.encode(key), value))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _retryable(err: Exception) -> bool:
    if isinstance(err, (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError)):
        return True
    return isinstance(err, openai.APIStatusError) and (err.status_code >= 500 or err.status_code == 408)


def _retry_after(err: Exception) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class ChatClient:
    """A small, thread-safe chat-completions client: retries, bounded concurrency, persistent cache."""

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, max_retries: int = 5, backoff: float = 0.5, max_backoff: float = 30.0,
                 timeout: float = 120.0, cache: str | Path | ReplyCache | None = None):
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.concurrency, self.max_retries = concurrency, max_retries
        self.backoff, self.max_backoff = backoff, max_backoff
        api_key = os.environ.get(api_key_env)
        if not api_key:
            if self.base_url is None:
                raise ValueError(f"no API key: set the environment variable {api_key_env} (or give a base_url "
                                 "of a local OpenAI-compatible server that needs none)")
            api_key = "EMPTY"  # local servers (vLLM, llama.cpp) accept any key
        # our own retry loop (jitter, Retry-After, counted) replaces the client's
        self._client = openai.OpenAI(api_key=api_key, base_url=self.base_url, timeout=timeout, max_retries=0)
        self.cache = ReplyCache(cache) if isinstance(cache, (str, Path)) else cache
        self.stats = {"requests": 0, "retries": 0, "cache_hits": 0, "failures": 0}
        self._stats_lock = threading.Lock()

    def __repr__(self) -> str:  # no key in here, ever
        return f"ChatClient(model={self.model!r}, base_url={self.base_url!r})"

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self.stats[name] += 1

    def _request(self, messages: Messages, params: dict[str, Any]) -> str:
        for attempt in range(self.max_retries + 1):
            try:
                self._count("requests")
                reply = self._client.chat.completions.create(model=self.model, messages=messages, **params)
                return reply.choices[0].message.content or ""
            except Exception as err:  # noqa: BLE001 - classified just below
                if not _retryable(err) or attempt == self.max_retries:
                    self._count("failures")
                    raise
                self._count("retries")
                delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random())
                time.sleep(min(self.max_backoff, _retry_after(err) or delay))
        raise AssertionError("unreachable")

    def complete(self, messages: Messages, key: Hashable | None = None, **params: Any) -> str:
        """The assistant's reply text; served from the cache when ``key`` was seen before."""
        if key is not None and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self._count("cache_hits")
                return hit
        text = self._request(messages, params)
        if key is not None and self.cache is not None:
            self.cache.put(key, text)
        return text

    def complete_many(self, requests: Sequence[tuple[Hashable | None, Messages]],
                      on_done: Callable[[int], None] | None = None, **params: Any) -> list[str | Exception]:
        """Replies for (key, messages) pairs, in order, at most ``concurrency`` in flight.

        A request that still fails after its retries yields its exception in place of the text,
        so one bad conversation never loses the others' (paid-for) replies.
        """
        def one(item: tuple[Hashable | None, Messages]) -> str | Exception:
            try:
                return self.complete(item[1], key=item[0], **params)
            except Exception as err:  # noqa: BLE001 - returned to the caller, who counts it
                return err
            finally:
                if on_done:
                    on_done(1)

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, requests))
