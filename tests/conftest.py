"""Shared fixtures: the real public data beside the checkout, and an isolated model cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ../shared/data (CI has them too); tests that need them skip without."""
    path = Path(os.environ.get("CODEMIX_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path
