"""Fixtures of the sweep tests: the loopback OpenAI server, and one grid run shared by the resume and search tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_openai import fake_openai  # noqa: F401 - a fixture, re-exported for these tests
from sweep_helpers import driver, small_spec


@pytest.fixture(scope="session")
def grid_storage(tmp_path_factory) -> Path:
    """Storage holding an uninterrupted run of the small grid (experiment ``resume``: llama x {0, 1}).

    Tests may add experiments to it (the search tests do) but must not change ``resume``.
    """
    storage = tmp_path_factory.mktemp("reference")
    assert driver(["run", str(small_spec(storage))]) == 0
    return storage
