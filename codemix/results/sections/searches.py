"""Per searched experiment (a searcher other than the grid and successive halving, which has its own section):
the path of the search from its known points, and the fitted curve of its objective with the optimum's
bootstrap interval.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from codemix.results import analysis
from codemix.results.cells import proportion_label, with_labels
from codemix.results.document import Document
from codemix.results.figures import fit_figure, search_path_figure, slug
from codemix.results.layout import KNOWN_POINTS_FILE
from codemix.results.load import ResultSet, load_results
from codemix.search import metric_scope
from codemix.storage import Store


def _searched(e) -> bool:
    """A sweep whose points a searcher chose (successive halving has a section of its own: ``halving``)."""
    return e.searcher not in ("grid", "halving")


def searches_section(doc: Document, results: ResultSet, out_dir: Path, n_boot: int, seed: int) -> None:
    """Per searched experiment: the path of the search and the fitted curve of its objective."""
    for e in [e for e in results.experiments if _searched(e)]:
        search = e.spec["search"]
        metric = search.get("metric", "overall")
        doc.heading(f"Search: `{e.name}`")
        store = Store(e.path)
        start = store.read_json(KNOWN_POINTS_FILE) if store.exists(KNOWN_POINTS_FILE) else {"known": []}
        own = load_results([e.path], predictions=False)
        path = analysis.search_path(own, metric, start["known"])
        n_known, n_new = int((path["source"] == "known").sum()), int((path["source"] == "searched").sum())
        doc.text(f"Searcher **{search.get('searcher')}** maximising `{metric}` with a budget of "
                 f"{search.get('num_samples', 1)} trial(s): it started from {n_known} known point(s) "
                 f"(finished trials in the same storage with the same stages, fed at no cost) and ran {n_new}. "
                 "Step 0 = known points; then the trials in the order they started.")
        vary = [c for c in ("family", "seed", "code_language", "corruption") if path[c].nunique() > 1]
        doc.table(pd.DataFrame({"step": path["step"], "source": [f"known ({s})" if src == "known" else "searched"
                                                                 for s, src in zip(path["sweep"], path["source"])],
                                "coding": path["proportion"].map(proportion_label),
                                **{c: path[c] for c in vary},
                                metric: [f"{v:.3f}" if pd.notna(v) else "failed" for v in path["objective"]],
                                "best so far": [f"{v:.3f}" if pd.notna(v) else "–" for v in path["best_so_far"]]}))
        if path["objective"].notna().any():
            best = path.loc[path["objective"].idxmax()]
            doc.text(f"Best: {metric} = {best['objective']:.3f} at {proportion_label(best['proportion'])} coding "
                     f"({best['family']}, step {best['step']}).")
        if not path.empty:
            doc.image(search_path_figure(path, metric, out_dir / "figures" / f"search_{slug(e.name)}.png"),
                      f"{e.name}: search path")
        _search_fit(doc, results, own, e, metric, start, out_dir, n_boot, seed)


def _search_fit(doc, results, own, e, metric, start, out_dir, n_boot, seed) -> None:
    level, scope = metric_scope(metric)
    groups = own.trials[analysis.GROUP].drop_duplicates()
    fits = analysis.fit_curves(results, level, min_points=3, n_boot=max(n_boot, 200), seed=seed)
    fits = fits[fits["scope"] == scope].merge(groups, on=analysis.GROUP)
    missing = sorted({k["sweep"] for k in start["known"]} - {x.name for x in results.experiments})
    if missing:
        doc.text(f"The known points from {', '.join(f'`{m}`' for m in missing)} are not in this report, so the fit "
                 f"leaves them out: report the experiments together (`codemix report {e.path} <those folders>`).")
    if fits.empty:
        doc.text(f"No fit of {metric} vs proportion: it needs at least three distinct proportions of one family.")
        return
    doc.text(f"{metric} vs coding proportion over every trial in this report: quadratic fit, its optimum p* within "
             "the range run, and 95% intervals from refitting each bootstrap draw of the accuracies.")
    f = with_labels(fits.assign(proportion=0.0))
    doc.table(pd.DataFrame({"family": f["group"], "points": f["n_points"],
                            "p* [95% CI]": [f"{r.optimum:.0%} [{r.optimum_low:.0%}, {r.optimum_high:.0%}]"
                                            for r in f.itertuples()],
                            "fitted max [95% CI]": [f"{r.optimum_accuracy:.3f} [{r.optimum_accuracy_low:.3f}, "
                                                    f"{r.optimum_accuracy_high:.3f}]" for r in f.itertuples()],
                            "R²": f["r2"].map("{:.2f}".format),
                            "best observed": f["best_observed"].map(proportion_label)}))
    table = analysis.accuracy_table(results, level, n_boot=n_boot, seed=seed)
    for family in dict.fromkeys(fits["family"]):
        png = out_dir / "figures" / f"search_fit_{slug(e.name)}_{slug(family)}.png"
        doc.image(fit_figure(table, fits, family, png),
                  f"{e.name}: {metric} vs proportion, fitted optimum and its uncertainty")
