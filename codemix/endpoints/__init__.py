"""The OpenAI-compatible endpoints codemix pays for: what an endpoint is, the one error its failures become, and
the chat client with its reply cache.

    errors.py   Endpoint, EndpointError (what the CLI prints), FailureBudget, redaction of the key
    client.py   ChatClient (retries, bounded concurrency) and ReplyCache (SQLite)

``ChatClient`` and ``ReplyCache`` load when first used: their module imports ``openai`` (about 1 s), which the
CLI, importing ``EndpointError`` to catch it, must not pay for.
"""

from codemix.endpoints.errors import Endpoint, EndpointError, FailureBudget, allowed_failures, excerpt, redact

__all__ = ["ChatClient", "Endpoint", "EndpointError", "FailureBudget", "ReplyCache", "allowed_failures", "excerpt",
           "redact"]


def __getattr__(name):
    if name in ("ChatClient", "ReplyCache"):
        from codemix.endpoints import client

        return getattr(client, name)
    raise AttributeError(f"module 'codemix.endpoints' has no attribute {name!r}")
