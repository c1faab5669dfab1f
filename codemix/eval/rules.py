"""Answer rules: read the answer a model output states, per answer type (pure functions, no I/O, no state).

1. **An answer statement decides.** The rules look for answer cues (``\\boxed{..}``, "the answer
   is ..", "Answer: ..", "#### ..") and read the answer from the text right after the *last*
   one. When that statement holds no valid answer for the type ("the answer is not known",
   "The answer is 18." for an animal, a letter that is no option), or hedges between two
   ("A or C", "yes or no"), the output states no answer: ``None``, never a guess from elsewhere.
2. **Only outputs that never state an answer** fall back to the last mention in the whole output,
   unless the generation ran away (a line repeated 5+ times, or a long output cut off
   mid-sentence): its last mention is a fragment of the loop, so it states no answer.

Text after a hallucinated next turn ("\\nQ:", "\\nQuestion:", "\\nUser:") is ignored, and so is a
cue left empty at the very end of the output (a generation cut off while stating its answer).
Numbers in LaTeX (``\\frac{3}{4}``, ``\\boxed{2\\sqrt{3}}``) are read with math-verify; mixed numbers
("1 1/2"), scientific notation ("1.5e3") and number words ("twelve") are read too. Options are
recognised by letter, by their text, by their value when they are numbers, and by date when
they are MM/DD/YYYY dates ("May 4th, 2003" is 05/04/2003). Both sides are normalised before
comparing (numbers by value, letters and words by case-folded form, lists item by item).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple, Sequence

OPTION_LETTERS = "ABCDEFGH"  # options are lettered in order, (A) first: prompts, gold answers and rules agree
ANSWER_TYPES = ("number", "option", "yes_no", "string", "list", "word")

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
    r"\\boxed\s*\{"
    r"|(?<![\w-])(?:final\s+|correct\s+)?answer(?:\s*\([^)\n]{0,40}\))?(?:\s+to\s+(?:the|this)\s+(?:question|problem))?"
    r"\s*(?:is|:|=|would\s+be|should\s+be|will\s+be|equals)(?![\w-])\s*:?"
    r"|\*\*(?:final\s+)?answer\*\*\s*:?|####", re.I)
_PLACEHOLDER = re.compile(r"^[\s*\"'`(]*[XN](?:[\s*\"'`).]*$|,?\s+(?:which|where)\b)")  # "N, which is the ..."
_NOT_A_STATEMENT = re.compile(r"\b(?:this|that|an|no|whose|which|your)\s+$", re.I)


def _closing_brace(text: str, start: int) -> int:
    """Index just past the brace that closes the one opened before ``start`` (len(text) if unclosed)."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return len(text)


_STATED_BEFORE = re.compile(  # the answer named before its cue: "A is the correct answer."
    r"(?:^|\n)[ \t]*(?!(?:this|that|it|which|what|here|there|mine|yours)\b)(?P<s>[^\n]{1,40}?)"
    r"[ \t]+is[ \t]+the[ \t]+(?:correct|right|final)[ \t]+answer\b(?![ \t]+(?:is|to)\b)",
    re.I)
# what may stand between two answer statements of one closing run (a list label, "So, the ...")
_RUN_GAP = re.compile(r"\s*(?:\d+[.)]\s*)?(?:(?:so|therefore|thus|hence),?\s*)?(?:the\s+)?", re.I)


class Statement(NamedTuple):
    """The text after one answer cue ("" for a copied placeholder) and where it sits in the output."""

    text: str
    start: int  # where its cue starts
    end: int  # where its line ends


def _statements(body: str) -> list[Statement]:
    found = []
    for m in _CUE.finditer(body):
        cue = m.group(0)
        if cue.startswith("\\boxed"):
            close = _closing_brace(body, m.end())
            found.append(Statement("\\boxed{" + body[m.end():close] + "}", m.start(), close))
            continue
        before = body[max(0, m.start() - 12):m.start()]
        if _NOT_A_STATEMENT.search(before):
            continue  # "this answer is correct", "no answer is given": talk about answers, not one
        rest = body[m.end():].lstrip(" \t*:")
        if not rest.strip():
            continue  # cut off right after the cue: no statement was made
        line = rest.split("\n", 1)[0]
        end = len(body) - len(rest) + len(line)
        if _PLACEHOLDER.match(line):  # the instruction's '"The answer is X." where X is ...' copied
            found.append(Statement("", m.start(), end))
            continue
        found.append(Statement(line if re.search(r"\w", line) else rest[:200], m.start(), end))  # "is\n\n$$\nx = 80"
    for m in _STATED_BEFORE.finditer(body):
        found.append(Statement(m.group("s"), m.start("s"), m.end()))
    return sorted(found, key=lambda st: st.start)


def answer_statements(text: str) -> tuple[list[str], str]:
    """(the texts after answer cues, in order; the whole output), cut at any hallucinated next turn.

    A copied placeholder ("The answer is X.") is an empty statement: it defers to an earlier real
    statement, and with none the output stated no answer.
    """
    body = _cut(text)
    return [st.text for st in _statements(body)], body


def _cut(text: str) -> str:
    cut = _NEXT_TURN.search(text)
    return text[:cut.start()] if cut and cut.start() > 0 else text


def closing_run(statements: Sequence[Statement], body: str) -> list[Statement]:
    """The real statements that close the output one after another (nothing but a lead-in between them).

    "The answer is yes.\n\nThe answer is no." closes with two; a statement, more reasoning and a
    revised statement closes with one (the revision).
    """
    real = [st for st in statements if st.text]
    run = real[-1:]
    for st in reversed(real[:-1]):
        if not _RUN_GAP.fullmatch(body[st.end:run[0].start]):
            break
        run.insert(0, st)
    return run


# ---------------------------------------------------------------------------- candidates


class Candidate(NamedTuple):
    """One possible answer found in a text: its normalised value and where it sits."""

    value: str
    start: int
    end: int


_HEDGE = re.compile(r"\W*(?:\b(?:or|and/or|nor)\b|/)\W*$", re.I)


def _hedged(text: str, found: list[Candidate]) -> bool:
    """Whether the statement names two different answers joined by 'or' ("A or C", "yes or no")."""
    for a, b in zip(found, found[1:]):
        if a.value != b.value and _HEDGE.match(text[a.end:b.start]) and "\n" not in text[a.end:b.start]:
            return True
    return False


def _first_sentence(text: str) -> str:
    """The statement up to its first sentence end (a period that is not a decimal point)."""
    m = re.search(r"(?<!\d)\.(?:\s|$)|(?<=\d)\.(?=\s+[A-Z])|[!?;](?:\s|$)", text)
    return text[:m.end()] if m else text


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
_ENUMERATION = re.compile(r"\b(?:step|question|problem|part|case|option)\s+\d+|^\s*\d+[.)](?:\s|$)", re.I | re.M)


def _latex_span(text: str, m: re.Match) -> tuple[int, int]:
    """Where the LaTeX expression found by ``m`` ends: its closing brace, delimiter or sentence end."""
    cue = m.group(0)
    if cue.startswith("\\boxed"):
        return m.start(), min(_closing_brace(text, m.end()) + 1, len(text))
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
    from math_verify import LatexExtractionConfig, parse

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
    from text_to_num import text2num

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


def _number_fallback(body: str, choices) -> str | None:
    """The last number of the output; number words count only in sentences without digits ("three days")."""
    body = _ENUMERATION.sub(lambda m: " " * len(m.group(0)), body)  # "Step 3", "1. ..." are labels, not answers
    last = None
    for sentence in re.split(r"(?<=[.!?])\s+|\n", body):
        found = number_candidates(sentence)
        digits = [c for c in found if not re.fullmatch(r"[A-Za-z]+", sentence[c.start:c.end])]
        if digits or found:
            last = (digits or found)[-1].value
    return last


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


def _yes_no_fallback(body: str, choices) -> str | None:
    statements = re.sub(r"[^.!?\n]*(?:\?|\bwhether\b[^.!\n]*)", " ", body, flags=re.I)  # not questions
    found = yes_no_candidates(statements)
    return found[-1].value if found else None


# strings, lists, words ----------------------------------------------------------

_QUOTED = re.compile(r"[\"“”'‘’`]([^\"“”'‘’`\n]{1,200})[\"“”'‘’`]")
_STOP = {"the", "a", "an", "is", "it", "that", "this", "we", "get", "so", "therefore", "final", "answer", "string",
         "result", "concatenation", "concatenated", "letters", "word", "be", "would"}


def string_candidates(text: str) -> list[Candidate]:
    """The letter string a statement gives: quoted, spelled out ('y, a, j, o') or its first content word.

    """
    m = _QUOTED.search(text)
    if m and re.fullmatch(r"[^\W\d_][^\W\d_\s.-]*(?:[\s.-]+[^\W\d_]+)*[.]?", m.group(1).strip()):
        return [Candidate(re.sub(r"[\s.-]", "", m.group(1)), m.start(), m.end())]
    spelled = re.match(r"^\W*((?:[A-Za-z]\s*[-,+ ]\s*){1,15}[A-Za-z])\b(?![A-Za-z])", text)
    if spelled:
        return [Candidate(re.sub(r"[^A-Za-z]", "", spelled.group(1)), spelled.start(1), spelled.end(1))]
    for w in re.finditer(r"[A-Za-z]+", text):
        if w.group(0).casefold() not in _STOP:
            return [Candidate(w.group(0), w.start(), w.end())]
    return []


def _string_fallback(body: str, choices) -> str | None:
    quoted = [m.group(1) for m in _QUOTED.finditer(body) if re.fullmatch(r"[^\W\d_]{2,15}", m.group(1).strip())]
    if quoted:
        return quoted[-1].strip()
    result = re.findall(r"(?:=|\bis|:)\s*\**([A-Za-z]{2,15})\**\s*\.?\s*$", body, re.M)  # "... = yajc"
    return result[-1] if result else None


def list_candidates(text: str) -> list[Candidate]:
    """The comma-separated list a statement gives (quoted or up to its first sentence end)."""
    m = _QUOTED.search(text)
    if m and "," in m.group(1):
        return [Candidate(normalise_list(m.group(1)), m.start(), m.end())]
    head = re.split(r"(?<=[^\s.])\.(?:\s|$)", text)[0]
    return [Candidate(normalise_list(head), 0, len(head))] if "," in head else []


def _list_fallback(body: str, choices) -> str | None:
    quoted = [m.group(1) for m in _QUOTED.finditer(body) if "," in m.group(1)]
    if quoted:
        return normalise_list(quoted[-1])
    lines = [ln for ln in body.splitlines() if ln.count(",") >= 2]
    return normalise_list(lines[-1].split(":")[-1]) if lines else None


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


def _word_fallback(body: str, choices) -> str | None:
    found = word_candidates(body, choices) if choices else []
    return found[-1].value if found else None


def _option_fallback(body: str, choices) -> str | None:
    found = [c for c in option_candidates(body, choices, statement=False) if c.value != "?"]
    return found[-1].value if found else None


# ---------------------------------------------------------------------------- the rules

def _candidates(answer_type: str, text: str, choices) -> list[Candidate]:
    if answer_type == "number":
        return number_candidates(text)
    if answer_type == "option":
        return option_candidates(text, choices, statement=True)
    if answer_type == "yes_no":
        return yes_no_candidates(text)
    if answer_type == "string":
        return string_candidates(text)
    if answer_type == "list":
        return list_candidates(text)
    return word_candidates(text, choices)


_FALLBACKS = {"number": _number_fallback, "option": _option_fallback, "yes_no": _yes_no_fallback,
              "string": _string_fallback, "list": _list_fallback, "word": _word_fallback}


_LINE_LABEL = re.compile(r"^\s*(?:\d+[.):]|step\s+\d+\s*:|[-*•])\s*", re.I)
_CUT_OFF = re.compile(r"[\w,(+\-*/=:]\s*$")


def is_degenerate(text: str) -> bool:
    """A generation that ran away: one line said 5+ times (a loop), or a long text cut off mid-sentence.

    Such an output, if it never states an answer, states none: its last number or word is a
    fragment of the loop, not a conclusion.
    """
    lines = [_LINE_LABEL.sub("", ln).strip().casefold() for ln in text.splitlines()]
    counts: dict[str, int] = {}
    for ln in lines:
        if len(ln) >= 8:
            counts[ln] = counts.get(ln, 0) + 1
            if counts[ln] >= 5:
                return True
    return len(text) > 200 and bool(_CUT_OFF.search(text))


def read_statement(answer_type: str, statement: str, choices=None) -> str | None:
    """The answer one answer statement holds; None if it holds no valid one or hedges between two."""
    if statement.startswith("\\boxed") and answer_type != "number":
        statement = re.sub(r"^\\boxed\{(?:\\text\{)?|\}+$", "", statement)
    sentence = statement if statement.startswith("\\boxed") else _first_sentence(statement)
    if answer_type == "number" and "=" in sentence:  # "The answer is 30 - 6 = 14 hours": the result
        sentence = sentence[sentence.rindex("=") + 1:]
    found = _candidates(answer_type, sentence, choices)
    if not found or found[0].value == "?" or _hedged(sentence, found):
        return None
    return found[0].value


def extract_answer(answer_type: str, text: str, choices: Sequence[str] | None = None) -> str | None:
    """The answer a model output states, by the rules for its type; None when it states none.

    ``choices`` are the option texts for "option" and the closed vocabulary for "word".
    """
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"no extraction rules for answer type {answer_type!r}; known: {', '.join(ANSWER_TYPES)}")
    if not text or not text.strip():
        return None
    choices = tuple(choices) if choices else None
    body = _cut(text)
    statements = _statements(body)
    if statements:
        run = closing_run(statements, body)
        if not run:
            return None
        answers = [read_statement(answer_type, st.text, choices) for st in run]
        last = answers[-1]
        if last is not None and any(a is not None and not is_correct(answer_type, a, last) for a in answers):
            return None  # "The answer is yes. The answer is no.": left open between the two
        return last
    if is_degenerate(body):
        return None
    return _FALLBACKS[answer_type](body, choices)
