"""Readers for the public task files, with errors that name the file, the record and the field."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, Callable, Iterator

from codemix.eval.tasks.base import Example, TaskDataError

log = logging.getLogger(__name__)


def read_json(path: Path) -> Any:
    """A JSON document; a clear error if it is not one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskDataError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise TaskDataError(f"{path}: not valid JSON ({err})") from None


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) for every non-empty line of a JSONL file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TaskDataError(f"{path}: file not found") from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as err:
            raise TaskDataError(f"{path}: line {i} is not valid JSON ({err})") from None


def read_csv(path: Path) -> Iterator[tuple[int, dict]]:
    """(row number, row) for a CSV file with a header (fields may contain quoted newlines)."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            yield from enumerate(csv.DictReader(fh), 1)
    except FileNotFoundError:
        raise TaskDataError(f"{path}: file not found") from None


def records(data: Any, path: Path, key: str | None = None) -> list:
    """The list of records of a JSON document (top-level list, or ``data[key]``)."""
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise TaskDataError(f"{path}: expected a JSON object with a {key!r} list")
        data = data[key]
    if not isinstance(data, list):
        raise TaskDataError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    return data


def field(record: Any, name: str, path: Path, where: str, kind: type | tuple[type, ...] = str) -> Any:
    """``record[name]``, checked for presence and type; the error names file, record and field."""
    if not isinstance(record, dict):
        raise TaskDataError(f"{path}: {where}: expected an object, got {type(record).__name__}")
    if name not in record:
        raise TaskDataError(f"{path}: {where}: missing field {name!r}")
    value = record[name]
    if not isinstance(value, kind):
        raise TaskDataError(f"{path}: {where}: field {name!r} should be {getattr(kind, '__name__', kind)}, "
                            f"got {type(value).__name__}: {value!r:.60}")
    return value


def convert_all(items: list, convert: Callable[[int, Any], Example | None], path: Path, task: str) -> list[Example]:
    """Apply ``convert(index, record)``; records it returns None for are skipped, counted and logged."""
    out = [ex for i, rec in enumerate(items) if (ex := convert(i, rec)) is not None]
    skipped = len(items) - len(out)
    if skipped:
        log.warning("%s: skipped %d of %d records of %s", task, skipped, len(items), path)
    return out
