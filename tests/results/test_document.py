"""The report document: one class per block kind, each rendering Markdown and HTML."""

from __future__ import annotations

import pandas as pd

from codemix.results import document
from codemix.results.document import Block, Document

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 8


def test_every_block_kind_renders_both_ways():
    kinds = [k for k in vars(document).values() if isinstance(k, type) and issubclass(k, Block) and k is not Block]
    assert len(kinds) >= 8
    for kind in kinds:  # no kind falls back to the base class (a missing renderer)
        assert kind.markdown is not Block.markdown and kind.html is not Block.html, kind.__name__


def test_document_markdown_and_html(tmp_path):
    (tmp_path / "figures").mkdir()
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
    md = doc.markdown(tmp_path)
    assert md == ("# Title **x**\n\na `code` word\n\n- one\n- two\n\n| name | value |\n|---|---:|\n| a\\|b | 0.5 |"
                  "\n\n![alt <text>](figures/a.png)\n\n<details><summary>more &lt;here&gt;</summary>\n\n\n"
                  "```python\nx = 1\n```\n\n</details>\n")
    html = doc.html("t")
    assert "<h1>Title <b>x</b></h1>" in html and "<p>a <code>code</code> word</p>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html and "<td>a|b</td>" in html
    assert 'alt="alt &lt;text&gt;" src="data:image/png;base64,' in html
    assert "<details><summary>more &lt;here&gt;</summary>\n<pre><code>x = 1\n</code></pre>\n</details>" in html


def test_a_code_block_outfences_backticks_inside():
    doc = Document()
    doc.code("before\n```\ninside\n```\nafter")
    assert doc.markdown(".").startswith("````\nbefore\n```") and doc.markdown(".").endswith("\n````\n")
