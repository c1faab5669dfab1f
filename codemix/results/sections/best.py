"""The best coding proportion per family, task and domain (ties: the lowest, the others in brackets).
"""

from __future__ import annotations

import pandas as pd

from codemix.results import analysis
from codemix.results.cells import proportion_label, with_labels
from codemix.results.document import Document


def best_section(doc: Document, best_task: pd.DataFrame, best_domain: pd.DataFrame) -> None:
    doc.heading("Best coding proportion")
    doc.text("Per family, the proportion with the highest accuracy (ties: the lowest proportion, the others in "
             "brackets).")
    both = with_labels(pd.concat([best_domain, best_task]).assign(proportion=0.0))
    def tied(t: str) -> str:
        return f" (= {', '.join(proportion_label(float(x)) for x in t.split(', '))})" if t else ""

    both = both.assign(cell=[proportion_label(b) + tied(t) for b, t in zip(both["best_proportion"], both["tied_with"])])
    single = both["n_proportions"].max() < 2
    wide = both.pivot_table(index="scope", columns="group", values="cell", aggfunc="first")
    order = list(dict.fromkeys(best_domain["scope"])) + \
        [t for t, _ in analysis.task_order(best_task.rename(columns={"scope": "task"}))]
    wide = wide.reindex(order).reset_index().rename(columns={"scope": "task / domain"})
    doc.table(wide.fillna("–"))
    if single:
        doc.text("Only one proportion was run: there is nothing to compare.")
