"""Fixtures of the data-stage tests: the loopback OpenAI server and small real files."""

from __future__ import annotations

from fake_openai import fake_openai  # noqa: F401 - a fixture, re-exported for these tests
