"""Answer extraction: rules per answer type, an optional LLM extractor, and scoring.

Rules look first for an explicit answer statement (``\\boxed{..}``, "the answer is ..",
"Answer: ..", "#### ..", the last one wins) and read the answer from the text right after it;
only when there is none (or it holds no answer) do they fall back to the last mention in the
whole output. Text after a hallucinated next turn ("\\nQ:", "\\nQuestion:", "\\nUser:") is
ignored. Both sides are normalised before comparing (numbers by value, letters and words by
case-folded form, lists item by item).
"""

from __future__ import annotations

import re
from fractions import Fraction

OPTION_LETTERS = "ABCDEFGH"

# ---------------------------------------------------------------------------- normalisation


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


# ---------------------------------------------------------------------------- answer statements

_NEXT_TURN = re.compile(r"\n\s*(?:Q|Question|User|Human|Problem|### ?Instruction)\s*\d*\s*[:：]", re.I)
_CUE = re.compile(
    r"\\boxed\{(?P<boxed>[^{}]*)\}"
    r"|(?:final\s+|correct\s+)?answer(?:\s*\([^)]*\))?\s*(?:is|:|=|would\s+be|should\s+be|will\s+be|equals)\s*:?"
    r"|\*\*answer\*\*\s*:?|####", re.I)


def answer_segments(text: str) -> tuple[list[str], str]:
    """(segments after answer statements, last first; the whole text), cut at any hallucinated next turn."""
    cut = _NEXT_TURN.search(text)
    body = text[:cut.start()] if cut and cut.start() > 0 else text
    segments = []
    for m in _CUE.finditer(body):
        if m.group("boxed") is not None:
            segments.append(m.group("boxed"))
        else:
            rest = body[m.end():].lstrip(" \t*:")
            segments.append(rest.split("\n", 1)[0] if rest.split("\n", 1)[0].strip() else rest[:200])
    return segments[::-1], body


# ---------------------------------------------------------------------------- per-type rules

_NUM_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                          "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUM_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
                   "hundred": 100})
_NUMBER = re.compile(
    r"(?<![\w.])[-\u2212]?\s?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+(?!\.\d))?(?![\d])"
    r"|(?<![\w.])[-\u2212]?\.\d+"
    r"|\b(?:" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True)) + r")\b", re.I)


def _numbers(text: str) -> list[str]:
    out = []
    for m in _NUMBER.finditer(text):
        tok = m.group(0)
        if tok.strip().casefold() in _NUM_WORDS:
            out.append(str(_NUM_WORDS[tok.strip().casefold()]))
            continue
        tok = tok.replace("$", "").replace(" ", "")
        if "/" in tok and re.search(r"\d/\d+\s*/", text[m.start():m.end() + 3]):  # a date like 05/01/2021
            continue
        value = normalise_number(tok)
        if value is not None:
            out.append(value)
    return out


_ENUMERATION = re.compile(r"\b(?:step|question|problem|part|case|option)\s+\d+|^\s*\d+[.)]\s", re.I | re.M)


def _number(segments: list[str], body: str, choices) -> str | None:
    for seg in segments:
        found = _numbers(seg)
        if found:
            return found[0]
    found = _numbers(_ENUMERATION.sub(" ", body))  # "Step 3", "1. ..." are labels, not answers
    return found[-1] if found else None


def _letters(choices) -> str:
    return OPTION_LETTERS[: len(choices)] if choices else OPTION_LETTERS[:5]


def _option(segments: list[str], body: str, choices) -> str | None:
    letters = _letters(choices)
    head = re.compile(rf"^\W*?(?:option|choice)?\s*\(?([{letters}])(?:\)|\]|\.|:|,|\s|$)")
    anywhere = re.compile(rf"\(([{letters}])\)|\b(?:option|choice|answer)\s+\(?([{letters}])\b"
                          rf"|(?:^|\n)\s*([{letters}])\)")
    texts = [(c, re.sub(r"^\(?[A-H]\)\s*", "", c).strip()) for c in choices or ()]

    def by_text(s: str, last: bool) -> str | None:
        hits = [(s.casefold().rfind(t.casefold()) if last else s.casefold().find(t.casefold()), -len(t), i)
                for i, (_, t) in enumerate(texts) if t]
        hits = [h for h in hits if h[0] >= 0]
        if not hits:
            return None
        pos = max(h[0] + (-h[1]) for h in hits) if last else min(h[0] for h in hits)
        best = [h for h in hits if (h[0] + (-h[1]) if last else h[0]) == pos]
        return letters[min(best, key=lambda h: h[1])[2]]

    for seg in segments:
        m = head.match(seg) or anywhere.search(seg)
        if m:
            return next(g for g in m.groups() if g)
        hit = by_text(seg, last=False)
        if hit:
            return hit
    matches = list(anywhere.finditer(body))
    if matches:
        return next(g for g in matches[-1].groups() if g)
    return by_text(body, last=True)


_YES = r"yes|true|still heads up|is heads up|remains heads up|lands? heads up|heads up"
_NO = r"no|false|not heads up|no longer heads up|tails up|is tails|not still heads up"
_YES_NO = re.compile(rf"\b(?P<no>{_NO})\b|\b(?P<yes>{_YES})\b", re.I)


def _yes_no(segments: list[str], body: str, choices) -> str | None:
    for seg in segments:
        m = _YES_NO.search(seg)
        if m:
            return "no" if m.group("no") else "yes"
    statements = re.sub(r"[^.!?\n]*(?:\?|\bwhether\b[^.!\n]*)", " ", body, flags=re.I)  # not questions
    ms = list(_YES_NO.finditer(statements))
    return ("no" if ms[-1].group("no") else "yes") if ms else None


_QUOTED = re.compile(r"[\"“”'‘’`]([^\"“”'‘’`\n]{1,200})[\"“”'‘’`]")
_STOP = {"the", "a", "an", "is", "it", "that", "this", "we", "get", "so", "therefore", "final", "answer", "string",
         "result", "concatenation", "concatenated", "letters", "word", "be", "would"}


def _string(segments: list[str], body: str, choices) -> str | None:
    for seg in segments:
        m = _QUOTED.search(seg)
        if m and re.fullmatch(r"[A-Za-z][A-Za-z\s.-]*", m.group(1).strip()):
            return re.sub(r"[\s.-]", "", m.group(1))
        spelled = re.match(r"^\W*((?:[A-Za-z]\s*[-,+ ]\s*){1,15}[A-Za-z])\b(?![A-Za-z])", seg)
        if spelled:
            return re.sub(r"[^A-Za-z]", "", spelled.group(1))
        for word in re.findall(r"[A-Za-z]+", seg):
            if word.casefold() not in _STOP:
                return word
    quoted = [m.group(1) for m in _QUOTED.finditer(body) if re.fullmatch(r"[A-Za-z]{2,15}", m.group(1).strip())]
    if quoted:
        return quoted[-1].strip()
    result = re.findall(r"(?:=|\bis|:)\s*\**([A-Za-z]{2,15})\**\s*\.?\s*$", body, re.M)  # "... = yajc"
    return result[-1] if result else None


def _list(segments: list[str], body: str, choices) -> str | None:
    for seg in segments:
        m = _QUOTED.search(seg)
        if m and "," in m.group(1):
            return normalise_list(m.group(1))
        seg = re.split(r"(?<=[^\s.])\.(?:\s|$)", seg)[0]
        if "," in seg:
            return normalise_list(seg)
    quoted = [m.group(1) for m in _QUOTED.finditer(body) if "," in m.group(1)]
    if quoted:
        return normalise_list(quoted[-1])
    lines = [ln for ln in body.splitlines() if ln.count(",") >= 2]
    return normalise_list(lines[-1].split(":")[-1]) if lines else None


_IRREGULAR = {"mouse": ("mice",), "wolf": ("wolves",), "sheep": ("sheep",), "goose": ("geese",)}


def _word_pattern(vocabulary) -> re.Pattern:
    forms = {}
    for w in vocabulary:
        for f in (w, w + "s", w + "es", *_IRREGULAR.get(w, ())):
            forms.setdefault(f.casefold(), w)
    alts = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alts})(?![\w-])", re.I), forms


def _word(segments: list[str], body: str, choices) -> str | None:
    if not choices:
        for seg in segments:
            words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]*", seg) if w.casefold() not in _STOP]
            if words:
                return words[0].casefold()
        return None
    pattern, forms = _word_pattern(choices)
    for seg in segments:
        m = pattern.search(seg)
        if m:
            return forms[m.group(1).casefold()]
    ms = list(pattern.finditer(body))
    return forms[ms[-1].group(1).casefold()] if ms else None


RULES = {"number": _number, "option": _option, "yes_no": _yes_no, "string": _string, "list": _list, "word": _word}


def extract_answer(answer_type: str, text: str, choices=None) -> str | None:
    """The answer a model output states, by the rules for its type; None when it states none.

    ``choices`` are the option texts for "option" and the closed vocabulary for "word".
    """
    if answer_type not in RULES:
        raise ValueError(f"no extraction rules for answer type {answer_type!r}; known: {', '.join(RULES)}")
    if not text or not text.strip():
        return None
    segments, body = answer_segments(text)
    return RULES[answer_type](segments, body, tuple(choices) if choices else None)


# ---------------------------------------------------------------------------- scoring


def task_choices(task, example) -> tuple[str, ...] | None:
    """What the extractor should know of the possible answers: the options, or the task's vocabulary."""
    return example.choices or (tuple(task.vocabulary) if task.vocabulary else None)


def score_output(task, example, output: str, extractor: str = "rules") -> tuple[str | None, bool, str]:
    """(extracted answer, correct?, extractor actually used) for one model output.

    ``extractor``: "rules", "llm" (an LLM reads the output; see ``llm_extract``) or "cascade"
    (rules first, the LLM only where the rules find nothing).
    """
    answer_type = task.extractor or task.answer_type
    choices = task_choices(task, example)
    if extractor not in ("rules", "llm", "cascade"):
        raise ValueError(f"unknown extractor {extractor!r}; use 'rules', 'llm' or 'cascade'")
    extracted, used = None, "rules"
    if extractor in ("rules", "cascade"):
        extracted = extract_answer(answer_type, output, choices)
    if extractor == "llm" or (extractor == "cascade" and extracted is None):
        from codemix.eval.llm_extract import get_llm_extractor

        extracted, used = get_llm_extractor().extract(answer_type, output, choices), "llm"
    return extracted, is_correct(answer_type, extracted, example.gold), used


def score_many(items, extractor: str = "rules") -> list[tuple[str | None, bool, str]]:
    """``score_output`` for many (task, example, output) triples; LLM requests go out concurrently."""
    if extractor not in ("rules", "llm", "cascade"):
        raise ValueError(f"unknown extractor {extractor!r}; use 'rules', 'llm' or 'cascade'")
    items = list(items)
    kinds = [t.extractor or t.answer_type for t, _, _ in items]
    choices = [task_choices(t, e) for t, e, _ in items]
    found: list[str | None] = [None] * len(items)
    used = ["rules"] * len(items)
    if extractor != "llm":
        found = [extract_answer(k, o, c) for k, (_, _, o), c in zip(kinds, items, choices)]
    todo = [i for i in range(len(items)) if extractor == "llm" or (extractor == "cascade" and found[i] is None)]
    if todo:
        from codemix.eval.llm_extract import get_llm_extractor

        answers = get_llm_extractor().extract_many([(kinds[i], items[i][2], choices[i]) for i in todo])
        for i, a in zip(todo, answers):
            found[i], used[i] = a, "llm"
    return [(f, is_correct(k, f, e.gold), u) for f, k, (_, e, _), u in zip(found, kinds, items, used)]
