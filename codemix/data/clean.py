"""FastChat-style cleaning of normalised conversations, every change counted in the report.

In order: HTML -> markdown for assistant turns that are scraped ChatGPT HTML; strip empty turns
(no visible character: real ShareGPT has answers that are a lone zero-width space; FastChat's
``clean_sharegpt`` also empties a turn that merely *starts* with one, codemix keeps those); keep
one leading system turn; then make user/assistant turns alternate from the user, repairing what
FastChat repairs (counted in ``report.repaired``, for kept conversations only):

* ``leading_assistant_turn_removed``: one leading assistant turn is dropped and the rest kept, as
  FastChat's ``clean_sharegpt.py`` ("adjust the offset") and ``train.py`` ("skip the first one if
  it is not from human") do. ShareGPT_V3 ``..._split`` cut long conversations at any turn, so many
  of its parts start with the assistant (338 of a random 1,000, issue 13).
* ``cut_at_role_break``: where two turns of the same role follow each other (often because an
  empty turn between them was removed), the conversation is cut before the break and the whole
  exchanges before it are kept (FastChat truncates at an empty turn in the same way).
* ``trailing_user_turn_removed``: an unanswered last user turn is trimmed.

What cannot be repaired is dropped and counted: ``empty_conversation`` (no turn with text),
``no_user_turn`` (only an assistant turn), ``not_start_with_user`` (still no user turn first
after the one assistant turn FastChat drops), ``not_alternating`` (a role break inside the first
exchange), ``no_assistant_turn`` (a prompt alone, unless prompts are kept). Then: optional
language filter; split conversations longer than a whitespace-token budget at exchange
boundaries; exact dedup by content hash (after splitting, so repeated chunks go too); make ids
unique.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codemix.data.accounting import DataReport
from codemix.data.langid import conversation_language
from codemix.data.schema import content_hash

# Scraped ShareGPT answers are ChatGPT's rendered HTML: <div class="markdown prose ..."> or a run
# of <p> paragraphs. Answers that *are* HTML code (CodeAlpaca: "<table>...") do not look like that
# and are left alone, as is anything with a code fence.
_SCRAPED_HTML = re.compile(r"^\s*(<div[^>]*class=\"[^\"]*(markdown|prose|request-)|<p>.*</p>\s*<(p|ol|ul|pre)>)",
                           re.I | re.S)


@dataclass(frozen=True)
class CleanOptions:
    """The cleaning knobs that change the output (part of the pool's content address)."""

    language: str | None = None
    max_tokens: int | None = None
    keep_prompt_only: bool = False


def html_to_markdown(text: str) -> str:
    """Markdown of an HTML fragment (code blocks fenced)."""
    from markdownify import markdownify  # with BeautifulSoup 0.1-0.2 s, in a module the CLI loads: HTML records only

    return markdownify(text, heading_style="ATX", code_language="").strip()


def _blank(content: str) -> bool:
    """No visible character: empty, whitespace, or only invisible ones such as '\u200b'."""
    return not any(ch.isprintable() and not ch.isspace() for ch in content)


def _fix_turns(conv: dict, report: DataReport, keep_prompt_only: bool) -> list[dict] | None:
    """The repaired turns, or None when the conversation cannot be repaired (its drop counted).

    The repairs of a dropped conversation are not counted: each count is of kept conversations.
    """
    turns, fixes = [], []
    for t in conv["turns"]:
        content = t["content"]
        if t["role"] == "assistant" and "<" in content and "```" not in content and _SCRAPED_HTML.match(content):
            content = html_to_markdown(content)
            fixes.append("html_to_markdown")
        if _blank(content):
            fixes.append("empty_turn_removed")
            continue
        turns.append({"role": t["role"], "content": content})
    system = turns[:1] if turns and turns[0]["role"] == "system" else []
    body = turns[len(system):]
    problem = _fix_roles(body, fixes, keep_prompt_only)
    if isinstance(problem, str):
        report.drop(problem)
        return None
    for fix in fixes:
        report.repair(fix)
    return system + problem


def _fix_roles(body: list[dict], fixes: list[str], keep_prompt_only: bool) -> list[dict] | str:
    """The user/assistant turns made to alternate from the user (fixes appended), or a drop reason."""
    if not body:
        return "empty_conversation"
    if body[0]["role"] == "assistant":
        body = body[1:]
        if not body:
            return "no_user_turn"
        fixes.append("leading_assistant_turn_removed")
    if body[0]["role"] != "user":
        return "not_start_with_user"
    breaks = [i for i, t in enumerate(body) if t["role"] != ("user" if i % 2 == 0 else "assistant")]
    if breaks:
        if breaks[0] < 2:
            return "not_alternating"
        body = body[:breaks[0] // 2 * 2]
        fixes.append("cut_at_role_break")
    if len(body) % 2 == 1 and len(body) > 1:
        body = body[:-1]
        fixes.append("trailing_user_turn_removed")
    elif len(body) == 1 and not keep_prompt_only:
        return "no_assistant_turn"
    return body


def split_by_tokens(turns: list[dict], max_tokens: int) -> list[list[dict]]:
    """Chunks of whole exchanges, each within ``max_tokens`` whitespace tokens where possible.

    A leading system turn is repeated in every chunk; one exchange over the budget is its own chunk.
    """
    system = turns[:1] if turns[0]["role"] == "system" else []
    body = turns[len(system):]
    exchanges = [body[i:i + 2] for i in range(0, len(body), 2)]
    chunks, current, size = [], [], 0
    for ex in exchanges:
        n = sum(len(t["content"].split()) for t in ex)
        if current and size + n > max_tokens:
            chunks.append(system + current)
            current, size = [], 0
        current += ex
        size += n
    chunks.append(system + current)
    return chunks


def clean(convs: list[dict], report: DataReport, options: CleanOptions = CleanOptions()) -> list[dict]:
    """Cleaned conversations with ``content_hash``; drops and repairs are counted in ``report``."""
    out, seen_hashes, seen_ids = [], set(), {}
    for conv in convs:
        turns = _fix_turns(conv, report, options.keep_prompt_only)
        if turns is None:
            continue
        if options.language and conversation_language(turns) != options.language:
            report.drop(f"language_not_{options.language}")
            continue
        chunks = [turns]
        if options.max_tokens and sum(len(t["content"].split()) for t in turns) > options.max_tokens:
            chunks = split_by_tokens(turns, options.max_tokens)
            if len(chunks) > 1:
                report.repair("split_conversation")
                report.repair("split_examples_added", len(chunks) - 1)
            else:
                report.repair("overlong_single_exchange_kept")
        for k, chunk in enumerate(chunks):
            h = content_hash(chunk)
            if h in seen_hashes:
                report.drop("duplicate")
                continue
            seen_hashes.add(h)
            cid = conv["id"] if len(chunks) == 1 else f"{conv['id']}#{k}"
            if cid in seen_ids:  # the same id with different content (overlapping dumps)
                seen_ids[cid] += 1
                cid = f"{cid}~{seen_ids[cid]}"
                report.repair("duplicate_id_renamed")
            seen_ids[cid] = seen_ids.get(cid, 0)
            out.append({"id": cid, "turns": chunk, "source_file": conv["source_file"],
                        "source_line": conv["source_line"], "content_hash": h})
    return out
