"""The OpenAI-compatible endpoints codemix pays for: what an endpoint is, the one error its failures become, and
the chat client with its reply cache.

    errors.py       Endpoint, EndpointError (what the CLI prints), FailureBudget, redaction of the key
    client.py       ChatClient: chat completions with retries, bounded concurrency and a reply cache
    reply_cache.py  ReplyCache: the persistent reply cache (SQLite)

``ChatClient`` loads when first used: its module imports ``openai`` (about 1 s), which the CLI, importing
``EndpointError`` to catch it, must not pay for.
"""

from codemix.endpoints.errors import Endpoint, EndpointError, FailureBudget, allowed_failures, excerpt, redact
from codemix.endpoints.reply_cache import ReplyCache

__all__ = ["ChatClient", "Endpoint", "EndpointError", "FailureBudget", "ReplyCache", "allowed_failures", "excerpt",
           "redact"]


def __getattr__(name):
    if name == "ChatClient":
        from codemix.endpoints.client import ChatClient

        return ChatClient
    raise AttributeError(f"module 'codemix.endpoints' has no attribute {name!r}")
