"""Coding / Math / Other classifiers (a registry) and the programming-language detector."""

from __future__ import annotations

import pyarrow as pa

from codemix.data.accounting import DataReport
from codemix.data.classify import heuristic, llm, minilm  # noqa: F401 - registers the built-in classifiers
from codemix.data.classify.base import CLASSIFIERS, Classifier, make_classifier, measured_for_tag, register
from codemix.data.classify.languages import code_languages
from codemix.data.schema import LABELLED_SCHEMA, LABELS


def label_conversations(convs: list[dict], classifier: Classifier, report: DataReport) -> pa.Table:
    """The LABELLED_SCHEMA table of cleaned conversations: label, languages (coding only), classifier.

    ``classifier`` says how each row's label was made (the classifier's tag, or e.g.
    'fallback:heuristic-v2'); conversations the classifier left unlabelled are not in the table
    (the classifier counts them in ``report.dropped``).
    """
    labels = classifier.label_with_sources(convs, report)
    rows = {name: [] for name in LABELLED_SCHEMA.names}
    for conv, (lab, source) in zip(convs, labels, strict=True):
        if lab is None:
            continue
        if lab not in LABELS:
            raise ValueError(f"classifier {classifier.tag} returned {lab!r} for {conv['id']}; expected one of {LABELS}")
        langs = code_languages(conv["turns"]) if lab == "coding" else []
        for name in ("id", "turns", "source_file", "source_line", "content_hash"):
            rows[name].append(conv[name])
        rows["label"].append(lab)
        rows["languages"].append(langs)
        rows["classifier"].append(source)
        report.classes[lab] += 1
        for lang in langs:
            report.languages[lang] += 1
    return pa.Table.from_pydict(rows, schema=LABELLED_SCHEMA)


__all__ = ["CLASSIFIERS", "Classifier", "code_languages", "label_conversations", "make_classifier", "measured_for_tag",
           "register"]
