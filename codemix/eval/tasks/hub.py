"""Optional loading from the Hugging Face hub (``datasets`` and network needed; not used offline)."""

from __future__ import annotations

from typing import Callable

from codemix.eval.tasks.base import Example, TaskDataError


def hub_loader(path: str, name: str | None, split: str, convert: Callable[[int, dict], Example]):
    """A zero-argument loader: ``datasets.load_dataset(path, name, split=split)`` mapped through ``convert``."""
    def load() -> list[Example]:
        try:
            import datasets  # optional: only tasks read from the Hugging Face hub need it
        except ImportError:
            raise TaskDataError(f"loading {path} from the hub needs `pip install datasets`") from None
        return [convert(i, dict(rec)) for i, rec in enumerate(datasets.load_dataset(path, name, split=split))]
    return load
