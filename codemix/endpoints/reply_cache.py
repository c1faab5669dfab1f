"""A persistent reply cache: SQLite, one transaction per write, so a killed run never leaves a half-written entry.

Keyed by whatever the caller says identifies a reply, e.g. (content hash, prompt version, model); the LLM
classifier's label store and the LLM answer extractor use it with and without a ``ChatClient``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Hashable
from pathlib import Path


class ReplyCache:
    """A persistent key -> text map in SQLite, safe to share between threads and processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    @staticmethod
    def encode(key: Hashable) -> str:
        """A canonical string for a key (tuples and lists become JSON)."""
        return key if isinstance(key, str) else json.dumps(key, sort_keys=True, default=str)

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM replies WHERE key = ?", (self.encode(key),)).fetchone()
        return row[0] if row else None

    def put(self, key: Hashable, value: str) -> None:
        with self._lock, self._db:  # the `with db` block is one transaction: committed whole or not at all
            self._db.execute("INSERT OR REPLACE INTO replies (key, value) VALUES (?, ?)", (self.encode(key), value))

    def merge(self, other: str | Path) -> int:
        """Add the entries of another cache file that this one lacks; returns how many were added."""
        before = len(self)
        with self._lock:
            self._db.execute("ATTACH DATABASE ? AS other", (str(other),))
            try:
                with self._db:
                    self._db.execute("INSERT OR IGNORE INTO replies SELECT key, value FROM other.replies")
            finally:
                self._db.execute("DETACH DATABASE other")
        return len(self) - before

    def snapshot(self, dest: str | Path) -> None:
        """A consistent single-file copy of the cache (WAL folded in), e.g. to upload."""
        with self._lock:
            target = sqlite3.connect(dest)
            try:
                self._db.backup(target)
            finally:
                target.close()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
