"""The offline classifier: regex evidence for code and for maths, scored. Fast and free.

Coding score: a code fence +2 (+3 when tagged with a programming language); each distinct
strong code signal anywhere +2 (a definition, import, block head or assignment line, a line
ending in ``;`` or ``{``, console.log, SQL statement, shell command, stack trace, markup tags,
method calls); in the user's turns, a programming language or tool named +3 (python, sql,
docker, ...), a coding request +2 ("write a function", "fix this code"), each distinct
programming word +1 (at most 2: api, regex, compile, array, ...).
Maths score: each distinct strong maths signal anywhere +2 (``3 + 4 = 7``, LaTeX ``\\frac``,
``x^2``, "solve for"); in the user's turns, a calculation request with a number +2
("calculate ... 5 cm") and each distinct maths word +1 (equation, probability, median, ...).
Coding when the coding score is >= 4, or >= 3 with a maths score < 2; else maths when its
score is >= 2; else other. Only the first 8000 characters of each turn are read.
Agreement with hand labels: see bench/bench_data.py.
"""

from __future__ import annotations

import re

from codemix.data.classify.base import Classifier, register
from codemix.data.report import DataReport

_TURN_CHARS = 8000
_FENCE_TAG = re.compile(r"```[ \t]*(\w[\w+#-]*)")
_PROGRAMMING_TAGS = {"python", "py", "javascript", "js", "typescript", "ts", "jsx", "tsx", "java", "c", "cpp", "csharp",
                     "cs", "go", "golang", "rust", "php", "ruby", "swift", "kotlin", "scala", "sql", "bash", "sh",
                     "shell", "powershell", "html", "css", "scss", "vue", "r", "matlab", "perl", "lua", "dart",
                     "haskell", "solidity", "vba", "dockerfile", "yaml", "json", "xml", "makefile", "graphql"}
# Python's re tries every branch at every position, so the signals are split for speed: line
# patterns are matched at the start of each (left-stripped) line only; the others start with a
# literal that the engine can scan for.
_LINE_CODE = re.compile(
    r"(?P<def>(def|class|fn|func|function|public|private|static|async def) \w+.*[(:{]\s*$)|"
    r"(?P<imp>import [\w.]+|from [\w.]+ import|using [\w.]+;|package [\w.]+;|#include\s*[<\"])|"
    r"(?P<sh>\$ [a-z])|"
    r"(?P<block>(for|while|if|elif|else if)\b.*[:{]\s*$|return\b)|"
    r"(?P<assign>[A-Za-z_][\w.]*(\[[^\]]*\])? ?[-+*/]?= ?[^=\s].*$)|"
    r"(?P<brace>.*\)\s*\{\s*$)|"
    r"(?P<semi>.{2,}[\w)\]'\"];\s*$)")
_TEXT_CODE = re.compile(
    r"(?P<js>console\.log\(|document\.getElement|\)\s*=>\s*\{|(const|let|var) \w+ = )|"
    r"(?P<java>System\.out\.print|public static void|std::)|"
    r"(?P<sql>SELECT\b[^\n]{0,200}\bFROM\b|INSERT INTO\b|CREATE TABLE\b)|"
    r"(?P<sh>(sudo|pip|npm|apt-get|brew|conda|yarn) (install|run|add)\b|git (clone|commit|push)\b)|"
    r"(?P<trace>Traceback \(most recent call last\)|Exception in thread|Error: |Uncaught \w+Error)|"
    r"(?P<tag></(div|span|html|body|script|button|table|template|form|li|tr|td)>)|"
    r"(?P<call>[a-z_]\w*\.[a-z_]\w*\([^()\n]*\)|\w\(\)[.;])")
_INTENT = re.compile(
    r"\b(write|create|implement|generate|design|develop|construct|build|edit|modify|fix|debug|rewrite|convert|"
    r"refactor|optimi[sz]e|explain)\b[^.\n?]{0,60}?\b(program|function|code|class|method|algorithm|api|regex|"
    r"regular expression|snippet|loop|array|component|endpoint|sql query|data model|unit test)s?\b",
    re.I)
# word signals are looked up in a set of the user's lower-cased tokens (much faster than regexes)
_TOKEN = re.compile(r"[a-z][a-z0-9+#]*")
_LANG_NAMES = set("""python javascript typescript java c++ c# golang rust php ruby kotlin swift sql mysql postgresql
    react nodejs django flask pandas numpy jquery vue angular bash powershell vba matlab solidity unity
    laravel junit graphql sqlalchemy cassandra spacy npm ajax arduino opentelemetry docker kubernetes aws terraform
    git pytorch tensorflow yolo yolov3 yolov5 yolov8 micropython""".split())
_LANG_PHRASES = ("shell script", "bash script", "node.js", "excel formula", "android studio", " html", " css")
_CODE_WORDS = set("""api json regex function functions code coding script compile compiler debug bug algorithm
    database query github linux variable array class method programming program library framework syntax backend
    frontend endpoint repository dataframe server string integer boolean loop recursion object parameter
    parameters input output""".split())
# (pattern, substrings one of which it needs): the regex runs only when a hint is present
_STRONG_MATH = [
    (re.compile(r"\d\s*[-+*/×÷^]\s*\d+(\.\d+)?\s*=\s*-?\d"), ("=",)),
    (re.compile(r"\\(frac|int|sum|sqrt|cdot|times|pi|theta|alpha|leq|geq)\b"), ("\\",)),
    (re.compile(r"\b[a-z]\^\d|\b\d*[a-z]\s*[+-]\s*\d+\s*=\s*\d", re.I), ("^", "=")),
    (re.compile(r"\bsolve (for|the equation)\b|\bwhat is \d+\s*[-+*/x×]\s*\d+", re.I), ("olve", "hat is")),
]
_MATH_ASK = re.compile(
    r"\b(calculate|compute|find|what is|determine|convert|solve|evaluate|simplify)\b[^.\n?]{0,80}?\d", re.I)
_MATH_WORDS = set("""math maths mathematics mathematical equation equations integral derivative calculus algebra
    geometry arithmetic probability theorem polynomial fraction fractions calculate compute remainder divisible
    triangle perimeter radius factorial logarithm median decimal celsius fahrenheit""".split())
_MATH_PHRASES = ("how many", "sum of", "product of", "prime number", "square root", "percent of", "area of",
                 "volume of", "surface area", "average of", "mean of", "binary number", "ascending order",
                 "descending order", "maximum value", "minimum value")
_TEXT_CODE_HINTS = ("(", "=", "::", "SELECT", "INSERT", "CREATE", "install", " run", " add", "git ", "Trace",
                    "Exception", "Error", "</")


def _code_signals(text: str) -> int:
    found = set()
    if any(h in text for h in _TEXT_CODE_HINTS):  # every _TEXT_CODE branch needs one of these
        found = {m.lastgroup for m in _TEXT_CODE.finditer(text)}
    match = _LINE_CODE.match
    for line in text.splitlines():
        m = match(line.lstrip())
        if m:
            found.add(m.lastgroup)
    return len(found)


def _user_code_score(user: str, lower: str, tokens: set[str]) -> int:
    named = bool(tokens & _LANG_NAMES) or any(p in lower for p in _LANG_PHRASES)
    return 2 * bool(_INTENT.search(user)) + 3 * named + min(2, len(tokens & _CODE_WORDS))


def _math_score(text: str, user: str, lower: str, tokens: set[str]) -> int:
    maths = 2 * bool(_MATH_ASK.search(user)) + len(tokens & _MATH_WORDS) + sum(p in lower for p in _MATH_PHRASES)
    for rx, hints in _STRONG_MATH:
        if any(h in text for h in hints) and rx.search(text):
            maths += 2
    return maths


def _first_signals(turns: list[dict]) -> tuple[str, str, str, set, int]:
    """The texts every score reads, and the code score from fences and the user's words."""
    text = "\n".join(t["content"][:_TURN_CHARS] for t in turns)
    user = "\n".join(t["content"][:_TURN_CHARS] for t in turns if t["role"] == "user")
    code = 0
    if "```" in text:
        code += 3 if any(tag.lower() in _PROGRAMMING_TAGS for tag in _FENCE_TAG.findall(text)) else 2
    lower = user.lower()
    tokens = set(_TOKEN.findall(lower))
    return text, user, lower, tokens, code + _user_code_score(user, lower, tokens)


def score(turns: list[dict]) -> tuple[int, int]:
    """(coding score, maths score) of a conversation."""
    text, user, lower, tokens, code = _first_signals(turns)
    return code + 2 * _code_signals(text), _math_score(text, user, lower, tokens)


def label(turns: list[dict]) -> str:
    """coding / math / other by the scores above (stops early once coding is certain)."""
    text, user, lower, tokens, code = _first_signals(turns)
    if code < 4:
        code += 2 * _code_signals(text)
    if code >= 4:
        return "coding"
    maths = _math_score(text, user, lower, tokens)
    if code >= 4 or (code >= 3 and maths < 2):
        return "coding"
    return "math" if maths >= 2 else "other"


@register("heuristic")
class Heuristic(Classifier):
    """Regex scores for code and maths signals; offline, ~tens of thousands of conversations/s."""

    version = "v2"

    def labels(self, convs: list[dict], report: DataReport) -> list[str]:
        return [label(c["turns"]) for c in convs]
