"""Deterministic damage to the code blocks of a conversation, for code-quality sweeps.

At level c in [0, 1], inside every fenced code block (```...```): each distinct identifier
(not a keyword, at least two characters) is renamed with probability c, consistently within
the block; each non-empty line joins a shuffle with probability c (the chosen lines swap
positions among themselves); each line gets a syntax error with probability c/2 (a closing
bracket, colon or semicolon deleted, or a stray "(" inserted). c = 0 leaves the text as it is.
The randomness comes from a caller-given key (e.g. seed + content hash), so it is the same on
every machine and Python version (only ``random.Random(int).random()`` is used).
"""

from __future__ import annotations

import hashlib
import keyword
import random
import re

_FENCE = re.compile(r"(```[^\n]*\n)(.*?)(```)", re.S)
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]+\b")
_KEYWORDS = set(keyword.kwlist) | set(
    "function var let const return if else for while do switch case break continue new this class public private "
    "protected static void int long float double char bool boolean string String true false null undefined "
    "include std cout cin endl main import from package using namespace select from where insert into update set "
    "delete create table join on group by order limit and or not as echo sudo def print self end then fi".split())
_CLOSERS = re.compile(r"[)\]};:]")


def _rng(key: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def _rename(code: str, level: float, rng: random.Random) -> str:
    names = sorted({m for m in _IDENT.findall(code) if m not in _KEYWORDS and not m.isupper()})
    mapping = {n: f"{n[0]}{int(rng.random() * 1e6):06d}" for n in names if rng.random() < level}
    if not mapping:
        return code
    return _IDENT.sub(lambda m: mapping.get(m.group(0), m.group(0)), code)


def _shuffle_lines(lines: list[str], level: float, rng: random.Random) -> list[str]:
    chosen = [i for i, line in enumerate(lines) if line.strip() and rng.random() < level]
    moved = [lines[i] for i in chosen]
    for i in range(len(moved) - 1, 0, -1):  # Fisher-Yates on random() only
        j = int(rng.random() * (i + 1))
        moved[i], moved[j] = moved[j], moved[i]
    out = list(lines)
    for i, line in zip(chosen, moved):
        out[i] = line
    return out


def _break_syntax(lines: list[str], level: float, rng: random.Random) -> list[str]:
    out = []
    for line in lines:
        if line.strip() and rng.random() < level / 2:
            closers = [m.start() for m in _CLOSERS.finditer(line)]
            if closers:
                k = closers[int(rng.random() * len(closers))]
                line = line[:k] + line[k + 1:]
            else:
                k = int(rng.random() * (len(line) + 1))
                line = line[:k] + "(" + line[k:]
        out.append(line)
    return out


def corrupt_code(code: str, level: float, key: str) -> str:
    """``code`` damaged at ``level`` (renamed identifiers, shuffled lines, syntax errors)."""
    if level <= 0:
        return code
    rng = _rng(key)
    code = _rename(code, level, rng)
    lines = _break_syntax(_shuffle_lines(code.split("\n"), level, rng), level, rng)
    return "\n".join(lines)


def corrupt_turns(turns: list[dict], level: float, key: str) -> tuple[list[dict], int]:
    """(turns with every fenced code block damaged, number of code blocks seen)."""
    blocks = 0
    out = []
    for t_i, turn in enumerate(turns):
        def damage(m: re.Match, t_i: int = t_i) -> str:  # called at once, by the sub below
            nonlocal blocks
            blocks += 1
            return m.group(1) + corrupt_code(m.group(2), level, f"{key}:{t_i}:{blocks}") + m.group(3)
        out.append({"role": turn["role"], "content": _FENCE.sub(damage, turn["content"])})
    return out, blocks
