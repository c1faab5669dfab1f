"""The OpenAI-compatible endpoints codemix pays for, and the one error their failures become.

Every chat client (the ``llm`` classifier, the LLM answer extractor, the ``openai`` generation
backend) describes its endpoint with :class:`Endpoint`. A failure that retrying cannot heal (a
rejected key, an unknown model or path, a request the server refuses, no connection after the
retries, a reply that is not a chat completion) or too many requests that still fail after
their retries stop the stage with an :class:`EndpointError`. Its message names the stage, the
endpoint, the model, the environment variable the key came from (never the key: any echo of it
in a response body is blanked) and the HTTP status with an excerpt of the body. The CLI prints
it and exits 2.

This module imports nothing heavy, so the CLI can catch the error without importing ``openai``.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

EXCERPT_CHARS = 300


@dataclass(frozen=True)
class Endpoint:
    """Who is asking which endpoint for what: enough to say where a failure came from."""

    role: str  # the stage, e.g. "llm classifier"
    url: str  # the base URL actually used
    model: str
    api_key_env: str
    key_set: bool  # False: the variable was empty and a placeholder key was sent (local servers)

    def describe(self) -> str:
        """'endpoint URL, model 'M', key from $VAR' (the key itself never appears)."""
        key = f"key from ${self.api_key_env}" if self.key_set else f"no key (${self.api_key_env} is not set)"
        return f"endpoint {self.url}, model {self.model!r}, {key}"


class EndpointError(RuntimeError):
    """An endpoint failure that stops the stage; the message says where, what and what to check.

    ``kind``: "auth" (401/403), "not_found" (404), "rejected" (other 4xx), "connect" (no
    connection after the retries), "malformed" (the reply is not a chat completion), "no_key",
    "too_many_failures" (transient failures beyond the stage's share) or "unlabelled" (replies
    that name no label, beyond the share).
    """

    def __init__(self, message: str, *, kind: str = "", status: int | None = None, endpoint: Endpoint | None = None):
        super().__init__(message)
        self.kind, self.status, self.endpoint = kind, status, endpoint

    def __reduce__(self):  # keep the attributes when Ray ships the error between processes
        return (self.__class__, (str(self),), {"kind": self.kind, "status": self.status, "endpoint": self.endpoint})


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` blanked (servers may echo the key they rejected)."""
    return text.replace(secret, "***") if secret and len(secret) >= 4 else text


def excerpt(text: str, secret: str | None = None, limit: int = EXCERPT_CHARS) -> str:
    """A one-line, key-free excerpt of a response body."""
    flat = re.sub(r"\s+", " ", redact(text or "", secret)).strip()
    return flat if len(flat) <= limit else flat[:limit] + " ..."


def allowed_failures(share: float, n: int) -> int:
    """How many of ``n`` requests may still fail after their retries before the stage stops."""
    return math.floor(share * n + 1e-9)


class FailureBudget:
    """How many of a stage's ``total`` requests may still fail after their retries: floor(share x total).

    Shared by every batch of the stage (thread-safe), so the share is of the stage, not of a batch.
    """

    def __init__(self, total: int, share: float):
        self.total, self.share = total, share
        self.allowed = allowed_failures(share, total)
        self.failed = 0
        self._lock = threading.Lock()

    def spend(self) -> bool:
        """Count one failed request; True when the stage is now over its budget."""
        with self._lock:
            self.failed += 1
            return self.failed > self.allowed

    @property
    def exceeded(self) -> bool:
        return self.failed > self.allowed
