"""The offline classifier: regex and vocabulary evidence for code and for maths, scored. Fast and free.

Coding score: a code fence +2 (+3 when tagged with a programming language); each distinct
strong code signal anywhere +2 (a definition, import, block head or assignment line, a line
ending in ``;`` or ``{``, console.log, SQL statement, shell command, stack trace, markup tags,
method calls, JSON key lines, identifiers with markdown-escaped underscores ``top\\_bar`` as
scraped ShareGPT shows pasted code); in the user's request, a programming language, library,
framework or developer tool named +3 (python, sql, docker, pytube, github actions, ...; words
that are also plain English, like ruby, swift or unity, count only with another code word), a
coding request +2 ("write a function", "fix this code"), each distinct programming word +1 (at
most 2: api, regex, compile, array, ...).
Maths score: each distinct strong maths signal anywhere +2 (``3 + 4 = 7``, LaTeX ``\\frac``,
``x^2``, "solve for"); in the user's request, a calculation request with a number +2
("calculate ... 5 cm", "find the value of"), a maths word +1 each (equation, probability, median, ...)
and +1 more when the request also sets out numbers (a fraction, an equation, a list of numbers).
Coding when the coding score is >= 4, or >= 3 with a maths score < 2; else maths when its
score is >= 2; else other.

"The user's request" is each user turn's first and last 600 characters: a long prompt is an
instruction around pasted material (an article, search results, a CV), and a technology named
inside that material says little about what is asked. Only the first 8000 characters of each
turn are read. Agreement with hand labels on real ShareGPT (dev and held-out splits):
tests/data/fixtures/README.md and ``bench/bench_data.py``.
"""

from __future__ import annotations

import re

from codemix.data.accounting import DataReport
from codemix.data.classify.base import HELD_OUT, Classifier, register

_TURN_CHARS = 8000
_REQUEST_CHARS = 600
_SHORT = 1000  # a request this long is mostly pasted material: one named technology is not enough
_BRIEF = 300  # a question this short is about what it names
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
    r"(?P<tag></(div|span|html|body|script|button|table|template|form|li|tr|td)>|"
    r"<[A-Za-z][\w:.-]* [\w:.-]+=\"[^\"]*\")|"
    r"(?P<call>[a-z_]\w*\.[a-z_]\w*\([^()\n]*\)|\w\(\)[.;])|"
    r"(?P<esc>\b[a-z][a-z0-9]*\\_[a-z0-9]+\\_[a-z0-9])|"
    r"(?P<inline>`[^`\n]{2,80}`)")
# signals that prose practically never shows: one of them is enough for a short request
_DECISIVE = {"def", "imp", "trace", "java", "js", "tag", "esc", "inline"}
_INTENT = re.compile(
    r"\b(write|create|implement|generate|design|develop|construct|build|edit|modify|fix|debug|rewrite|convert|"
    r"refactor|optimi[sz]e|explain|code)\b[^.\n?]{0,60}?\b(program|function|code|class|algorithm|api|"
    r"regex|regular expression|snippet|loop|array|component|endpoint|sql query|data model|unit test|test case|"
    r"database schema|rest api)s?\b|"
    r"\b(create|build|code|implement|develop|make)\b[^.\n?]{0,40}?\b(web ?page|html page|landing page|web app|"
    r"chrome extension|discord bot|telegram bot|slack bot|userscript)s?\b",
    re.I)
# word signals are looked up in a set of the request's lower-cased tokens (much faster than regexes)
_TOKEN = re.compile(r"[a-z][a-z0-9+#]*(?:\.js|\.net|\.py)?")
_LANG_NAMES = set("""
    python python3 js javascript typescript java c++ c# csharp golang php kotlin scala perl haskell elixir erlang
    clojure
    fortran cobol vba matlab solidity dart groovy julia fsharp f# vb.net verilog vhdl assembly webassembly wasm
    sql mysql postgresql postgres sqlite mongodb mongoose redis cassandra dynamodb elasticsearch opensearch neo4j
    cypher graphql grpc protobuf kafka rabbitmq sqlalchemy prisma sequelize typeorm hibernate
    html css scss sass tailwind bootstrap jquery ajax json yaml xml xaml xpath regex regexp
    react reactjs react.js redux nextjs next.js vue vuejs vue.js vuetify pinia nuxt angular angularjs svelte primeng
    nodejs node.js npm yarn webpack vite babel eslint jest mocha cypress playwright puppeteer selenium storybook
    nestjs express.js expressjs fastify deno electron laravel symfony django flask fastapi rails springboot
    pandas numpy scipy sklearn pytorch tensorflow keras huggingface opencv matplotlib seaborn plotly streamlit
    pyspark hadoop airflow dbt snowflake bigquery redshift jupyter colab conda pip pypi pytest
    junit spacy nltk gensim pytube yolo yolov3 yolov5 yolov8 deepstream tkinter pygame pyqt qt wxpython
    docker dockerfile kubernetes k8s kubectl minikube helm terraform ansible jenkins github gitlab bitbucket git
    nginx apache2 linux ubuntu debian centos bash zsh powershell cmd vim neovim emacs vscode intellij xcode
    android flutter swiftui gradle maven cmake makefile gcc clang llvm cuda opengl vulkan unity3d godot
    aws ec2 s3 ecs eks cloudformation cloudfront azure gcp firebase supabase heroku vercel netlify
    rstudio tidyverse ggplot2 dplyr shiny svg ios xr oop eda cmdlet cmdlets devtools swal sweetalert vmdk
    powerapps d3 d3.js three.js chart.js leaflet
    arduino esp32 esp8266 stm32 raspberry micropython fpga ros qgroundcontrol
    oauth jwt websocket websockets sdk devops cicd
    chatbot
    .net dotnet asp.net blazor winforms wpf linq nuget cargo rustc pyinstaller
    otree coldfusion ffmpeg imagemagick curl wget ssh sftp smtp nodemailer postfix opentelemetry
    grafana kibana logstash datadog splunk istio postman swagger openapi
    """.split())
# also ordinary English words or names: a programming sense only with other code words around
_AMBIGUOUS_NAMES = set("ruby rust swift go unity spring express dash shell excel sheets processing anaconda lambda "
                       "spark lua wordpress shopify woocommerce omeka prometheus".split())
_LANG_PHRASES = ("shell script", "bash script", "excel formula", "google sheets formula", "android studio",
                 "github actions", "visual studio", "google apps script", "apps script", "sonic pi", "unreal engine",
                 "chrome extension", "power bi", "power automate", "data structure", "linked list", "binary tree",
                 "hash table", "design pattern", "star schema", "machine learning model", "neural network",
                 "command line", "in the terminal", "r package", "r code", "r script", " in r ", "source code",
                 "programming language", "pull request", "stack trace", "unit test", "rest api", "web app",
                 "web scraping", "scrape", "developer tools", "in unity", "unity game", "google sheets",
                 "exploratory data analysis", "data pipeline", "system design")
_CODE_WORDS = set("""api json regex function functions code coding script scripts compile compiler debug bug bugs
    algorithm algorithms database databases query queries github linux variable variables array arrays class classes
    method methods programming program programs library libraries framework frameworks syntax backend frontend
    endpoint endpoints repository dataframe server string strings integer boolean loop loops recursion object objects
    parameter parameters input output deploy deployment microservice microservices schema runtime exception
    exceptions async callback iterator pointer pointers html css apis cli ide orm repo""".split())
# programming words with no everyday sense: in a short request each counts twice
_STRICT_CODE_WORDS = set("""api apis regex array arrays boolean dataframe endpoint endpoints recursion runtime exception
    exceptions callback iterator pointer pointers compiler syntax repository backend frontend json html css
    microservice microservices async refactor refactoring""".split())
# (pattern, substrings one of which it needs): the regex runs only when a hint is present
_STRONG_MATH = [
    (re.compile(r"\d\s*[-+*/×÷^]\s*\d+(\.\d+)?\s*=\s*-?\d"), ("=",)),
    (re.compile(r"\\(frac|int|sum|sqrt|cdot|times|pi|theta|alpha|leq|geq)\b"), ("\\",)),
    (re.compile(r"\b[a-z]\^\d|\b\d*[a-z]\s*[+-]\s*\d+\s*=\s*\d", re.I), ("^", "=")),
    (re.compile(r"\bsolve (for|the equation|this|the following)\b|\bwhat is \d+\s*[-+*/x×]\s*\d+|\bword problem\b",
                re.I), ("olve", "hat is", "word problem")),
]
_MATH_ASK = re.compile(
    r"\b((calculate|compute|solve|evaluate|simplify)\b[^.\n?]{0,80}?\d|find (the )?(value|sum|product|area|volume|"
    r"perimeter|probability|derivative|integral|roots?|limit|x|y)\b)", re.I)
# numbers set out for working: a fraction, an equation, a list of three or more
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_WORD_PROBLEM = re.compile(r"\b(how (many|much|long|far|old)|in total|altogether|left over|remaining)\b", re.I)
_NUMBERS = re.compile(r"(?<![\d/])\d+\s*/\s*\d+(?![\d/])|\d(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){2,}|\w\s*=\s*\d")
_MATH_WORDS = set("""math maths mathematics mathematical equation equations integral derivative calculus algebra
    geometry arithmetic probability theorem polynomial fraction fractions calculate compute remainder divisible
    triangle perimeter radius factorial logarithm median decimal celsius fahrenheit statistics statistical
    percentage ratio variance proof prove""".split())
_MATH_PHRASES = ("how many", "sum of", "product of", "prime number", "square root", "percent of", "area of",
                 "volume of", "surface area", "average of", "mean of", "binary number", "ascending order",
                 "descending order", "maximum value", "minimum value", "standard deviation", "linear equation",
                 "gaussian elimination")
_TEXT_CODE_HINTS = ("(", "=", "::", "SELECT", "INSERT", "CREATE", "install", " run", " add", "git ", "Trace",
                    "Exception", "Error", "</", '="', "\\_", "`")


def _code_signals(text: str) -> set[str]:
    found = set()
    if any(h in text for h in _TEXT_CODE_HINTS):  # every _TEXT_CODE branch needs one of these
        found = {m.lastgroup for m in _TEXT_CODE.finditer(text)}
    match = _LINE_CODE.match
    for line in text.splitlines():
        m = match(line.lstrip())
        if m:
            found.add(m.lastgroup)
    return found


def _user_code_score(request: str, lower: str, tokens: set[str]) -> int:
    brief = len(request) < _BRIEF
    words = len(tokens & _CODE_WORDS)
    named = bool(tokens & _LANG_NAMES) or any(p in lower for p in _LANG_PHRASES) or (
        words > 1 and bool(tokens & _AMBIGUOUS_NAMES))
    strict = 2 * (brief and bool(tokens & _STRICT_CODE_WORDS))
    return (2 + brief) * bool(_INTENT.search(request)) + 3 * named + min(3 if brief else 2, words) + strict


def _math_score(text: str, request: str, lower: str, tokens: set[str]) -> int:
    words = len(tokens & _MATH_WORDS) + sum(p in lower for p in _MATH_PHRASES)
    maths = 2 * bool(_MATH_ASK.search(request)) + words + (words > 0 and bool(_NUMBERS.search(request)))
    if len(request) < _SHORT and _WORD_PROBLEM.search(request) and len(_DIGITS.findall(request)) >= 2:
        maths += 1 + (words == 0)  # a word problem: quantities and a question about them
    for rx, hints in _STRONG_MATH:
        if any(h in text for h in hints) and rx.search(text):
            maths += 2
    return maths


def _request(content: str) -> str:
    if content.startswith("Web search results") and "Query:" in content:  # the WebChatGPT template
        return content[content.rindex("Query:") + 6:]
    if len(content) <= 2 * _REQUEST_CHARS:
        return content
    return content[:_REQUEST_CHARS] + "\n" + content[-_REQUEST_CHARS:]


def _first_signals(turns: list[dict]) -> tuple[str, str, str, set, int]:
    """The texts every score reads, and the code score from fences and the user's words."""
    text = "\n".join(t["content"][:_TURN_CHARS] for t in turns)
    request = "\n".join(_request(t["content"][:_TURN_CHARS]) for t in turns if t["role"] == "user")
    code = 0
    if "```" in text:
        code += 3 if any(tag.lower() in _PROGRAMMING_TAGS for tag in _FENCE_TAG.findall(text)) else 2
    lower = request.lower()
    tokens = set(_TOKEN.findall(lower))
    return text, request, lower, tokens, code + _user_code_score(request, lower, tokens)


def _code_score(text: str, code: int, short: bool) -> int:
    found = _code_signals(text)
    return code + 2 * len(found) + (1 if short and found & _DECISIVE else 0)


def score(turns: list[dict]) -> tuple[int, int]:
    """(coding score, maths score) of a conversation."""
    text, request, lower, tokens, code = _first_signals(turns)
    return _code_score(text, code, len(request) < _SHORT), _math_score(text, request, lower, tokens)


def label(turns: list[dict]) -> str:
    """coding / math / other by the scores above (stops early once coding is certain)."""
    text, request, lower, tokens, code = _first_signals(turns)
    short = len(request) < _SHORT
    if code < 4:
        code = _code_score(text, code, short)
    if code >= 4:
        return "coding"
    maths = _math_score(text, request, lower, tokens)
    if code >= 3 and maths < 2 and short:
        return "coding"
    return "math" if maths >= 2 else "other"


@register("heuristic")
class Heuristic(Classifier):
    """Regex and vocabulary scores for code and maths signals; offline, thousands of conversations/s."""

    version = "v3"
    measured = f"accuracy 0.897, Cohen's κ 0.776, coding recall 0.780 / precision 0.988 on {HELD_OUT}"

    def labels(self, convs: list[dict], report: DataReport) -> list[str]:
        return [label(c["turns"]) for c in convs]
