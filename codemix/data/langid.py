"""Offline natural-language identification by Unicode script plus stopwords. No model, no network.

The language of a conversation is the language of its user turns (assistant turns are often
code). Letters are binned by script: Han -> zh, kana -> ja, Hangul -> ko, Cyrillic -> ru,
Arabic -> ar, Devanagari -> hi, Greek -> el, Hebrew -> he, Thai -> th. A script that holds
over 20% of the units wins, a unit being a Latin word or one other letter (Japanese mixes
kana with Han, so kana over 10% means ja). Latin text is told apart by counting common
stopwords of en/es/fr/de/pt/it/nl (words that English or code also use, like 'a', 'y', 'is',
are left out); a non-English language needs 3+ hits and more hits than English. Latin text
without that evidence (code, numbers, names) counts as English, which is what FastChat-style
English filters want for code-only prompts. Good enough to split English from Chinese
ShareGPT, not a general language identifier.
"""

from __future__ import annotations

import re
import unicodedata

_STOPWORDS = {
    "en": "the and is are to of in that it for you with this what how can be on not have do",
    "es": "el la los las que de en es por para una un con como pero más esta este qué",
    "fr": "le la les des est et un une que qui dans pour pas sur avec ce cette vous je",
    "de": "der die das und ist nicht ich sie ein eine zu mit auf für den dem wie auch",
    "pt": "que de em um uma para com não por mais como você uma isso muito",
    "it": "il la che di è un una per non sono con come della anche questo",
    "nl": "de het een en van dat niet op te zijn met voor ik je wat",
}
_STOP = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")
_ASCII_WORD = re.compile(r"[A-Za-z]+")
_SCRIPTS = [("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("CJK", "zh"), ("HANGUL", "ko"), ("CYRILLIC", "ru"),
            ("ARABIC", "ar"), ("DEVANAGARI", "hi"), ("GREEK", "el"), ("HEBREW", "he"), ("THAI", "th")]


def _script_language(text: str) -> str | None:
    text = text[:4000]
    counts: dict[str, int] = {}
    units = len(_ASCII_WORD.findall(text))  # a Latin word weighs like one CJK character
    for ch in text:
        if ch.isascii() or not ch.isalpha():
            continue
        units += 1
        name = unicodedata.name(ch, "")
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


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language ('en' for Latin text without stopword evidence)."""
    script = _script_language(text)
    if script:
        return script
    words = [w.lower() for w in _WORD.findall(text[:4000])]
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOP.items()}
    best = max(scores, key=scores.get)
    return best if scores[best] > max(2, scores["en"]) else "en"


def conversation_language(turns: list[dict]) -> str:
    """The language of a conversation's user turns (all turns if it has none)."""
    user = "\n".join(t["content"] for t in turns if t["role"] == "user")
    return detect_language(user or "\n".join(t["content"] for t in turns))
