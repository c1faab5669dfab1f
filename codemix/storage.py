"""Experiment storage on local disk or any pyarrow filesystem (s3://, gs://, ...), with atomic writes.

Every write goes to a temporary name first and is then renamed (local disk) or marked complete
(object stores, where a directory cannot be renamed): an interrupted run never leaves a file or
stage output that looks finished but is not.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import uuid
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

    # ---- stage outputs (directories)

    def is_complete(self, key: str) -> bool:
        """True when a stage output directory was written to the end."""
        return self.exists(key, COMPLETE)

    def put_dir(self, local_dir: str | Path, key: str) -> None:
        """Publish a local directory under ``key``, atomically; a finished one is left as it is."""
        if self.is_complete(key):
            return
        final = self.path(key)
        if self.is_local:
            Path(final).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
            shutil.copytree(local_dir, tmp)
            Path(tmp, COMPLETE).touch()
            if Path(final).exists():  # a half-written leftover from a killed run (no marker): replace it
                shutil.rmtree(final, ignore_errors=True)
            try:
                os.rename(tmp, final)
            except OSError:  # a concurrent writer finished first; its output is identical by construction
                shutil.rmtree(tmp, ignore_errors=True)
            return
        self.fs.create_dir(final, recursive=True)
        pafs.copy_files(str(local_dir), final, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self.fs)
        self.write_bytes(f"{key}/{COMPLETE}", b"")  # the marker goes last

    def local_dir(self, key: str, cache_root: str | Path | None = None) -> Path:
        """A local path holding the directory ``key`` (remote stores are downloaded once)."""
        if self.is_local:
            return Path(self.path(key))
        cache_root = Path(cache_root or Path(tempfile.gettempdir()) / "codemix-store")
        dest = cache_root / stable_hash([self.uri, key])
        if not (dest / COMPLETE).exists():
            tmp = Path(tempfile.mkdtemp(dir=cache_root.mkdir(parents=True, exist_ok=True) or cache_root))
            pafs.copy_files(self.path(key), str(tmp), source_filesystem=self.fs,
                            destination_filesystem=pafs.LocalFileSystem())
            (tmp / COMPLETE).touch()
            shutil.rmtree(dest, ignore_errors=True)
            os.rename(tmp, dest)
        return dest
