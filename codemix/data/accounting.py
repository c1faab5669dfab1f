"""What the data stage did to every record: counts per drop/repair reason and located errors.

Nothing is lost silently: each stage calls ``report.drop(reason)`` / ``report.repair(reason)``
and every malformed record becomes a ``RecordError`` naming file, line (1-based) and field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_KEPT_ERRORS = 200  # all are counted; only this many are kept verbatim in the report


class RecordError(ValueError):
    """A malformed input record; the message names file, line and field. ``reason``: the drop reason it is
    counted under when it is not the usual one (e.g. ``truncated_file``)."""

    def __init__(self, file: str, line: int, field_: str, message: str, reason: str | None = None):
        self.file, self.line, self.field, self.message, self.reason = file, line, field_, message, reason
        super().__init__(f"{file}:{line}: field '{field_}': {message}")

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class DataReport:
    """Counts of what came in, what was dropped or repaired and why, and what came out."""

    records_in: int = 0
    formats: Counter = field(default_factory=Counter)  # sharegpt / messages / alpaca / arena_hard per record
    dropped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    errors: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    stats: Counter = field(default_factory=Counter)  # e.g. llm requests / retries / cache hits
    records_out: int = 0
    errors_total: int = 0

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    def repair(self, reason: str, n: int = 1) -> None:
        self.repaired[reason] += n

    def error(self, err: RecordError, reason: str = "malformed") -> None:
        """Count a malformed record as dropped and keep its location."""
        self.drop(reason)
        self.errors_total += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(err.as_dict())

    def as_dict(self) -> dict:
        """A JSON-serialisable summary (sorted keys, so it is stable between runs)."""
        return {
            "files": list(self.files), "records_in": self.records_in, "records_out": self.records_out,
            "formats": dict(sorted(self.formats.items())), "dropped": dict(sorted(self.dropped.items())),
            "repaired": dict(sorted(self.repaired.items())), "classes": dict(sorted(self.classes.items())),
            "languages": dict(sorted(self.languages.items())),
            "stats": dict(sorted(self.stats.items())), "errors": list(self.errors),
            "errors_total": self.errors_total,
        }
