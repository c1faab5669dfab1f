"""GGUF checkpoints (llama.cpp's format) as ordinary safetensors folders.

transformers reads a ``.gguf`` file (``from_pretrained(dir, gguf_file=name)``, through the
``gguf`` package) by dequantising every tensor, which takes tens of seconds, and a model loaded
that way refuses ``save_pretrained``. ``converted_dir`` does that once per file: it rebuilds the
model from its config, copies the dequantised weights in, and saves weights (safetensors),
config, tokenizer and chat template into a cached folder that every later load reads in
seconds through the same ``from_pretrained(path)`` code as any checkpoint.

The cache key is the file's content hash, so a changed file is converted again, and the folder
is published atomically (built under a temporary name, then renamed), so concurrent converters
on one machine either win or find the finished folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from codemix.paths import gguf_converted_dir
from codemix.storage import atomic_dir

log = logging.getLogger("codemix")
GGUF_MARKER = "codemix_gguf.json"  # written into a converted folder: which file it came from
CONVERT_VERSION = "gguf-v1"


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def is_converted(gguf_path: str | Path) -> bool:
    """Whether ``converted_dir`` would find ``gguf_path`` converted already (nothing is converted here)."""
    gguf_path = Path(gguf_path).expanduser().resolve()
    return gguf_path.is_file() and (_out_dir(gguf_path, file_sha256(gguf_path)) / GGUF_MARKER).exists()


def _out_dir(gguf_path: Path, sha: str) -> Path:
    return gguf_converted_dir(f"{gguf_path.stem}-{sha[:16]}")


def converted_dir(gguf_path: str | Path) -> Path:
    """The safetensors folder converted from ``gguf_path``, converting it on first use."""
    gguf_path = Path(gguf_path).expanduser().resolve()
    if not gguf_path.is_file():
        raise FileNotFoundError(f"{gguf_path}: no such GGUF file")
    sha = file_sha256(gguf_path)
    out = _out_dir(gguf_path, sha)
    if (out / GGUF_MARKER).exists():
        return out
    log.info("converting %s to safetensors (once; cached at %s)", gguf_path.name, out)
    with atomic_dir(out) as tmp:  # a lost race or a failed conversion leaves nothing behind
        _convert(gguf_path, tmp)
        (tmp / GGUF_MARKER).write_text(json.dumps({"source": str(gguf_path), "sha256": sha,
                                                   "version": CONVERT_VERSION}))
    return out


def _convert(gguf_path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the weights are dequantised: a plain checkpoint now
        del config.quantization_config
    config.name_or_path = gguf_path.stem
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), assign=True)
    model.tie_weights()
    model.generation_config = loaded.generation_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
