"""Reading a sweep spec: YAML, dotted-key overrides, input paths resolved against the spec's folder, and errors
that name the file and the field (``search.proportion[3]: must be within [0, 1]``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from codemix.spec.fields import DeprecatedKeyWarning
from codemix.spec.sections import DATA_SOURCE_ALIASES, SweepSpec


class SpecError(ValueError):
    """A sweep spec that cannot run; the message names the file and field."""


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid sweep spec"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def resolve_input_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``data`` (a spec as read from a file in ``folder``) with the relative paths of its inputs made absolute
    against ``folder``: ``data.source``, ``eval.data_dir``, a suite file in ``eval.suite``, and ``model.path``
    entries that are folders or files there (the rest are Hugging Face ids). Keywords ('demo', 'builtin', 'hub',
    data source aliases), URIs and absolute paths stay; so does ``storage``, an output, relative to the working
    directory."""

    def resolved(value, must_exist: bool = False):
        if (not isinstance(value, str) or not value or "://" in value or value in DATA_SOURCE_ALIASES
                or value in ("demo", "builtin", "hub") or Path(value).expanduser().is_absolute()):
            return value
        path = os.path.normpath(folder / value)
        return path if not must_exist or Path(path).exists() else value

    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    source = (data.get("data") or {}).get("source")
    if source is not None:
        data["data"]["source"] = [resolved(s) for s in source] if isinstance(source, list) else resolved(source)
    ev = data.get("eval") or {}
    if "data_dir" in ev:
        ev["data_dir"] = resolved(ev["data_dir"])
    if isinstance(ev.get("suite"), str) and ev["suite"].endswith((".yaml", ".yml")):
        ev["suite"] = resolved(ev["suite"])
    paths = (data.get("model") or {}).get("path")
    if isinstance(paths, dict):
        data["model"]["path"] = {k: resolved(v, must_exist=True) for k, v in paths.items()}
    return data


def parse_spec(data: dict[str, Any], source: str = "<spec>") -> SweepSpec:
    """Validate a spec given as a dict; raises SpecError naming the field. Deprecated keys warn naming the file."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecatedKeyWarning)
            spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(_format_errors(err, source)) from None
    for w in caught:
        where = (source, 0) if issubclass(w.category, DeprecatedKeyWarning) else (w.filename, w.lineno)
        warnings.warn_explicit(w.message, w.category, *where)
    return spec


def load_spec(path: str | Path, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Load and validate a sweep spec YAML file, with optional dotted-key overrides.

    Relative paths of input files in the file (``resolve_input_paths``) are read from the file's folder, so the
    spec finds its data from any working directory; overrides stay relative to the working directory.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise SpecError(f"{path}: no such sweep spec") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from None
    if isinstance(data, dict):
        data = resolve_input_paths(data, path.resolve().parent)
    for key, value in (overrides or {}).items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return parse_spec(data, str(path))
