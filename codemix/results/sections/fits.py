"""Accuracy vs proportion: quadratic least-squares fits where a family has five or more proportions, and the
proportion p* that maximises each within the range run.
"""

from __future__ import annotations

import pandas as pd

from codemix.results.cells import proportion_label, with_labels
from codemix.results.document import Document


def fits_section(doc: Document, fits: pd.DataFrame, figures: dict) -> None:
    if fits.empty:
        return
    doc.heading("Accuracy vs proportion: quadratic fits")
    doc.text("Where a family has at least five distinct proportions: accuracy ≈ a·p² + b·p + c (least squares over "
             "the mean accuracy per proportion); p* maximises the fit within the range run.")
    f = with_labels(fits.assign(proportion=0.0))
    doc.table(pd.DataFrame({"family": f["group"], "scope": f["scope"], "points": f["n_points"],
                            "a": f["a"].map("{:+.3f}".format), "b": f["b"].map("{:+.3f}".format),
                            "c": f["c"].map("{:.3f}".format), "R²": f["r2"].map("{:.2f}".format),
                            "p*": f["optimum"].map(proportion_label),
                            "fitted max": f["optimum_accuracy"].map("{:.3f}".format),
                            "best observed": f["best_observed"].map(proportion_label)}))
    for key, path in figures.items():
        if key.startswith("fit/"):
            doc.image(path, f"{key[4:]}: accuracy vs proportion with the fitted optimum")
