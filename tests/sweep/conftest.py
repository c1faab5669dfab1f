"""Fixtures of the sweep tests: the loopback OpenAI server."""

from __future__ import annotations

from fake_openai import fake_openai  # noqa: F401 - a fixture, re-exported for these tests
