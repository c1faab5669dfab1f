"""Which programming languages a coding conversation is about: python, javascript, java, cpp,
sql, shell, or other.

Evidence, strongest first: the info string of code fences (```python); then syntax signatures
in the text (``def f():``, ``console.log``, ``#include``, ``SELECT ... FROM``, ``sudo apt``);
then a language named in the user's words. TypeScript counts as javascript, C as cpp; any other
named or fenced language (go, rust, html, ...) is "other". Nothing found at all: ["other"].
"""

from __future__ import annotations

import re

FENCE_TAGS = {
    "python": "python", "py": "python", "python3": "python", "ipython": "python", "pycon": "python",
    "javascript": "javascript", "js": "javascript", "jsx": "javascript", "typescript": "javascript",
    "ts": "javascript", "tsx": "javascript", "node": "javascript",
    "java": "java",
    "cpp": "cpp", "c++": "cpp", "c": "cpp", "cc": "cpp", "h": "cpp", "hpp": "cpp", "cxx": "cpp",
    "sql": "sql", "mysql": "sql", "postgresql": "sql", "postgres": "sql", "sqlite": "sql", "plsql": "sql",
    "tsql": "sql",
    "bash": "shell", "sh": "shell", "shell": "shell", "zsh": "shell", "console": "shell", "shell-session": "shell",
    "powershell": "shell", "ps1": "shell", "bat": "shell", "cmd": "shell",
}
# untagged or prose fences; these say nothing about the language
_NEUTRAL_TAGS = {"", "text", "plaintext", "txt", "output", "vbnet", "css", "scss", "json", "yaml", "yml", "xml",
                 "markdown", "md", "diff", "csv", "makefile", "ini", "toml", "lua"}

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)")
_SIGNATURES = {
    "python": re.compile(r"\bdef \w+\(.*\)\s*(->\s*[\w\[\], ]+)?:|^\s*(from [\w.]+ )?import [\w.]+(\s+as \w+)?\s*$|"
                         r"\bprint\(|\belif\b|\bself\.\w|__name__|\bnp\.\w|\bpd\.\w", re.M),
    "javascript": re.compile(r"console\.log\(|\bfunction\s*\w*\s*\(|\)\s*=>|\b(const|let) \w+\s*=|document\.\w|"
                             r"\brequire\(['\"]|\bexport (default|const|function)\b|\$\(['\"]"),
    "java": re.compile(r"public static void main|System\.out\.print|\bpublic (final )?class \w+|"
                       r"\bimport java\.|@Override\b|\bprivate (static )?(final )?\w+(<[\w, ]+>)? \w+\s*[;=]"),
    "cpp": re.compile(r"#include\s*[<\"]|\bstd::|\bcout\s*<<|\bint main\s*\(|\bprintf\s*\(|\bmalloc\("),
    "sql": re.compile(r"\bSELECT\b[\s\S]{1,300}?\bFROM\b|\bINSERT INTO\b|\bCREATE TABLE\b|\bUPDATE \w+ SET\b|"
                      r"\bALTER TABLE\b|\bDELETE FROM\b", re.I),
    "shell": re.compile(r"^\s*\$ \w|^#!/(usr/)?bin/(env )?(ba|z)?sh|\b(sudo|apt-get|apt|brew|yum) install\b|"
                        r"\bchmod [+0-7]|\b(grep|awk|sed|xargs|curl|wget) -\w|\becho \$\w|^\s*export \w+=", re.M),
}
_MENTIONS = {
    "python": re.compile(r"\b(python|django|flask|pandas|numpy|pytorch)\b", re.I),
    "javascript": re.compile(r"\b(javascript|typescript|node\.?js|react|vue|angular|jquery)\b", re.I),
    "java": re.compile(r"\bjava\b(?!\s*script)|\bspring boot\b|\bkotlin\b", re.I),
    "cpp": re.compile(r"\bc\+\+|\bcpp\b|\bin c\b|\bc program", re.I),
    "sql": re.compile(r"\b(sql|mysql|postgres(ql)?|sqlite)\b", re.I),
    "shell": re.compile(r"\b(bash|shell script|powershell|command line|terminal)\b", re.I),
}


def code_languages(turns: list[dict]) -> list[str]:
    """Sorted programming languages of a (coding) conversation; ["other"] when none is recognised."""
    text = "\n".join(t["content"] for t in turns)[:20000]
    found = set()
    unknown_fence = False
    for tag in _FENCE.findall(text):
        tag = tag.lower()
        if tag in FENCE_TAGS:
            found.add(FENCE_TAGS[tag])
        elif tag not in _NEUTRAL_TAGS:
            unknown_fence = True
    if not found:
        found = {lang for lang, rx in _SIGNATURES.items() if rx.search(text)}
    if not found:
        user = "\n".join(t["content"] for t in turns if t["role"] == "user")[:5000]
        found = {lang for lang, rx in _MENTIONS.items() if rx.search(user)}
    if unknown_fence or not found:
        found.add("other")
    return sorted(found)
