"""Cleaning: HTML, empty turns, alternation, dedup, splitting; each change counted."""

from __future__ import annotations

from codemix.data import CleanOptions, DataReport, clean


def conv(cid, *pairs, roles=None):
    roles = roles or ["user", "assistant"] * len(pairs)
    turns = [{"role": r, "content": c} for r, c in zip(roles, [x for p in pairs for x in p])]
    return {"id": cid, "turns": turns, "source_file": "f.json", "source_line": 1}


def test_scraped_html_becomes_markdown_but_code_is_left_alone():
    html = '<div class="markdown prose"><p>Use <strong>this</strong>:</p><pre><code>x = 1\n</code></pre></div>'
    code = "Here is a page:\n```html\n<div><p>hi</p></div>\n```"
    bare_code = "<table>\n  <tr><td>1</td></tr>\n</table>"  # a CodeAlpaca answer that is HTML code
    paragraphs = "<p>First.</p><p>Second <em>point</em>.</p>"
    report = DataReport()
    out = clean([conv("a", ("q", html)), conv("b", ("q2", code)), conv("c", ("q3", bare_code)),
                 conv("d", ("q4", paragraphs))], report)
    assert "**this**" in out[0]["turns"][1]["content"] and "<p>" not in out[0]["turns"][1]["content"]
    assert "x = 1" in out[0]["turns"][1]["content"]
    assert out[1]["turns"][1]["content"] == code and out[2]["turns"][1]["content"] == bare_code
    assert out[3]["turns"][1]["content"] == "First.\n\nSecond *point*."
    assert report.repaired["html_to_markdown"] == 2


def test_roles_alternation_and_empty_turns():
    report = DataReport()
    convs = [
        conv("ok", ("hi", "hello"), ("", "")),  # an empty exchange at the end is stripped
        conv("sys", ("be brief", "q"), ("a", "q2"), roles=["system", "user", "assistant", "user"]),
        conv("twice", ("a", "b"), roles=["user", "user"]),
        conv("zwsp", ("q", "\u200b"), ("q2", "a2")),  # a zero-width answer is empty: cut before the break
    ]
    out = clean(convs, report)
    assert [c["id"] for c in out] == ["ok", "sys"]
    assert [t["role"] for t in out[1]["turns"]] == ["system", "user", "assistant"]  # trailing user trimmed
    assert report.repaired == {"empty_turn_removed": 2, "trailing_user_turn_removed": 1}
    assert report.dropped == {"not_alternating": 2}


def test_leading_assistant_turn_dropped_as_fastchat_does():
    """A ShareGPT_V3 split part starts with the assistant: FastChat drops that one turn and keeps the rest."""
    report = DataReport()
    convs = [
        conv("part_1", ("...the end of an answer", "thanks, and now?"), ("now this", "fine"),
             roles=["assistant", "user", "assistant", "user"]),
        conv("sys_part", ("be brief", "tail"), ("q", "a"), roles=["system", "assistant", "user", "assistant"]),
        conv("two_gpt", ("a", "b"), ("q", "c"), roles=["assistant", "assistant", "user", "assistant"]),
        conv("gpt_only", ("just an answer",), roles=["assistant"]),
        conv("gpt_then_prompt", ("tail", "a prompt"), roles=["assistant", "user"]),
    ]
    out = {c["id"]: c["turns"] for c in clean(convs, report)}
    assert out["part_1"] == [{"role": "user", "content": "thanks, and now?"},
                             {"role": "assistant", "content": "now this"}]
    assert [t["content"] for t in out["sys_part"]] == ["be brief", "q", "a"]
    assert set(out) == {"part_1", "sys_part"}
    assert report.dropped == {"not_start_with_user": 1, "no_user_turn": 1, "no_assistant_turn": 1}
    # repairs are counted for kept conversations only (gpt_then_prompt lost its leading turn, then was dropped)
    assert report.repaired == {"leading_assistant_turn_removed": 2, "trailing_user_turn_removed": 1}


def test_role_break_keeps_the_exchanges_before_it():
    report = DataReport()
    turns = [("q1", "a1"), ("", "a2 answers an empty prompt"), ("q3", "a3")]
    out = clean([conv("gap", *turns)], report)
    assert [t["content"] for t in out[0]["turns"]] == ["q1", "a1"]
    assert report.repaired == {"empty_turn_removed": 1, "cut_at_role_break": 1}


def test_exact_dedup_and_unique_ids():
    report = DataReport()
    out = clean([conv("a", ("x", "y")), conv("b", ("x", "y")), conv("a", ("x", "z"))], report)
    assert [c["id"] for c in out] == ["a", "a~1"]
    assert report.dropped["duplicate"] == 1 and report.repaired["duplicate_id_renamed"] == 1
    assert len({c["content_hash"] for c in out}) == 2


def test_long_conversations_split_at_exchange_boundaries():
    pairs = [(f"question {i} " + "w " * 10, f"answer {i} " + "w " * 10) for i in range(6)]
    report = DataReport()
    out = clean([conv("long", *pairs), conv("short", ("a", "b"))], report, CleanOptions(max_tokens=50))
    chunks = [c for c in out if c["id"].startswith("long")]
    assert [c["id"] for c in chunks] == ["long#0", "long#1", "long#2"]
    assert all(sum(len(t["content"].split()) for t in c["turns"]) <= 50 for c in chunks)
    rejoined = [t for c in chunks for t in c["turns"]]
    assert rejoined == conv("long", *pairs)["turns"]
    assert report.repaired["split_conversation"] == 1 and report.repaired["split_examples_added"] == 2
