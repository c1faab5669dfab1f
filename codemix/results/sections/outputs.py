"""What the models wrote: per trial the outputs' median length, the share with an extracted answer and the most
common output; collapsed, sample outputs per task with the answer extracted and the gold
(``codemix.results.samples`` picks them).
"""

from __future__ import annotations

import pandas as pd

from codemix.results import analysis
from codemix.results.cells import with_labels
from codemix.results.document import Document
from codemix.results.load import ResultSet
from codemix.results.samples import output_samples


def outputs_section(doc: Document, results: ResultSet, k: int) -> None:
    """What the models wrote: per trial the outputs' median length, the share with an extracted answer, the most
    common output; then, collapsed per trial, ``k`` sample outputs per task with the answer extracted and the gold."""
    per_trial, per_task, picked = output_samples(results, k)
    if per_trial.empty:
        return
    doc.heading("What the models wrote")
    shown = (f" Below, collapsed, {k} sample output(s) per trial and task (the first by question id, with at least "
             "one wrong and one right answer where the trial has them), each with the answer extracted and the gold."
             if k > 0 else "")
    doc.text("Per trial: the median output length, the share of outputs from which an answer was extracted and the "
             "most common output with its share — a model that answers the same short phrase to every question "
             "shows a short median and a large share." + shown)
    keys = ["sweep", "trial_key"]
    trials = with_labels(per_trial.merge(results.trials[keys + analysis.CONDITION + ["seed"]], on=keys, how="left"))
    several = len(results.experiments) > 1
    doc.table(pd.DataFrame({**({"experiment": trials["sweep"]} if several else {}),
                            "family": trials["group"], "coding": trials["mix"], "seed": trials["seed"],
                            "outputs": trials["outputs"], "median chars": trials["median_chars"].map("{:.0f}".format),
                            "answer extracted": trials["extracted"].map("{:.0%}".format),
                            "accuracy": trials["accuracy"].map("{:.3f}".format),
                            "most common output": [_common(t, c, n) for t, c, n in
                                                   zip(trials["top_output"], trials["top_count"], trials["outputs"])]}))
    if k <= 0:
        return
    rank = {t: i for i, (t, _) in enumerate(analysis.task_order(results.scores))}
    for _, t in trials.iterrows():
        sweep_name = f"{t['sweep']} / " if several else ""
        doc.details(f"Samples: {sweep_name}{t['group']}, {t['mix']}, seed {t['seed']} ({t['trial_key']})")
        tasks = per_task[(per_task["sweep"] == t["sweep"]) & (per_task["trial_key"] == t["trial_key"])]
        tasks = tasks.sort_values("task", key=lambda s: s.map(lambda x: rank.get(x, len(rank))), kind="stable")
        mine = picked[(picked["sweep"] == t["sweep"]) & (picked["trial_key"] == t["trial_key"])]
        for _, task in tasks.iterrows():
            doc.text(f"**{task['task']}** ({task['domain']}): answer extracted from {task['extracted']:.0%} of "
                     f"{task['outputs']} outputs, median {task['median_chars']:.0f} characters, accuracy "
                     f"{task['accuracy']:.3f}.")
            for _, s in mine[mine["task"] == task["task"]].iterrows():
                doc.sample(str(s["example_id"]), _text_or_none(s["extracted"]), _text_or_none(s["gold"]),
                           bool(s["correct"]) if pd.notna(s["correct"]) else False, _text_or_none(s["output"]))
        doc.end_details()


def _common(text: str, count: int, n: int) -> str:
    """The most common output as a table cell: `The answer is 12.` (81%), or '– (all distinct)'."""
    if count < 2:
        return "– (all distinct)"
    shown = text if len(text) <= 60 else text[:57] + "…"
    return (f"`{shown.replace('`', chr(39))}`" if shown else "(empty)") + f" ({count / n:.0%})"


def _text_or_none(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
