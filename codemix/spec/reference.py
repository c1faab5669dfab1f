"""The sweep spec reference: every section and field of ``SweepSpec`` rendered to Markdown from the models.

``render_reference()`` walks the pydantic models of ``codemix.spec.sections`` (declaration order) and
writes one table per section: key, type, default, allowed values, whether the field is part of
its stage's hash, and its description; then the section's deprecated keys. Defaults are read from
the default value of each section where it sits in the spec, so a section used in several places
(an endpoint) shows each use's own defaults. ``codemix spec reference`` writes it to docs/spec.md.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from codemix.spec.sections import SweepSpec

REGENERATE = "codemix spec reference --out docs/spec.md"
_HEADER = f"""# Sweep spec reference

<!-- Generated from codemix/spec/ by `{REGENERATE}`; do not edit by hand. -->

A sweep spec is one YAML file (see `sweeps/`); `codemix validate SPEC` checks it and `--set
section.key=value` overrides a key on the command line. Each table below is one section of the spec.
**hashed**: whether the key is part of its stage's content address (changing it reruns that stage;
an unhashed key changes how a stage runs, not what it produces); blank where the section is not
hashed key by key. Deprecated keys still work, with a warning naming the new key.
"""


def render_reference() -> str:
    """The whole spec reference as Markdown (what docs/spec.md holds)."""
    sections: list[str] = [_HEADER]
    _render_section(SweepSpec, None, "(top level)", sections)
    return "\n".join(sections).rstrip() + "\n"


def _render_section(cls: type[BaseModel], default: BaseModel | None, path: str, out: list[str]) -> None:
    """Append the section ``cls`` at ``path`` (its default instance ``default``), then its nested sections."""
    out.append(f"## `{path}`\n" if path != "(top level)" else "## Top level\n")
    if cls.__doc__:
        out.append(" ".join(cls.__doc__.split()) + "\n")
    out.append("| key | type | default | allowed | hashed | description |")
    out.append("|---|---|---|---|---|---|")
    nested: list[tuple[type[BaseModel], BaseModel | None, str]] = []
    for name, info in cls.model_fields.items():
        key = name if path == "(top level)" else f"{path}.{name}"
        value = getattr(default, name) if default is not None else _field_default(info)
        models = _models_in(info.annotation)
        nested += [(m, value if isinstance(value, m) else None, key) for m in models]
        out.append("| " + " | ".join([f"`{name}`", _cell(_type_name(info.annotation)), _cell(_default_cell(value)),
                                      _cell(_allowed(info)), _hashed(info), _cell(info.description or "")]) + " |")
    out.append("")
    deprecated = getattr(cls, "deprecated_keys", {})
    if deprecated:
        out.append("Deprecated keys: " + "; ".join(
            f"`{old}` → " + " and ".join(f"`{new}`" for new in targets) for old, targets in deprecated.items()) + ".\n")
    for model, value, key in nested:
        _render_section(model, value, key, out)


def _field_default(info: FieldInfo) -> Any:
    if info.default is PydanticUndefined and info.default_factory is None:
        return PydanticUndefined
    return info.get_default(call_default_factory=True)


def _models_in(tp: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's type can hold (a section, or one alternative of a union)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in get_args(tp) for m in _models_in(arg)]


def _type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Literal:
        return "str" if all(isinstance(a, str) for a in args) else " | ".join(sorted({type(a).__name__ for a in args}))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "section"
    return getattr(tp, "__name__", str(tp))


def _literal_choices(tp: Any) -> list[Any]:
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    return [c for arg in get_args(tp) for c in _literal_choices(arg)]


_BOUNDS = ((at.Ge, "ge", ">="), (at.Gt, "gt", ">"), (at.Le, "le", "<="), (at.Lt, "lt", "<"))


def _allowed(info: FieldInfo) -> str:
    """Literal choices, numeric bounds and patterns of a field."""
    parts = [" | ".join(f"`{json.dumps(c)}`" for c in _literal_choices(info.annotation))]
    for meta in info.metadata:
        for kind, attr, sign in _BOUNDS:
            if isinstance(meta, kind):
                parts.append(f"{sign} {getattr(meta, attr):g}")
        if getattr(meta, "pattern", None):
            parts.append(f"pattern `{meta.pattern}`")
    return ", ".join(p for p in parts if p)


def _default_cell(value: Any) -> str:
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        return "see section"
    return f"`{json.dumps(value)}`"


def _hashed(info: FieldInfo) -> str:
    hashed = (info.json_schema_extra or {}).get("hashed") if isinstance(info.json_schema_extra, dict) else None
    return "" if hashed is None else ("yes" if hashed else "no")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
