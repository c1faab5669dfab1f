"""The Arrow schemas of the data stage and the content hash that addresses a conversation.

A conversation is a list of turns with roles normalised to system / user / assistant.
``source_line`` is 1-based: the line number in a JSON Lines file, the position in a JSON array
(first element = 1) or the row in a Parquet file (first row = 1); generated records count the
same way. ``content_hash`` is the sha256 of the normalised turns, so two copies of one
conversation from different files hash the same (exact dedup, label cache key).
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

LABELS = ("coding", "math", "other")

TURN_TYPE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])

CONVERSATION_SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("turns", pa.list_(TURN_TYPE)),
    pa.field("source_file", pa.string()),
    pa.field("source_line", pa.int64()),  # 1-based: JSONL line, JSON-array position, Parquet row
    pa.field("content_hash", pa.string()),
])

LABELLED_SCHEMA = pa.schema(list(CONVERSATION_SCHEMA) + [
    pa.field("label", pa.string()),  # coding | math | other
    pa.field("languages", pa.list_(pa.string())),  # programming languages of a coding conversation
    pa.field("classifier", pa.string()),  # how the label was made: a classifier tag, or "fallback:heuristic-v2"
])


def content_hash(turns: list[dict]) -> str:
    """sha256 of the normalised turns (role and content only, canonical JSON)."""
    blob = json.dumps([[t["role"], t["content"]] for t in turns], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()
