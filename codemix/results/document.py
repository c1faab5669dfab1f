"""A report document: a list of blocks, each rendering itself as Markdown and as HTML.

    doc = Document()
    doc.heading("Overall accuracy")
    doc.table(frame)
    doc.markdown(out_dir)   # images linked relative to out_dir
    doc.html("title")       # one self-contained page, images embedded

One class per block kind, each with ``markdown(base)`` and ``html()``: adding a kind is adding a
class (and a ``Document`` method that appends it), never a branch in two parallel chains. Inline
markup in text (``**bold**``, ```code```) is Markdown as written and converted for HTML.
"""

from __future__ import annotations

import base64
import html as htmllib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# ----------------------------------------------------------------------------- inline markup and tables


def _inline(text: str) -> str:
    """HTML of a line of text with **bold** and `code` markup (everything else escaped)."""
    text = htmllib.escape(str(text))
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(none)_"
    head = "| " + " | ".join(_md_cell(c) for c in df.columns) + " |"
    numeric = [i > 0 and df[c].astype(str).str.match(r"^[-+–]?[\d.*–]").all() for i, c in enumerate(df.columns)]
    rule = "|" + "|".join("---:" if right else "---" for right in numeric) + "|"
    rows = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _html_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p><i>(none)</i></p>"
    head = "".join(f"<th>{_inline(c)}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_inline(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def fence(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in ``text`` (at least three)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def md_code_span(text: str) -> str:
    """``text`` as one Markdown code span, whatever backticks it holds (newlines become spaces)."""
    text = str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    pad = " " if longest else ""
    return f"{'`' * (longest + 1)}{pad}{text}{pad}{'`' * (longest + 1)}"


def elide(text: str, limit: int, tail: int) -> str:
    """``text`` cut to about ``limit`` characters by leaving out its middle (the end, where answers are, stays)."""
    if len(text) <= limit:
        return text
    head = limit - tail
    return f"{text[:head]}\n[… {len(text) - head - tail} characters left out …]\n{text[len(text) - tail:]}"


# ----------------------------------------------------------------------------- blocks


class Block:
    """One block of a document: renders itself as Markdown (images relative to ``base``) and as HTML."""

    def markdown(self, base: Path) -> str:
        raise NotImplementedError

    def html(self) -> str:
        raise NotImplementedError


@dataclass
class Heading(Block):
    text: str
    level: int = 2

    def markdown(self, base: Path) -> str:
        return "#" * self.level + " " + self.text

    def html(self) -> str:
        return f"<h{self.level}>{_inline(self.text)}</h{self.level}>"


@dataclass
class Text(Block):
    text: str

    def markdown(self, base: Path) -> str:
        return self.text

    def html(self) -> str:
        return f"<p>{_inline(self.text)}</p>"


@dataclass
class Bullets(Block):
    items: list[str]

    def markdown(self, base: Path) -> str:
        return "\n".join(f"- {item}" for item in self.items)

    def html(self) -> str:
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in self.items) + "</ul>"


@dataclass
class Table(Block):
    frame: pd.DataFrame

    def markdown(self, base: Path) -> str:
        return _md_table(self.frame)

    def html(self) -> str:
        return _html_table(self.frame)


@dataclass
class Image(Block):
    """A PNG: linked from the Markdown, embedded (base64) in the HTML."""

    path: Path
    alt: str

    def markdown(self, base: Path) -> str:
        return f"![{self.alt}]({os.path.relpath(self.path, base).replace(os.sep, '/')})"

    def html(self) -> str:
        data = base64.b64encode(self.path.read_bytes()).decode()
        return f'<img alt="{htmllib.escape(self.alt)}" src="data:image/png;base64,{data}">'


@dataclass
class Code(Block):
    """Verbatim text (a fenced block; the fence outgrows any backticks inside)."""

    text: str
    lang: str = ""

    def markdown(self, base: Path) -> str:
        ticks = fence(self.text)
        return f"{ticks}{self.lang}\n{self.text.rstrip()}\n{ticks}"

    def html(self) -> str:
        return f"<pre><code>{htmllib.escape(self.text)}</code></pre>"


@dataclass
class Details(Block):
    """Opens a collapsed section (``<details>``, which GitHub renders in Markdown too) up to ``EndDetails``."""

    summary: str

    def markdown(self, base: Path) -> str:
        return f"<details><summary>{htmllib.escape(self.summary)}</summary>\n"

    def html(self) -> str:
        return f"<details><summary>{_inline(self.summary)}</summary>"


@dataclass
class EndDetails(Block):
    def markdown(self, base: Path) -> str:
        return "</details>"

    def html(self) -> str:
        return "</details>"


@dataclass
class Sample(Block):
    """One model output as lm-evaluation-harness logs samples: the question id, the answer extracted, the gold,
    whether it was scored right, and the output verbatim (its middle left out beyond ``MAX_OUTPUT`` characters)."""

    example_id: str
    extracted: str | None
    gold: str | None
    correct: bool
    output: str | None

    MAX_OUTPUT = 1200  # characters of an output shown, the last TAIL of them always
    TAIL = 400

    def _shown(self) -> str:
        if self.output is None or not str(self.output).strip():
            return "(empty output)"
        return elide(str(self.output), self.MAX_OUTPUT, self.TAIL)

    def markdown(self, base: Path) -> str:
        extracted = "none" if self.extracted is None else md_code_span(self.extracted)
        gold = "–" if self.gold is None else md_code_span(self.gold)
        verdict = "right" if self.correct else "**wrong**"
        shown = self._shown()
        ticks = fence(shown)
        return (f"{md_code_span(self.example_id)} · extracted {extracted} · gold {gold} · {verdict}\n\n"
                f"{ticks}text\n{shown}\n{ticks}")

    def html(self) -> str:
        def code(value):
            return "none" if value is None else f"<code>{htmllib.escape(str(value))}</code>"

        verdict = "right" if self.correct else "<b>wrong</b>"
        return (f"<p>{code(self.example_id)} · extracted {code(self.extracted)} · gold "
                f"{'–' if self.gold is None else code(self.gold)} · {verdict}</p>"
                f"<pre class='sample'>{htmllib.escape(self._shown())}</pre>")


# ----------------------------------------------------------------------------- the document


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
        "img{max-width:100%;margin:0.5em 0}pre{background:#f6f6f6;padding:0.8em;overflow-x:auto;font-size:0.85em}"
        "code{background:#f3f3f3;padding:0 3px}summary{cursor:pointer;margin:0.5em 0}"
        "pre.sample{white-space:pre-wrap;max-height:24em;overflow-y:auto}")


class Document:
    """Blocks rendered both as Markdown and as HTML (inline markup: **bold**, `code`)."""

    def __init__(self):
        self.blocks: list[Block] = []

    def add(self, block: Block) -> None:
        """Append any block (the methods below are shorthands)."""
        self.blocks.append(block)

    def heading(self, text: str, level: int = 2):
        self.add(Heading(text, level))

    def text(self, text: str):
        self.add(Text(text))

    def bullets(self, items: list[str]):
        if items:
            self.add(Bullets(items))

    def table(self, df: pd.DataFrame):
        self.add(Table(df))

    def image(self, path: Path, alt: str):
        self.add(Image(Path(path), alt))

    def code(self, text: str, lang: str = ""):
        self.add(Code(text, lang))

    def details(self, summary: str):
        self.add(Details(summary))

    def end_details(self):
        self.add(EndDetails())

    def sample(self, example_id: str, extracted: str | None, gold: str | None, correct: bool, output: str | None):
        self.add(Sample(example_id, extracted, gold, correct, output))

    def markdown(self, base: Path) -> str:
        """Markdown; images are linked relative to ``base`` (the report's folder)."""
        return "\n\n".join(block.markdown(base) for block in self.blocks) + "\n"

    def html(self, title: str) -> str:
        """One self-contained HTML page: the figures are embedded as base64 PNGs."""
        body = "\n".join(block.html() for block in self.blocks)
        return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{htmllib.escape(title)}</title>"
                f"<style>{_CSS}</style></head><body>\n" + body + "\n</body></html>\n")
