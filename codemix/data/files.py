"""Atomic local writes: write a temporary sibling, then rename over the target."""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def canonical_json(obj: Any) -> bytes:
    """Sorted-key, indented JSON with a trailing newline: the same object gives the same bytes."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write canonical JSON atomically (temp file, then rename)."""
    atomic_write_bytes(path, canonical_json(obj))


def atomic_write_parquet(path: str | Path, table: pa.Table) -> None:
    """Write a Parquet file atomically (temp file, then rename)."""
    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(path, buf.getvalue())
