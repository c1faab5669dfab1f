"""Language identification: short questions, hand-labelled real ShareGPT user turns, code, offline model."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from codemix.data import DataReport, ingest
from codemix.data.langid import conversation_language, detect_language

FIXTURES = Path(__file__).parent / "fixtures"
LATIN = {"fr", "es", "de", "pt", "it", "nl", "pl", "id", "tr", "vi", "sv", "da"}


def test_short_questions_in_ten_languages_are_told_from_english():
    rows = list(csv.DictReader(open(FIXTURES / "langid_short_questions.csv", encoding="utf-8")))
    non_en = [r for r in rows if r["lang"] != "en"]
    right = sum(detect_language(r["text"]) == r["lang"] for r in non_en)
    assert right >= 0.9 * len(non_en), f"{right}/{len(non_en)} short non-English questions identified"
    assert all(detect_language(r["text"]) != "en" for r in non_en if r["lang"] != "id")  # id may read as ms
    assert [r["text"] for r in rows if r["lang"] == "en" and detect_language(r["text"]) != "en"] == []


def test_real_sharegpt_sample_agreement(shared_data):
    rows = list(csv.DictReader(open(FIXTURES / "langid_sharegpt.csv", encoding="utf-8")))
    convs = {(c["source_file"], str(c["source_line"])): c for c in ingest(shared_data / "ift", DataReport())}
    pred = [conversation_language(convs[(r["file"], r["line"])]["turns"]) for r in rows]
    scored = [(r, p) for r, p in zip(rows, pred) if r["kind"] not in ("none", "ambiguous")]
    filter_right = sum((p == "en") == (r["lang"] in ("en", "und")) for r, p in scored)
    assert filter_right >= 0.95 * len(scored), f"en filter right on {filter_right}/{len(scored)}"
    latin = [(r, p) for r, p in scored if r["kind"] == "text" and r["lang"] in LATIN]
    assert sum(p == r["lang"] for r, p in latin) >= 0.9 * len(latin)
    text = [(r, p) for r, p in scored if r["kind"] == "text"]
    assert sum(p == r["lang"] for r, p in text) >= 0.96 * len(text)


def test_code_only_is_english_and_a_chinese_request_with_english_paste_is_chinese():
    assert detect_language('```json\n{"id": 6537, "field_key": "en_test_field"}\n```') == "en"
    assert detect_language("[1, 2, 3] -> 42") == "en"
    assert detect_language("请把下面的文字翻译成中文：\n" + "The quick brown fox jumps over the lazy dog. " * 3) == "zh"
    assert conversation_language([{"role": "user", "content": "Pourquoi le ciel est bleu ?"},
                                  {"role": "assistant", "content": "Because of Rayleigh scattering."}]) == "fr"


def test_model_ships_in_the_wheel_and_nothing_is_downloaded(tmp_path):
    """Any download would go through the dead proxy and fail, or land in the empty cache folder."""
    env = {**os.environ, "FTLANG_CACHE": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9"}
    code = "from codemix.data.langid import detect_language as d; print(d('Waarom is de lucht blauw?'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "nl" and list(tmp_path.iterdir()) == []
