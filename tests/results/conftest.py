"""Session fixtures: the experiment folders built by results_fixture.py (known answers; see its docstring)."""

from __future__ import annotations

from pathlib import Path

import pytest
from results_fixture import build_fine, build_grid


@pytest.fixture(scope="session")
def grid(tmp_path_factory) -> Path:
    """The paper-like grid: llama and mistral x {0, 0.5, 1}, six tasks, a failed qwen trial."""
    return build_grid(tmp_path_factory.mktemp("runs") / "grid")


@pytest.fixture(scope="session")
def fine(tmp_path_factory) -> Path:
    """The fine-grained sweep: gemma at six proportions (optimum 0.6), a duplicate llama trial."""
    return build_fine(tmp_path_factory.mktemp("runs") / "fine")
