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
_STRONG_CODE = re.compile(
    r"(?P<def>^\s*(def|class|fn|func|function|public|private|static|async def) \w+.*[(:{]\s*$)|"
    r"(?P<imp>^\s*(import [\w.]+|from [\w.]+ import|using [\w.]+;|package [\w.]+;|#include\s*[<\"]))|"
    r"(?P<js>console\.log\(|document\.getElement|\)\s*=>\s*\{|\b(const|let|var) \w+ = )|"
    r"(?P<java>System\.out\.print|public static void|std::)|"
    r"(?P<sql>\bSELECT\b[^\n]{0,200}\bFROM\b|\bINSERT INTO\b|\bCREATE TABLE\b)|"
    r"(?P<sh>^\s*\$ [a-z]|\b(sudo|pip|npm|apt-get|brew|conda|yarn) (install|run|add)\b|\bgit (clone|commit|push)\b)|"
    r"(?P<trace>Traceback \(most recent call last\)|Exception in thread|\bat [\w.$]+\(\w+\.java:\d+\)|"
    r"\b\w+Error: |Uncaught \w+Error)|"
    r"(?P<tag></(div|span|html|body|script|button|table|template|form|li|tr|td)>)|"
    r"(?P<semi>^[^\n]{3,}[\w)\]'\"];\s*$)|"
    r"(?P<brace>^[^\n]*\)\s*\{\s*$)|"
    r"(?P<assign>^\s*[A-Za-z_][\w.]*(\[[^\]\n]*\])? ?[-+*/]?= ?[^=\s][^\n]*$)|"
    r"(?P<block>^\s*(for|while|if|elif|else if)\b[^\n]*[:{]\s*$|^\s*return\b)|"
    r"(?P<call>\b[a-z_]\w*\.[a-z_]\w*\([^()\n]*\)|\b\w+\(\)[.;])",
    re.M)
_INTENT = re.compile(
    r"\b(write|create|implement|generate|design|develop|construct|build|edit|modify|fix|debug|rewrite|convert|"
    r"refactor|optimi[sz]e|explain)\b[^.\n?]{0,60}?\b(program|function|code|class|method|algorithm|api|regex|"
    r"regular expression|snippet|loop|array|component|endpoint|sql query|data model|unit test)s?\b",
    re.I)
_LANG_NAMES = re.compile(
    r"(?<![\w./-])(shell script|bash script|micropython|python|javascript|typescript|java|c\+\+|c#|golang|rust|php|ruby|kotlin|swift|sql|mysql|postgresql|html|"
    r"css|react|node\.?js|django|flask|pandas|numpy|jquery|vue|angular|bash|powershell|vba|matlab|solidity|"
    r"unity|excel formula|laravel|junit|graphql|sqlalchemy|cassandra|spacy|npm|ajax|arduino|opentelemetry|"
    r"docker|kubernetes|aws|terraform|git|pytorch|tensorflow|yolov?\d?|kotlin|android studio)(?![\w+#])",
    re.I)
_CODE_WORDS = re.compile(
    r"\b(api|json|regex|function|functions|code|coding|script|compile|compiler|debug|bug|algorithm|database|"
    r"query|github|docker|kubernetes|linux|variable|array|class|method|programming|program|library|framework|"
    r"syntax|backend|frontend|endpoint|repository|dataframe|server|string|integer|boolean|loop|recursion|"
    r"object|parameter|parameters|input|output)\b", re.I)
_STRONG_MATH = re.compile(
    r"(?P<eq>\d\s*[-+*/×÷^]\s*\d+(\.\d+)?\s*=\s*-?\d)|"
    r"(?P<latex>\\(frac|int|sum|sqrt|cdot|times|pi|theta|alpha|leq|geq)\b)|"
    r"(?P<power>\b[a-z]\^\d|\b\d*[a-z]\s*[+-]\s*\d+\s*=\s*\d)|"
    r"(?P<solve>\bsolve (for|the equation)\b|\bwhat is \d+\s*[-+*/x×]\s*\d+)",
    re.I)
_MATH_ASK = re.compile(
    r"\b(calculate|compute|find|what is|determine|convert|solve|evaluate|simplify)\b[^.\n?]{0,80}?\d", re.I)
_MATH_WORDS = re.compile(
    r"\b(math|maths|mathematics|mathematical|equation|equations|integral|derivative|calculus|algebra|geometry|"
    r"arithmetic|probability|theorem|polynomial|fraction|fractions|calculate|compute|how many|sum of|product of|"
    r"remainder|divisible|prime number|triangle|perimeter|radius|factorial|logarithm|square root|percent of|area of|volume of|surface area|median|average of|mean of|"
    r"binary number|decimal|celsius|fahrenheit|ascending order|descending order|maximum value|minimum value)\b",
    re.I)


def _distinct(rx: re.Pattern, text: str) -> int:
    """How many different named groups of ``rx`` match somewhere in ``text``."""
    return len({m.lastgroup for m in rx.finditer(text)})


def score(turns: list[dict]) -> tuple[int, int]:
    """(coding score, maths score) of a conversation."""
    text = "\n".join(t["content"][:_TURN_CHARS] for t in turns)
    user = "\n".join(t["content"][:_TURN_CHARS] for t in turns if t["role"] == "user")
    code = 0
    if "```" in text:
        code += 3 if any(tag.lower() in _PROGRAMMING_TAGS for tag in _FENCE_TAG.findall(text)) else 2
    code += 2 * _distinct(_STRONG_CODE, text)
    code += 2 * bool(_INTENT.search(user)) + 3 * bool(_LANG_NAMES.search(user))
    code += min(2, len({w.lower() for w in _CODE_WORDS.findall(user)}))
    maths = 2 * _distinct(_STRONG_MATH, text) + 2 * bool(_MATH_ASK.search(user))
    maths += len({w.lower() for w in _MATH_WORDS.findall(user)})
    return code, maths


def label(turns: list[dict]) -> str:
    """coding / math / other by the scores above."""
    code, maths = score(turns)
    if code >= 4 or (code >= 3 and maths < 2):
        return "coding"
    return "math" if maths >= 2 else "other"


@register("heuristic")
class Heuristic(Classifier):
    """Regex scores for code and maths signals; offline, ~tens of thousands of conversations/s."""

    version = "v2"

    def labels(self, convs: list[dict], report: DataReport) -> list[str]:
        return [label(c["turns"]) for c in convs]
