"""The report document: one class per block kind, each rendering Markdown and HTML."""

from __future__ import annotations

import pandas as pd

from codemix.results import document as codemix_document
from codemix.results.document import Block, Document

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 8


def document(tmp_path) -> Document:
    """A document of every block kind, through the Document's own methods."""
    (tmp_path / "figures").mkdir(exist_ok=True)
    (tmp_path / "figures" / "a.png").write_bytes(PNG)
    doc = Document()
    doc.heading("Title **x**", 1)
    doc.text("a `code` word")
    doc.bullets([])  # nothing added
    doc.bullets(["one", "two"])
    doc.table(pd.DataFrame({"name": ["a|b"], "value": ["0.5"]}))
    doc.image(tmp_path / "figures" / "a.png", "alt <text>")
    doc.details("more <here>")
    doc.code("x = 1\n", "python")
    doc.end_details()
    doc.sample("q1", "4", "5", False, "so 4")
    return doc


def test_every_block_kind_is_a_document_method_and_renders_both_ways(tmp_path):
    doc = document(tmp_path)
    kinds = {k for k in vars(codemix_document).values() if isinstance(k, type) and issubclass(k, Block)} - {Block}
    assert {type(b) for b in doc.blocks} == kinds  # a new kind comes with its method, and with this document
    for block in doc.blocks:  # the base class raises: a kind without a renderer fails here
        assert block.markdown(tmp_path).strip() and block.html().strip(), type(block).__name__


def test_document_markdown_and_html(tmp_path):
    doc = document(tmp_path)
    md = doc.markdown(tmp_path)
    assert md == ("# Title **x**\n\na `code` word\n\n- one\n- two\n\n| name | value |\n|---|---:|\n| a\\|b | 0.5 |"
                  "\n\n![alt <text>](figures/a.png)\n\n<details><summary>more &lt;here&gt;</summary>\n\n\n"
                  "```python\nx = 1\n```\n\n</details>\n\n`q1` · extracted `4` · gold `5` · **wrong**\n\n"
                  "```text\nso 4\n```\n")
    html = doc.html("t")
    assert "<h1>Title <b>x</b></h1>" in html and "<p>a <code>code</code> word</p>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html and "<td>a|b</td>" in html
    assert 'alt="alt &lt;text&gt;" src="data:image/png;base64,' in html
    assert "<details><summary>more &lt;here&gt;</summary>\n<pre><code>x = 1\n</code></pre>\n</details>" in html
    assert "<p><code>q1</code> · extracted <code>4</code> · gold <code>5</code> · <b>wrong</b></p>" in html


def test_a_code_block_outfences_backticks_inside():
    doc = Document()
    doc.code("before\n```\ninside\n```\nafter")
    assert doc.markdown(".").startswith("````\nbefore\n```") and doc.markdown(".").endswith("\n````\n")
