"""The trials that failed: a table with the first line of each error, and the full errors collapsed.
"""

from __future__ import annotations

import pandas as pd

from codemix.results.cells import proportion_label
from codemix.results.document import Document


def failures_section(doc: Document, failed: pd.DataFrame) -> None:
    doc.heading("Failed trials")
    if failed.empty:
        doc.text("None.")
        return
    doc.table(pd.DataFrame({"experiment": failed["sweep"], "family": failed["family"],
                            "coding": failed["proportion"].map(proportion_label), "seed": failed["seed"],
                            "trial": failed["trial_key"].map("`{}`".format),
                            "error": [str(e or "").strip().splitlines()[0][:160] if str(e or "").strip()
                                      else "(no message)" for e in failed["error"]]}))
    doc.details("Full errors")
    for _, r in failed.iterrows():
        doc.code(f"# {r['sweep']} / {r['trial_key']} ({r['family']}, {proportion_label(r['proportion'])}, "
                 f"seed {r['seed']})\n"
                 f"{r['error'] or ''}")
    doc.end_details()
