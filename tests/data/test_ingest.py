"""Ingest: every ShareGPT variant read, every malformed record located and counted."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codemix.data import CleanOptions, DataReport, RecordError, clean, ingest

IFT = "ift"


def test_sharegpt_sample_ids_fall_back_to_conversation_id(shared_data):
    path = shared_data / IFT / "sharegpt_sample_venkat2811" / "sharegpt_sample.json"
    raw = json.loads(path.read_text())
    report = DataReport()
    convs = ingest(path, report)
    assert len(convs) == len(raw) == report.records_in == 50
    assert [c["id"] for c in convs] == [r["conversation_id"] for r in raw]
    assert convs[3]["source_line"] == 4 and convs[3]["source_file"] == "sharegpt_sample.json"
    assert convs[3]["turns"][0] == {"role": "user", "content": raw[3]["conversations"][0]["value"]}
    assert convs[3]["turns"][1]["role"] == "assistant"


def test_ml_energy_prompt_only_quirks_counted(shared_data):
    path = shared_data / IFT / "sharegpt_prompts_ml_energy" / "sg_90k_part1_html_cleaned_lang_first_sampled_sorted.json"
    raw = json.loads(path.read_text())
    # what the cleaner must do, derived here independently from the raw JSON
    visible = [[t for t in r["conversations"] if t["value"].replace("\u200b", "").strip()] for r in raw]
    body = [ts[1:] if ts and ts[0]["from"] == "system" else ts for ts in visible]
    expect_empty = sum(not b for b in body)
    expect_gpt_only = sum(len(b) == 1 and b[0]["from"] == "gpt" for b in body)  # first turns of split parts
    report = DataReport()
    kept = clean(ingest(path, report), report, CleanOptions(keep_prompt_only=True))
    assert expect_gpt_only > 0 and report.dropped["no_user_turn"] == expect_gpt_only
    assert report.dropped["empty_conversation"] == expect_empty
    assert len(kept) == len(raw) - expect_gpt_only - expect_empty - report.dropped["duplicate"]
    # without keep_prompt_only every first-turn-only record is dropped as having no answer
    report2 = DataReport()
    assert clean(ingest(path, report2), report2) == []
    dups = report.dropped["duplicate"] - report2.dropped["duplicate"]
    assert report2.dropped["no_assistant_turn"] == len(kept) + dups


def test_v3_style_split_parts_of_real_conversations_are_kept(shared_data, tmp_path):
    """Real multi-turn ShareGPT cut before an assistant turn, as ShareGPT_V3_..._split did: both parts kept."""
    rows = [json.loads(line) for line in
            (shared_data / IFT / "sharegpt_zh_medicalgpt" / "sharegpt_zh_1K_format.jsonl").read_text().splitlines()]
    long = [turns for turns in (r["conversations"] for r in rows)
            if len(turns) >= 6 and all(t["value"].replace("\u200b", "").strip() for t in turns)][:100]
    parts = []
    for i, turns in enumerate(long):
        parts += [{"id": f"c{i}_0", "conversations": turns[:3]}, {"id": f"c{i}_1", "conversations": turns[3:]}]
    (tmp_path / "split.json").write_text(json.dumps(parts))
    report = DataReport()
    kept = {c["id"]: c["turns"] for c in clean(ingest(tmp_path / "split.json", report), report)}
    assert all(v[3]["from"] == "gpt" for v in long) and len(long) == 100
    for i, v in enumerate(long):
        second = kept[f"c{i}_1"]  # the part that starts with the assistant, minus that one turn
        assert second[0] == {"role": "user", "content": v[4]["value"]}
        assert [t["role"] for t in second] == ["user", "assistant"] * (len(second) // 2)
        assert kept[f"c{i}_0"][0]["content"] == v[0]["value"] and len(kept[f"c{i}_0"]) == 2
    assert report.repaired["leading_assistant_turn_removed"] == 100
    assert report.repaired["trailing_user_turn_removed"] >= 100 and report.dropped == {}


def test_glaive_tool_roles_rejected_with_location(shared_data):
    path = shared_data / IFT / "glaive_toolcall_en_demo_llamafactory" / "glaive_toolcall_en_demo.json"
    raw = json.loads(path.read_text())
    tool_records = [i for i, r in enumerate(raw, 1)
                    if any(t["from"] not in ("human", "gpt", "system") for t in r["conversations"])]
    report = DataReport()
    convs = ingest(path, report)
    assert report.dropped["unsupported_role"] == len(tool_records) > 0
    assert len(convs) == len(raw) - len(tool_records)
    first = report.errors[0]
    assert first["file"] == "glaive_toolcall_en_demo.json" and first["line"] == tool_records[0]
    bad_turn = next(j for j, t in enumerate(raw[tool_records[0] - 1]["conversations"])
                    if t["from"] not in ("human", "gpt", "system"))
    assert first["field"] == f"conversations[{bad_turn}].from"
    with pytest.raises(RecordError, match=rf"glaive_toolcall_en_demo.json:{tool_records[0]}: field"):
        ingest(path, DataReport(), strict=True)


def test_alpaca_and_codealpaca_become_single_turn(shared_data):
    report = DataReport()
    convs = ingest(shared_data / IFT / "codealpaca", report)
    assert report.formats == {"alpaca": 2017 + 4535}
    c = convs[0]
    raw = json.loads((shared_data / IFT / "codealpaca" / "code_alpaca_2k.json").read_text())[0]
    assert c["source_file"] == "code_alpaca_2k.json" and c["id"] == "code_alpaca_2k.json:1"
    expected_prompt = raw["instruction"] + (f"\n\n{raw['input']}" if raw["input"].strip() else "")
    assert c["turns"] == [{"role": "user", "content": expected_prompt}, {"role": "assistant", "content": raw["output"]}]


def test_arena_hard_prompts_joined_with_answers(shared_data):
    report = DataReport()
    convs = ingest(shared_data / IFT / "arena_hard_fastchat_pr3596", report)
    answers = {json.loads(line)["question_id"]: json.loads(line) for line in
               (shared_data / IFT / "arena_hard_fastchat_pr3596" / "gpt-4-0613.jsonl").read_text().splitlines()}
    assert len(convs) == 500 and report.repaired["arena_answer_joined"] == 500
    c = convs[0]
    assert [t["role"] for t in c["turns"]] == ["user", "assistant"]
    assert c["turns"][1]["content"] == answers[c["id"]]["choices"][0]["turns"][0]["content"]


def test_chinese_sample_is_filtered_by_language(shared_data):
    path = shared_data / IFT / "sharegpt_zh_medicalgpt" / "sharegpt_zh_1K_format.jsonl"
    report = DataReport()
    convs = ingest(path, report)
    assert convs[0]["id"] == "sharegpt_zh_1K_format.jsonl:1"  # no id in the file: file:line
    zh = clean(convs, DataReport(), CleanOptions(language="zh"))
    en_report = DataReport()
    en = clean(convs, en_report, CleanOptions(language="en"))
    assert len(zh) > 0.9 * len(convs)
    assert len(en) < 0.05 * len(convs)
    assert en_report.dropped["language_not_en"] > 0.9 * len(convs)
    dummy = ingest(shared_data / IFT / "fastchat_dummy", DataReport())
    english = clean(dummy, DataReport(), CleanOptions(language="en"))
    assert len(english) == 500


def _write_jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n")


def test_jsonl_parquet_folder_and_malformed_lines(tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    good = {"id": "a", "conversations": [{"from": "human", "value": "hi"}, {"from": "chatgpt", "value": "hello"}]}
    msgs = {"id": "b", "messages": [{"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "r"}]}
    _write_jsonl(folder / "one.jsonl", [json.dumps(good), "{not json", json.dumps({"id": "c", "conversations": [
        {"from": "human", "value": 3}]}), "", json.dumps({"id": "d", "text": "no turns"})])
    pq.write_table(pa.Table.from_pylist([msgs, {"id": "e", "messages": [{"role": "user", "content": "x"},
                                                                      {"role": "bing", "content": "y"}]}]),
                   folder / "two.parquet")
    report = DataReport()
    convs = ingest(folder, report)
    assert [c["id"] for c in convs] == ["a", "b", "e"]
    assert convs[1]["turns"][0]["content"] == "q" and convs[1]["source_file"] == "two.parquet"
    assert convs[2]["source_line"] == 2 and convs[2]["turns"][1]["role"] == "assistant"
    assert report.dropped["malformed"] == 3 and report.records_in == 6
    located = {(e["file"], e["line"], e["field"]) for e in report.errors}
    assert located == {("one.jsonl", 2, "(json)"), ("one.jsonl", 3, "conversations[0].value"),
                       ("one.jsonl", 5, "(record)")}
    with pytest.raises(RecordError, match="one.jsonl:2: field '\\(json\\)'"):
        ingest(folder, DataReport(), strict=True)


def test_broken_json_array_is_reported_not_fatal(tmp_path):
    (tmp_path / "bad.json").write_text('[{"id": "x", "conversations": []},\n {"id": ')
    report = DataReport()
    assert [c["id"] for c in ingest(tmp_path / "bad.json", report)] == ["x"]  # read up to the cut
    assert report.errors[0]["file"] == "bad.json" and report.errors[0]["line"] == 2
    assert report.dropped == {"truncated_file": 1}
    text = '[{"id": "x", "conversations": []},\n {"id": "y" "z"}, {"id": "w", "conversations": []}]'
    (tmp_path / "bad.json").write_text(text)  # broken, not cut: what follows cannot be trusted
    report = DataReport()
    assert [c["id"] for c in ingest(tmp_path / "bad.json", report)] == ["x"]
    assert report.dropped == {"malformed": 1}
    start = text.index('{"id": "y"')
    assert f"not valid JSON at byte {start} after 1 complete records" in report.errors[0]["message"]


def test_openai_content_parts_are_joined():
    from codemix.data.ingest import to_conversation

    rec = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}
    fmt, conv = to_conversation(rec, "f.jsonl", 7)
    assert fmt == "messages" and conv["turns"][0]["content"] == "a\nb" and conv["id"] == "f.jsonl:7"
    with pytest.raises(RecordError, match="f.jsonl:7: field 'messages\\[0\\].content'"):
        to_conversation({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "f.jsonl", 7)
