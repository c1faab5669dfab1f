"""Normalised answers and their comparison: what an extracted answer and a gold one are compared as."""

from __future__ import annotations

import re
from fractions import Fraction

OPTION_LETTERS = "ABCDEFGH"  # options are lettered in order, (A) first: prompts, gold answers and rules agree
ANSWER_TYPES = ("number", "option", "yes_no", "string", "list", "word")


def normalise_number(value: str | float | int) -> str | None:
    """Canonical text of a number: '1,234.50' -> '1234.5', '18.0' -> '18', '3/4' -> '0.75'; None if not one."""
    if isinstance(value, (int, float)):
        num = Fraction(value).limit_denominator(10**9)
    else:
        s = value.strip().replace(",", "").replace("\u2212", "-").replace("$", "").rstrip(".%")
        try:
            num = Fraction(s.replace(" ", ""))
        except (ValueError, ZeroDivisionError):
            return None
    if num.denominator == 1:
        return str(num.numerator)
    text = f"{float(num):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def normalise_list(text: str) -> str:
    """'Water,  light bulb and brush.' -> 'water, light bulb, brush' (items case-folded, order kept)."""
    text = text.strip().strip("[](){}").strip()
    text = re.sub(r",?\s+and\s+(?=[^,]*$)", ", ", text)
    items = [i.strip().strip("\"'`*.").strip().casefold() for i in text.split(",")]
    return ", ".join(i for i in items if i)


def normalise_gold(answer_type: str, raw: str | float | int) -> str:
    """The dataset's gold answer in the normalised form that ``is_correct`` compares against."""
    if answer_type == "number":
        out = normalise_number(raw)
        if out is None:
            raise ValueError(f"gold answer {raw!r} is not a number")
        return out
    text = str(raw).strip()
    if answer_type == "option":
        return text.strip("()").upper()
    if answer_type == "yes_no":
        return text.casefold()
    if answer_type == "list":
        return normalise_list(text)
    return text


def _canon(answer_type: str, value: str) -> str:
    if answer_type == "number":
        return normalise_number(value) or value.strip()
    if answer_type == "list":
        return normalise_list(value)
    if answer_type == "string":
        return re.sub(r"[\s\"'`.*-]", "", value).casefold()
    return value.strip().strip(".").casefold()


def is_correct(answer_type: str, extracted: str | None, gold: str) -> bool:
    """Whether an extracted answer matches the gold one, after normalising both."""
    if extracted is None:
        return False
    if answer_type == "number":
        a, b = normalise_number(extracted), normalise_number(gold)
        if a is None or b is None:
            return False
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))
    return _canon(answer_type, extracted) == _canon(answer_type, gold)
