"""Fixtures of the data-stage tests: the loopback OpenAI server and small real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fake_openai import fake_openai  # noqa: F401 - a fixture, re-exported for these tests

from codemix.data import DataReport, ingest


@pytest.fixture(scope="session")
def hand_labelled(shared_data):
    """(row, conversation) of the hand-labelled real conversations of tests/data/fixtures/classify_labels.csv."""
    rows = list(csv.DictReader(open(Path(__file__).parent / "fixtures" / "classify_labels.csv", encoding="utf-8")))
    convs = {(c["source_file"], str(c["source_line"])): c for c in ingest(shared_data / "ift", DataReport())}
    return [(r, convs[(r["file"], r["line"])]) for r in rows]


@pytest.fixture(scope="session")
def fresh_held_out(hand_labelled):
    """(row, conversation) of split heldout2: 300 real ShareGPT prompts no classifier was tuned or trained on."""
    rows = [(r, c) for r, c in hand_labelled if r["split"] == "heldout2"]
    assert len(rows) == 300 and all("sharegpt" in r["file"] for r, _ in rows)
    return rows
