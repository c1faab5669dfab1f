"""Candidates: the possible answers of each answer type that a text names, normalised, with where they sit.

Numbers in LaTeX (``\\frac{3}{4}``, ``\\boxed{2\\sqrt{3}}``) are read with math-verify; mixed numbers
("1 1/2"), scientific notation ("1.5e3") and number words ("twelve") are read too. Options are
recognised by letter, by their text, by their value when they are numbers, and by date when
they are MM/DD/YYYY dates ("May 4th, 2003" is 05/04/2003).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple, Sequence

from text_to_num import text2num

from codemix.eval.extract.normalise import OPTION_LETTERS, is_correct, normalise_list, normalise_number
from codemix.eval.extract.statements import closing_brace


class Candidate(NamedTuple):
    """One possible answer found in a text: its normalised value and where it sits."""

    value: str
    start: int
    end: int


# numbers --------------------------------------------------------------------

_NUM_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
              "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
              "million billion").split()
_NUM_WORD = "|".join(sorted(_NUM_WORDS, key=len, reverse=True))
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUMBER = re.compile(
    rf"(?P<date>\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b)"
    rf"|(?<![\w.])(?P<mixed>\d+)\s+(?P<num>\d+)\s*/\s*(?P<den>\d+)(?![\d/]|\.\d)"
    rf"|(?<![\w.])(?P<sign>[-\u2212])?\$?\s?(?P<value>{_DIGITS}(?:\s*/\s*\d+(?![\d/]))?|\.\d+)"
    rf"(?:[eE](?P<exp>[-+]?\d+)|\s*(?:x|\u00d7|\*)\s*10\s*\^\s*\{{?(?P<exp10>[-+]?\d+)\}}?)?(?![\d])"
    rf"|\b(?P<word>(?:{_NUM_WORD})(?:(?:\s+and)?[\s-]+(?:{_NUM_WORD}))*)\b", re.I)
# LaTeX markers; "$...$" only with a backslash inside ("$18" is money)
_LATEX = re.compile(r"\\boxed\s*\{|\\\(|\\\[|\\[dt]?frac|\\sqrt|\\times|\\cdot|\\pi|\$[^$\n]*\\[^$\n]*\$")


def _latex_span(text: str, m: re.Match) -> tuple[int, int]:
    """Where the LaTeX expression found by ``m`` ends: its closing brace, delimiter or sentence end."""
    cue = m.group(0)
    if cue.startswith("\\boxed"):
        return m.start(), min(closing_brace(text, m.end()) + 1, len(text))
    if cue.startswith("$"):
        return m.start(), m.end()
    close = {"\\(": "\\)", "\\[": "\\]"}.get(cue)
    if close:
        end = text.find(close, m.end())
        return m.start(), len(text) if end < 0 else end + 2
    end = re.search(r"\s(?=[A-Za-z]{2})|[,;]\s|\.(?:\s|$)|\n|$", text[m.start():])
    return m.start(), m.start() + end.start()


def _latex_value(latex: str) -> str | None:
    """The value of one LaTeX expression, by math-verify (None if it is not a plain real number)."""
    from math_verify import LatexExtractionConfig, parse  # 0.5 s to import, in a module the CLI loads; LaTeX only

    # math-verify's timeout uses SIGALRM, which works only in the main thread
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    if not latex.startswith(("$", "\\(", "\\[", "\\boxed")):
        latex = f"${latex}$"
    for expr in parse(latex[:200], extraction_config=[LatexExtractionConfig(boxed_match_priority=0)],
                      parsing_timeout=timeout, fallback_mode="no_fallback"):
        expr = getattr(expr, "rhs", expr)  # "x = \\frac{7}{2}"
        try:
            value = complex(expr.evalf())
        except (TypeError, AttributeError, ValueError):
            continue
        if value.imag == 0:
            return normalise_number(round(value.real, 9))
    return None


def _words_value(words: str) -> str | None:
    """'sixty-two' -> '62', 'three hundred and twelve' -> '312' (text2num); None if not one number."""
    words = words.casefold()
    if words == "zero":
        return "0"
    try:
        return str(text2num(words, "en"))
    except ValueError:
        return None


def number_candidates(text: str) -> list[Candidate]:
    """Every number in ``text`` (dates skipped), in order, normalised."""
    found = []
    latex = _LATEX.search(text)
    while latex:
        start, end = _latex_span(text, latex)
        if not (text.startswith("\\boxed", start) and "\\" not in text[start + 6:end]):  # \boxed{694} is plain
            value = _latex_value(text[start:end])
            if value is not None:
                found.append(Candidate(value, start, end))
                text = text[:start] + " " * (end - start) + text[end:]  # read as LaTeX, not as plain numbers
        latex = _LATEX.search(text, max(end, latex.end()))
    for m in _NUMBER.finditer(text):
        if m.group("date"):
            continue
        if m.group("word"):
            value = _words_value(m.group("word"))
            if value is not None:
                found.append(Candidate(value, m.start(), m.end()))
            continue
        if m.group("mixed"):
            if int(m.group("den")) == 0:
                continue
            value = Fraction(int(m.group("mixed"))) + Fraction(int(m.group("num")), int(m.group("den")))
            found.append(Candidate(normalise_number(float(value)), m.start(), m.end()))
            continue
        value = normalise_number(m.group("value"))
        if value is None:
            continue
        exp = m.group("exp") or m.group("exp10")
        if exp is not None:
            value = normalise_number(float(Fraction(value) * Fraction(10) ** int(exp)))
        if m.group("sign"):
            value = normalise_number("-" + value) if not value.startswith("-") else value
        found.append(Candidate(value, m.start(), m.end()))
    return sorted(found, key=lambda c: c.start)


# options --------------------------------------------------------------------

_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH = rf"(?P<month>{_MONTH_NAMES})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b(?P<mdy>\d{{1,2}})/(?P<dd>\d{{1,2}})/(?P<yyyy>\d{{4}})\b"
    rf"|\b{_MONTH}\s+{_DAY},?(?:\s+(?P<year>\d{{4}}))?\b"
    rf"|\b(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month2>{_MONTH_NAMES})\.?,?"
    rf"(?:\s+(?P<year2>\d{{4}}))?\b", re.I)


def _dates(text: str) -> list[tuple[tuple[int, int, int | None], int, int]]:
    """Dates in ``text`` as ((month, day, year or None), start, end): MM/DD/YYYY, 'May 4th, 2003', '4 May 2003'."""
    out = []
    for m in _DATE.finditer(text):
        if m.group("mdy"):
            month, day, year = int(m.group("mdy")), int(m.group("dd")), int(m.group("yyyy"))
        elif m.group("month"):
            month, day = _MONTHS[m.group("month").casefold()], int(m.group("day"))
            year = int(m.group("year")) if m.group("year") else None
        else:
            month, day = _MONTHS[m.group("month2").casefold()], int(m.group("day2"))
            year = int(m.group("year2")) if m.group("year2") else None
        try:
            dt.date(year or 2000, month, day)
        except ValueError:
            continue
        out.append(((month, day, year), m.start(), m.end()))
    return out


class _Options(NamedTuple):
    """What the rules know of one question's options, worked out once per options tuple."""

    letters: str
    dates: list  # (month, day, year) of each option that is a date, else None
    numbers: list  # each option's number ("$78.20", "2 hour and 31 minutes"), else None
    text: re.Pattern | None  # any option's text (not pure numbers or dates), case-insensitive
    by_text: dict  # case-folded option text -> index


_OPTION_LABEL = re.compile(rf"^\(?[{OPTION_LETTERS}]\)\s*")
_LEADING_NUMBER = re.compile(r"^\W*?(\d[\d,]*(?:\.\d+)?(?:/\d+)?)")
_PURE_NUMBER = re.compile(r"\W*[\d.,/]+\W*")


@lru_cache(maxsize=4096)
def _options(choices: tuple[str, ...]) -> _Options:
    texts = [_OPTION_LABEL.sub("", c).strip() for c in choices]  # without a leading "A)"
    dates = [(_dates(t)[0][0] if _dates(t) else None) for t in texts]
    lead = [_LEADING_NUMBER.match(t) for t in texts]
    numbers = [normalise_number(m.group(1)) if m else None for m in lead]
    known = [v for v in numbers if v is not None]
    if len(known) != len(set(known)):  # leading numbers that do not tell the options apart
        numbers = [None] * len(texts)
    by_text = {t.casefold(): i for i, t in reversed(list(enumerate(texts)))
               if t and not _PURE_NUMBER.fullmatch(t) and not dates[i]}
    alts = "|".join(re.escape(t) for t in sorted(by_text, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.I) if alts else None
    return _Options(OPTION_LETTERS[: len(choices)], dates, numbers, pattern, by_text)


_MARKED_LETTER = re.compile(r"\(([A-H])\)|\b(?:option|choice|answer)\s+\(?([A-H])\b|(?:^|\n)\s*([A-H])\)")
_LISTED_LETTER = re.compile(r"(?:,|\bor|\band/or|\band)\s+\(?([A-H])\b\)?")  # "A or C", "A, B, or D"
_HEAD_LETTER = re.compile(r"^\W*?(?i:(?:most\s+)?(?:likely|probably|either|clearly|definitely|option|choice)\s+)*"
                          r"\(?([A-H])(?:\)|\]|\.|:|,|\s|$)")


def option_candidates(text: str, choices: Sequence[str] | None, statement: bool) -> list[Candidate]:
    """Options named in ``text``: by letter, by date, by numeric value or by text; values are letters.

    In a statement a bare letter at its start counts ("The answer is C: ...", and letters listed
    after it: "A or C"); elsewhere only marked letters do ("(C)", "option C", a line starting "C)").
    A letter that is no option is "?".
    """
    opts = _options(tuple(choices)) if choices else None
    letters = opts.letters if opts else OPTION_LETTERS[:5]
    found = []
    for m in _MARKED_LETTER.finditer(text):
        letter = next(g for g in m.groups() if g)
        found.append(Candidate(letter if letter in letters else "?", m.start(), m.end()))
    if statement:
        for m in _LISTED_LETTER.finditer(text):
            found.append(Candidate(m.group(1) if m.group(1) in letters else "?", m.start(1), m.end()))
        head = _HEAD_LETTER.match(text)
        if head and not any(c.start <= head.start(1) < c.end for c in found):
            letter = head.group(1)
            found.append(Candidate(letter if letter in letters else "?", head.start(1), head.end(1)))
    if opts:
        if any(opts.dates):
            for (month, day, year), start, end in _dates(text):
                hits = [i for i, d in enumerate(opts.dates) if d and d[:2] == (month, day) and year in (None, d[2])]
                if len(hits) == 1:
                    found.append(Candidate(letters[hits[0]], start, end))
        elif any(opts.numbers):
            for c in number_candidates(text):
                hits = [i for i, v in enumerate(opts.numbers) if v is not None and is_correct("number", c.value, v)]
                if len(hits) == 1:
                    found.append(Candidate(letters[hits[0]], c.start, c.end))
        if opts.text:
            for m in opts.text.finditer(text):
                found.append(Candidate(letters[opts.by_text[m.group(0).casefold()]], m.start(), m.end()))
    found.sort(key=lambda c: (c.start, -(c.end - c.start)))
    return [c for i, c in enumerate(found) if not any(o.start <= c.start and c.end <= o.end and o != c
                                                       for o in found[:i])]


# yes / no -------------------------------------------------------------------

_YES = r"yes|true|still heads up|is heads up|remains heads up|lands? heads up|heads up"
_NO = r"no|false|not heads up|no longer heads up|tails up|is tails|not still heads up"
_YES_NO = re.compile(rf"\b(?P<no>{_NO})\b|\b(?P<yes>{_YES})\b", re.I)


def yes_no_candidates(text: str) -> list[Candidate]:
    """'yes'/'no' (and the coin's 'heads up'/'tails up') in ``text``."""
    return [Candidate("no" if m.group("no") else "yes", m.start(), m.end()) for m in _YES_NO.finditer(text)]


# strings, lists, words -------------------------------------------------------

QUOTED = re.compile(r"[\"“”'‘’`]([^\"“”'‘’`\n]{1,200})[\"“”'‘’`]")
_STOP = {"the", "a", "an", "is", "it", "that", "this", "we", "get", "so", "therefore", "final", "answer", "string",
         "result", "concatenation", "concatenated", "letters", "word", "be", "would"}


def string_candidates(text: str) -> list[Candidate]:
    """The letter string a statement gives: quoted, spelled out ('y, a, j, o') or its first content word."""
    m = QUOTED.search(text)
    if m and re.fullmatch(r"[^\W\d_][^\W\d_\s.-]*(?:[\s.-]+[^\W\d_]+)*[.]?", m.group(1).strip()):
        return [Candidate(re.sub(r"[\s.-]", "", m.group(1)), m.start(), m.end())]
    spelled = re.match(r"^\W*((?:[A-Za-z]\s*[-,+ ]\s*){1,15}[A-Za-z])\b(?![A-Za-z])", text)
    if spelled:
        return [Candidate(re.sub(r"[^A-Za-z]", "", spelled.group(1)), spelled.start(1), spelled.end(1))]
    # a run of names as the whole statement ("Ryan Luis Beverly Aaron."): read as written, as when quoted
    names = re.match(r"^\W*([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\s*(?:[.!]\s*)?$", text)
    if names:
        return [Candidate(re.sub(r"\s", "", names.group(1)), names.start(1), names.end(1))]
    for w in re.finditer(r"[A-Za-z]+", text):
        if w.group(0).casefold() not in _STOP:
            return [Candidate(w.group(0), w.start(), w.end())]
    return []


def list_candidates(text: str) -> list[Candidate]:
    """The comma-separated list a statement gives (quoted or up to its first sentence end)."""
    m = QUOTED.search(text)
    if m and "," in m.group(1):
        return [Candidate(normalise_list(m.group(1)), m.start(), m.end())]
    head = re.split(r"(?<=[^\s.])\.(?:\s|$)", text)[0]
    return [Candidate(normalise_list(head), 0, len(head))] if "," in head else []


_IRREGULAR = {"mouse": ("mice",), "wolf": ("wolves",), "sheep": ("sheep",), "goose": ("geese",)}


@lru_cache(maxsize=256)
def _word_pattern(vocabulary: tuple[str, ...]) -> tuple[re.Pattern, dict[str, str]]:
    forms = {}
    for w in vocabulary:
        for f in (w, w + "s", w + "es", *_IRREGULAR.get(w, ())):
            forms.setdefault(f.casefold(), w)
    alts = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alts})(?![\w-])", re.I), forms


def word_candidates(text: str, vocabulary: Sequence[str] | None) -> list[Candidate]:
    """Words of the closed vocabulary (plurals read as the singular), or any content word without one."""
    if not vocabulary:
        return [Candidate(w.group(0).casefold(), w.start(), w.end()) for w in re.finditer(r"[A-Za-z][A-Za-z-]*", text)
                if w.group(0).casefold() not in _STOP][:1]
    pattern, forms = _word_pattern(tuple(vocabulary))
    return [Candidate(forms[m.group(1).casefold()], m.start(), m.end()) for m in pattern.finditer(text)]
