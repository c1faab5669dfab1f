"""What the models wrote: output statistics and sample outputs per trial and task, and their report section."""

from __future__ import annotations

import pandas as pd
import pytest
from results_fixture import NOW, provenance, write_level

from codemix.results.document import Document, Heading, Sample, elide, md_code_span
from codemix.results.load import load_results
from codemix.results.report import build_report, write_report
from codemix.results.samples import natural_key, output_samples, pick

TASKS = {"gsm8k": "arithmetic", "coin_flip": "symbolic"}
REASONING = ("Roger starts with 5 balls. He buys 2 cans of 3 balls each, that is 6 balls. 5 + 6 = 11. "
             "The answer is 11.")


def _trial(exp, family, p, outputs: dict[str, list[tuple[str, str | None, str]]]):
    """One finished trial whose task t has the (output, extracted, gold) rows ``outputs[t]`` (ids t-0, t-1, ...)."""
    prov = provenance(exp.name, family, p)
    preds, scores = [], []
    for task, rows in outputs.items():
        for i, (output, extracted, gold) in enumerate(rows):
            preds.append({"task": task, "domain": TASKS[task], "example_id": f"{task}-{i}", "prompt": "q",
                          "output": output, "extracted": extracted, "gold": gold, "correct": extracted == gold,
                          "extractor": "rules"})
        right = sum(e == g for _, e, g in rows)
        scores.append({"task": task, "domain": TASKS[task], "accuracy": right / len(rows), "n": len(rows),
                       "n_correct": right, "finished_at": NOW})
    write_level(exp, "predictions", prov, preds)
    write_level(exp, "scores", prov, scores)
    write_level(exp, "trials", prov, [{"status": "ok", "config": "{}", "stages": "{}", "started_at": NOW,
                                       "finished_at": NOW}])


@pytest.fixture(scope="module")
def collapsed(tmp_path_factory):
    """An untuned model that reasons, and a tuned one that answers 'The answer is 12.' to everything."""
    exp = tmp_path_factory.mktemp("runs") / "collapse"
    golds = [str(g) for g in (11, 12, 7, 3, 12, 9, 4, 8, 5, 6, 2, 1)]
    _trial(exp, "smol", None, {
        "gsm8k": [(REASONING.replace("11", g), g if i % 3 else None, g) for i, g in enumerate(golds)],
        "coin_flip": [("The coin was flipped twice, so it is still heads up. The answer is yes.", "yes", "yes"),
                      ("Flipped once: tails. The answer is no.", "no", "yes"), ("", None, "no")],
    })
    _trial(exp, "smol", 0.5, {
        "gsm8k": [("The answer is 12.", "12", g) for g in golds],
        "coin_flip": [("The answer is 12.", None, g) for g in ("yes", "yes", "no")],
    })
    return exp


def test_natural_order_and_the_pick():
    assert sorted(["q10", "q2", "q1"], key=natural_key) == ["q1", "q2", "q10"]
    frame = pd.DataFrame({"example_id": [f"q{i}" for i in (10, 2, 1, 3, 4, 11)],
                          "correct": [False, True, True, True, True, False]})
    assert pick(frame, 3)["example_id"].tolist() == ["q1", "q2", "q10"]  # q1..q3 all right: a wrong one (q10) in
    assert pick(frame, 1)["example_id"].tolist() == ["q10"]  # one sample: the wrong one
    wrong = frame.assign(correct=[False] * 5 + [True])
    assert pick(wrong, 3)["example_id"].tolist() == ["q1", "q2", "q11"]  # all wrong first: a right one (q11) in
    assert pick(frame, 10)["example_id"].tolist() == ["q1", "q2", "q3", "q4", "q10", "q11"]
    assert pick(frame, 0).empty and pick(frame.assign(correct=None), 2)["example_id"].tolist() == ["q1", "q2"]
    assert pick(frame.sample(frac=1, random_state=1), 3).equals(pick(frame, 3))  # whatever the file's order


def test_statistics_show_a_collapsed_model(collapsed):
    trials, tasks, picked = output_samples(load_results(collapsed), k=3)
    assert trials["trial_key"].tolist() == ["key-smol-None-0", "key-smol-0.5-0"]  # the untuned reference first
    untuned, tuned = trials.iloc[0], trials.iloc[1]
    assert tuned.median_chars == len("The answer is 12.") and tuned.top_output == "The answer is 12."
    assert tuned.top_share == 1.0 and tuned.extracted == pytest.approx(12 / 15)
    assert untuned.median_chars > 80 and untuned.top_share < 0.2  # two questions share a gold
    assert untuned.extracted == pytest.approx((8 + 2) / 15)  # gsm8k: every third missed; coin_flip: 2 of 3
    coin = tasks[(tasks.trial_key == "key-smol-0.5-0") & (tasks.task == "coin_flip")].iloc[0]
    assert coin.outputs == 3 and coin.extracted == 0 and coin.accuracy == 0
    assert len(picked) == 2 * (3 + 3)
    g = picked[(picked.trial_key == "key-smol-0.5-0") & (picked.task == "gsm8k")]
    assert g["example_id"].tolist() == ["gsm8k-0", "gsm8k-1", "gsm8k-2"]  # gsm8k-1 (gold 12) right, the others wrong


def test_the_report_section(collapsed, tmp_path):
    md = write_report([collapsed], tmp_path / "r", html=True, n_boot=50).read_text()
    section = md[md.index("## What the models wrote"):]
    assert "| smol | untuned | 0 | 15 |" in section and "| `The answer is 12.` (100%) |" in section
    assert "| 17 | 80% | 0.133 |" in section  # the tuned trial: median 17 chars, an answer in 12 of 15, 2 right
    assert section.count("<details><summary>Samples: ") == 2 and section.count("</details>") >= 2
    assert "`gsm8k-0` · extracted `12` · gold `11` · **wrong**" in section
    assert "`gsm8k-1` · extracted `12` · gold `12` · right" in section
    assert "`coin_flip-2` · extracted none · gold `no` · **wrong**\n\n```text\n(empty output)\n```" in section
    assert "**coin_flip** (symbolic): answer extracted from 67% of 3 outputs" in section
    assert section.index("**coin_flip**") < section.index("**gsm8k**")  # symbolic before arithmetic
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<details><summary>Samples: smol, 50%, seed 0 (key-smol-0.5-0)</summary>" in html
    assert "<p><code>gsm8k-0</code> · extracted <code>12</code> · gold <code>11</code> · <b>wrong</b></p>" in html
    bare = write_report([collapsed], tmp_path / "s", n_boot=50, samples=0).read_text()
    assert "## What the models wrote" in bare and "<details><summary>Samples" not in bare


def test_the_section_is_left_out_without_predictions(collapsed, tmp_path):
    """The same experiment read with and without its predictions: exactly one section goes, the samples' one."""
    def headings(doc):
        return [b.text for b in doc.blocks if isinstance(b, Heading)]

    full = build_report(load_results(collapsed), tmp_path / "a", n_boot=50)
    bare = build_report(load_results(collapsed, predictions=False), tmp_path / "b", n_boot=50)
    gone = [h for h in headings(full) if h not in headings(bare)]
    assert len(gone) == 1 and headings(bare) == [h for h in headings(full) if h != gone[0]]
    section = full.blocks[[getattr(b, "text", None) for b in full.blocks].index(gone[0]):]
    assert any(isinstance(b, Sample) for b in section) and not any(isinstance(b, Sample) for b in bare.blocks)


def test_a_sample_is_rendered_verbatim():
    long = "step " * 400 + "The answer is 7."
    shown = elide(long, Sample.MAX_OUTPUT, Sample.TAIL)
    assert len(shown) < 1300 and shown.endswith("The answer is 7.") and "characters left out" in shown
    doc = Document()
    doc.sample("q`1", "a`b", None, True, "use ```code``` and <b>tags</b> and **stars**")
    md = doc.markdown(".")
    assert md.startswith("`` q`1 `` · extracted `` a`b `` · gold – · right\n\n````text\nuse ```code```")
    html = doc.html("t")
    assert "&lt;b&gt;tags&lt;/b&gt; and **stars**</pre>" in html and "<code>q`1</code>" in html
    assert md_code_span("`x`") == "`` `x` ``"
