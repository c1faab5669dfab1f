"""Generation engines kept for the sweep: a process holds one engine and reuses it for every trial it evaluates.

Loading a base model (and, for vLLM, starting an engine: ~30 s on a laptop CPU) costs more than evaluating a
small model. A process that evaluates several trials (a Tune trial actor reused for the next trial, see
``codemix.sweep.tuner``; evaluation in the trial's process, ``resources.eval_launcher``) keeps the last engine
it built under a key naming everything the engine was built from: the next trial on the same base (the
untuned model, any LoRA adapter of it) gets it back instead of building one. A different key closes the held
engine first, so a process holds one engine at a time. In a Ray Data actor, which evaluates one trial and
exits, the engine is simply built once.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

from codemix.eval.phases import phase

log = logging.getLogger("codemix")

_lock = threading.Lock()
_held: dict[str, Any] = {"key": None, "engine": None}


def held_engine(key: Hashable, build: Callable[[], Any]) -> Any:
    """The engine this process holds for ``key``, else ``build()``'s (the engine held before is closed first).

    ``key``: a tuple (backend, base model folder, the settings the engine was built with)."""
    with _lock, phase("engine"):
        if _held["key"] == key and _held["engine"] is not None:
            log.info("evaluation reuses the engine this process holds (%s)", _describe(key))
            return _held["engine"]
        _close_held()
        engine = build()
        _held.update(key=key, engine=engine)
        return engine


def release_engine(keep_base: str | None = None) -> None:
    """Close the engine this process holds, if any (its memory, and a vLLM engine's own process, are freed);
    ``keep_base``: unless it holds that base model (a local folder), which the caller will evaluate on again."""
    with _lock:
        key = _held["key"]
        if keep_base is not None and isinstance(key, tuple) and len(key) > 1 and key[1] == keep_base:
            return
        _close_held()


def holds_engine() -> bool:
    """Whether this process holds an engine now."""
    return _held["engine"] is not None


def _close_held() -> None:
    engine = _held["engine"]
    _held.update(key=None, engine=None)
    if engine is None:
        return
    close = getattr(engine, "close", None)
    if close is not None:
        close()
    del engine
    gc.collect()


def _describe(key: Hashable) -> str:
    return str(key[:2]) if isinstance(key, tuple) else str(key)
