"""The spec's building blocks: a section model, hash membership of its fields, and renamed (deprecated) keys.

Every section of a sweep spec is a ``_Section``: unknown keys are refused, and a key that was renamed still works,
with a ``DeprecatedKeyWarning`` naming the new key. Each field of a hashed section declares whether it is part of
its stage's content address (``Hashed[...]``) or not (``NotHashed[...]``); ``hashed_dump`` reads the declarations.
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Hash membership, declared on each field of the hashed sections (``name: Hashed[int]``): a hashed field is part
# of its stage's content address (changing it reruns the stage); an unhashed one changes how a stage runs
# (requests, caches, resources), not what it produces. ``hashed_dump`` reads these (json_schema_extra).
T = TypeVar("T")
Hashed = Annotated[T, Field(json_schema_extra={"hashed": True})]
NotHashed = Annotated[T, Field(json_schema_extra={"hashed": False})]


class DeprecatedKeyWarning(FutureWarning):
    """A spec key that was renamed: it still works, and the message names the new key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    # Old keys of this section -> the new keys (dotted, within the section) their value moves to.
    deprecated_keys: ClassVar[dict[str, tuple[str, ...]]] = {}
    section_path: ClassVar[str] = ""  # where the section sits in a spec, for the deprecation messages

    @model_validator(mode="before")
    @classmethod
    def _move_deprecated_keys(cls, data: Any) -> Any:
        if not cls.deprecated_keys or not isinstance(data, dict):
            return data
        return move_deprecated_keys(data, cls.deprecated_keys, cls.section_path)


def move_deprecated_keys(data: dict, moves: dict[str, tuple[str, ...]], where: str) -> dict:
    """``data`` with each old key's value moved to its new key(s), warning once per key (DeprecatedKeyWarning).

    Raises ValueError when an old key and its new key are both given.
    """
    data = dict(data)
    for old in [k for k in moves if k in data]:
        value = data.pop(old)
        for target in moves[old]:
            section, key = target.split(".")
            node = data.get(section, {})
            node = dict(node.model_dump(exclude_unset=True) if isinstance(node, BaseModel) else node)
            if key in node:
                raise ValueError(f"{old} is the deprecated name of {target}; give only {target}")
            data[section] = {**node, key: value}
        new = " and ".join(f"{where}.{t}" for t in moves[old])
        warnings.warn(f"{where}.{old} is deprecated: use {new}", DeprecatedKeyWarning, stacklevel=2)
    return data


def hashed_dump(cfg: BaseModel) -> dict[str, Any]:
    """``cfg.model_dump()`` without the fields declared ``NOT_HASHED`` (in nested sections too).

    A field without a declaration counts as hashed (tests require one on every field of the
    hashed sections).
    """
    out = {}
    for name, info in type(cfg).model_fields.items():
        if not (info.json_schema_extra or {}).get("hashed", True):
            continue
        value = getattr(cfg, name)
        out[name] = hashed_dump(value) if isinstance(value, BaseModel) else cfg.model_dump(include={name})[name]
    return out
