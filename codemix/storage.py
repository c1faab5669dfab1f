"""Experiment storage on local disk or any pyarrow filesystem (s3://, gs://, ...), with atomic writes.

Every write goes to a temporary name first and is then renamed (local disk) or marked complete
(object stores, where a directory cannot be renamed): an interrupted run never leaves a file or
stage output that looks finished but is not. The local helpers (``atomic_path``, ``atomic_write_*``,
``atomic_dir``) are the one implementation of that for the whole of codemix.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

COMPLETE = "_COMPLETE"


def stable_hash(obj: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys), truncated: a content address."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def canonical_json(obj: Any) -> bytes:
    """Sorted-key, indented JSON with a trailing newline: the same object gives the same bytes."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


# ----------------------------------------------------------------------------- atomic local writes


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary sibling of ``path`` to write; flushed to disk and renamed over ``path`` when the block
    ends without error, so readers see the old file or the whole new one, never a part. (A writer that
    picks its format from the file name must be told it: the temporary name ends in ``.tmp-xxxxxxxx``.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see ``atomic_path``)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write canonical JSON to ``path`` atomically."""
    atomic_write_bytes(path, canonical_json(obj))


def atomic_write_parquet(path: str | Path, table: pa.Table) -> None:
    """Write a Parquet file atomically."""
    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(path, buf.getvalue())


@contextmanager
def atomic_dir(final: str | Path, replace: bool = False) -> Iterator[Path]:
    """A fresh temporary directory beside ``final`` that becomes ``final`` in one rename when the block ends
    without error; on error it is removed.

    An existing ``final`` is kept (a concurrent writer finished first; its content is the same by
    construction) unless ``replace``, which removes it first (a half-written leftover of a killed run).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        if replace and final.exists():
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def copy_tree(source_fs: pafs.FileSystem, source: str, dest_fs: pafs.FileSystem, dest: str) -> None:
    """Copy a folder between storages: within one filesystem file by file with its own copy (an object store's is
    server-side: no byte passes through this process), else streamed through this process, never onto its disk."""
    if not source_fs.equals(dest_fs):
        pafs.copy_files(source, dest, source_filesystem=source_fs, destination_filesystem=dest_fs)
        return
    base = source.rstrip("/")
    for info in source_fs.get_file_info(pafs.FileSelector(base, recursive=True)):
        if info.type == pafs.FileType.File:
            target = f"{dest.rstrip('/')}/{info.path[len(base) + 1:]}"
            dest_fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
            dest_fs.copy_file(info.path, target)


# ----------------------------------------------------------------------------- storage


class StorageError(OSError):
    """A storage URI that cannot be opened (unknown scheme, bucket, credentials, network)."""


class Store:
    """A root folder, local or remote, addressed by '/'-separated relative keys."""

    def __init__(self, uri: str | Path, filesystem: pafs.FileSystem | None = None):
        uri = str(uri)
        if filesystem is not None:
            self.fs, self.root = filesystem, uri.rstrip("/")
        elif "://" in uri:
            try:
                self.fs, self.root = pafs.FileSystem.from_uri(uri)
            except (OSError, ValueError, pa.ArrowException) as err:
                raise StorageError(f"storage {uri!r} cannot be opened: {err}. Check the URI, the "
                                   "credentials (e.g. AWS_* variables or an instance profile) and the "
                                   "network, or use a local folder (--storage DIR or --set storage=DIR).") from None
            self.root = self.root.rstrip("/")
        else:
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(uri).expanduser().resolve())
        self.uri = uri
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        """The filesystem path of a key."""
        return "/".join([self.root, *[p.strip("/") for p in parts if p]])

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def child(self, *parts: str) -> "Store":
        """A Store rooted at a sub-folder of this one."""
        sub = Store(self.path(*parts), filesystem=self.fs)
        sub.uri = self.url(*parts)
        return sub

    def url(self, *parts: str) -> str:
        """A path or URI that pyarrow can open from any process: a local path or scheme://...?options."""
        if self.is_local or "://" not in self.uri:
            return self.path(*parts)
        base, sep, query = self.uri.partition("?")  # e.g. ?endpoint_override=host:port&scheme=http
        return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts if p]]) + sep + query

    def parent_url(self) -> str:
        """The URI (or path) of the folder containing this store's root."""
        base, sep, query = self.url().partition("?")
        return base.rstrip("/").rsplit("/", 1)[0] + sep + query

    @property
    def name(self) -> str:
        """The last component of the root (an experiment's name)."""
        return self.path().rstrip("/").rsplit("/", 1)[-1]

    # ---- files

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write a file atomically (temp name, then rename)."""
        final = self.path(key)
        if self.is_local:
            return atomic_write_bytes(final, data)
        self.fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
        tmp = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        self.fs.move(tmp, final)

    def read_bytes(self, key: str) -> bytes:
        with self.fs.open_input_stream(self.path(key)) as f:
            return f.read()

    def write_json(self, key: str, obj: Any) -> None:
        self.write_bytes(key, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def write_parquet(self, key: str, table: pa.Table) -> None:
        buf = io.BytesIO()
        pq.write_table(table, buf)
        self.write_bytes(key, buf.getvalue())

    def read_parquet(self, key: str) -> pa.Table:
        return pq.read_table(self.path(key), filesystem=self.fs)

    def list(self, key: str, suffix: str = "") -> list[str]:
        """Base names of the files directly under a key (temporary files excluded)."""
        sel = pafs.FileSelector(self.path(key), allow_not_found=True)
        names = [i.base_name for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File]
        return sorted(n for n in names if n.endswith(suffix) and ".tmp-" not in n)

    def list_dirs(self, key: str) -> list[str]:
        """Base names of the folders directly under a key (temporary folders excluded)."""
        sel = pafs.FileSelector(self.path(key), allow_not_found=True)
        names = [i.base_name for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.Directory]
        return sorted(n for n in names if ".tmp-" not in n)

    # ---- stage outputs (directories)

    def is_complete(self, key: str) -> bool:
        """True when a stage output directory was written to the end."""
        return self.exists(key, COMPLETE)

    def put_dir(self, local_dir: str | Path, key: str, also: tuple[pafs.FileSystem, str] | None = None) -> None:
        """Publish a local directory under ``key``, atomically; a finished one is left as it is.

        ``also``: a folder of another storage (filesystem, path) whose files join the local ones, copied storage
        to storage (server-side within one object store), never through a local copy; local files win.
        """
        if self.is_complete(key):
            return
        final = self.path(key)
        if self.is_local:
            with atomic_dir(final, replace=True) as tmp:  # replace: an unmarked leftover of a killed run
                if also:
                    copy_tree(*also, self.fs, str(tmp))
                shutil.copytree(local_dir, tmp, dirs_exist_ok=True)
                Path(tmp, COMPLETE).touch()
            return
        self.fs.create_dir(final, recursive=True)
        if also:
            copy_tree(*also, self.fs, final)
        pafs.copy_files(str(local_dir), final, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self.fs)
        self.write_bytes(f"{key}/{COMPLETE}", b"")  # the marker goes last

    def local_dir(self, key: str, cache_root: str | Path | None = None) -> Path:
        """A local path holding the directory ``key`` (remote stores are downloaded once per machine; the
        copies are bounded, see ``evict_local_copies``)."""
        if self.is_local:
            return Path(self.path(key))
        cache_root = Path(cache_root or Path(tempfile.gettempdir()) / "codemix-store")
        dest = cache_root / stable_hash([self.uri, key])
        if not (dest / COMPLETE).exists():
            with atomic_dir(dest, replace=True) as tmp:
                pafs.copy_files(self.path(key), str(tmp), source_filesystem=self.fs,
                                destination_filesystem=pafs.LocalFileSystem())
                size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
                (tmp / COMPLETE).write_text(str(size))
        os.utime(dest / COMPLETE)  # its last use: the newest copies are kept
        evict_local_copies(cache_root, keep=dest)
        return dest


# ----------------------------------------------------------------------------- bounded local copies

STORE_CACHE_GB = "CODEMIX_STORE_CACHE_GB"  # the bound of a machine's local copies of remote folders
DEFAULT_STORE_CACHE_GB = 50.0
# A copy used this recently is never evicted: a process may still be reading it (an evaluation loads its
# checkpoint when it starts, well within this; a vLLM engine reads a LoRA adapter when its first request comes).
IN_USE_S = 3600.0


def evict_local_copies(cache_root: str | Path, keep: Path | None = None, max_bytes: float | None = None) -> list[Path]:
    """Delete the least recently used local copies under ``cache_root`` until they take at most ``max_bytes``
    (default ``$CODEMIX_STORE_CACHE_GB``, 50 GB), never ``keep`` nor a copy used in the last ``IN_USE_S``
    seconds. Returns the copies deleted."""
    if max_bytes is None:
        max_bytes = float(os.environ.get(STORE_CACHE_GB, DEFAULT_STORE_CACHE_GB)) * 1e9
    copies = []
    for d in Path(cache_root).iterdir() if Path(cache_root).is_dir() else []:
        marker = d / COMPLETE
        if d.is_dir() and not d.name.startswith(".") and marker.exists():
            size = marker.read_text().strip()
            size = int(size) if size.isdigit() else sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
            copies.append((marker.stat().st_mtime, size, d))
    total, deleted, now = sum(size for _, size, _ in copies), [], time.time()
    for used, size, d in sorted(copies):  # least recently used first
        if total <= max_bytes:
            break
        if d == keep or now - used < IN_USE_S:
            continue
        doomed = d.with_name(f".{d.name}.evicted-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(d, doomed)  # no reader finds a half-deleted copy marked complete
        except OSError:  # another process evicted it first
            continue
        shutil.rmtree(doomed, ignore_errors=True)
        total -= size
        deleted.append(d)
    return deleted
