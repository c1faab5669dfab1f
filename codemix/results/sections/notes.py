"""The report's closing notes: what the tables cannot say (no 0 % mix, no predictions, unequal task counts,
comparisons too small to tell, a smoke run's zero accuracies).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from codemix.results.load import ResultSet


def caveats(results: ResultSet, overall: pd.DataFrame, d_overall: pd.DataFrame) -> list[str]:
    notes = []
    for family, sub in overall.groupby("family"):
        if not np.isclose(sub["proportion"], 0.0).any():
            notes.append(f"{family}: no 0% mix was run, so no deltas are reported for it.")
    if results.predictions.empty:
        notes.append("No predictions level: McNemar tests are unavailable; significance comes from bootstrap CIs.")
    if overall["n_tasks"].nunique() > 1:
        notes.append("Mixes were evaluated on different numbers of tasks: their overall accuracies are not "
                     "strictly comparable (see the tasks column).")
    n_ns = int((~d_overall["significant"]).sum())
    if len(d_overall):
        mde = d_overall.loc[~d_overall["significant"], "mde"].dropna()
        too_small = (f": too small to tell at this size (median MDE ±{mde.median():.3f}), not evidence of no effect"
                     if n_ns and len(mde) else "")
        notes.append(f"{n_ns} of {len(d_overall)} overall comparisons against 0% are not significant (α as above)"
                     f"{too_small}.")
    if overall["accuracy"].max() == 0:
        notes.append("Every accuracy is 0 (a smoke run with tiny models?): the comparisons carry no information.")
    return notes
