"""Where codemix keeps machine-local caches (converted and tiny models, the data pool cache)."""

from __future__ import annotations

import os
from pathlib import Path


def codemix_home() -> Path:
    """Root of codemix's local caches: ``$CODEMIX_HOME``, default ``~/.cache/codemix``."""
    return Path(os.environ.get("CODEMIX_HOME", Path.home() / ".cache" / "codemix"))
