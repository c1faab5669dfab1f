"""Where an evaluation's time goes inside the process that generates: named phases, summed.

The evaluating code wraps its parts in ``phase(name)`` (the engine's start or reuse, loading a trial's weights,
each generation pass, scoring); ``evaluate`` clears the record before it starts and returns it in its info, and
the trial stores it with its stage timings (``codemix report`` prints them). Generation in another process (a Ray
Data actor) records nothing here: its phases are not known to the caller.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

_seconds: dict[str, float] = {}


@contextmanager
def phase(name: str):
    """Add the wall time of the block to phase ``name``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _seconds[name] = _seconds.get(name, 0.0) + time.perf_counter() - start


def clear_phases() -> None:
    """Forget the phases recorded so far (an evaluation starts)."""
    _seconds.clear()


def recorded_phases() -> dict[str, float]:
    """The phases recorded since ``clear_phases``, in seconds."""
    return dict(_seconds)
