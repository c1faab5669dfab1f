"""The experiment report: one Markdown file (and optionally a self-contained HTML) with tables and figures.

    write_report(["runs/paper", "runs/fine_grained"], "runs/paper/report", html=True)

``build_report`` is the recipe: it computes the tables once and lays out the sections in order, one module each
in ``sections/``: each sweep's configuration; the data its mixes were drawn from (the pool's source, records in,
kept, drops and repairs by reason, class counts, the classifier and its measured accuracy); how to read the
report; the overall / domain / task accuracies with bootstrap CIs, the deltas against the 0% (General) mix with
McNemar p-values (flagging those that are not significant) and the minimum detectable effect next to each
(``power.py``); what the models wrote (per trial the outputs' median length and the share with an extracted
answer, and collapsed sample outputs per task with the answer extracted and the gold); the best proportion per
task and domain; quadratic fits where a sweep is fine-grained enough; for a searched sweep the path of its search
and the fitted optimum of its objective with a bootstrap interval, the binomial fits of the best proportion and
the rungs of successive halving; the trials that failed with their errors; where the time went; notes. The
table cells are formatted in ``cells.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from codemix.results import analysis, power
from codemix.results.document import Document
from codemix.results.figures import render_figures
from codemix.results.load import ResultSet, load_results
from codemix.results.sections.accuracy import domains_section, overall_section, tasks_section
from codemix.results.sections.best import best_section
from codemix.results.sections.configuration import configuration_section
from codemix.results.sections.data_pool import data_section
from codemix.results.sections.failures import failures_section
from codemix.results.sections.fits import fits_section
from codemix.results.sections.halving import halving_section
from codemix.results.sections.method import method_section
from codemix.results.sections.notes import caveats
from codemix.results.sections.optimum import optimum_section
from codemix.results.sections.outputs import outputs_section
from codemix.results.sections.searches import searches_section
from codemix.results.sections.surrogate import surrogate_section
from codemix.results.sections.timings import timing_section
from codemix.storage import atomic_write_text
from codemix.version import __version__


def with_mde(deltas: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """``deltas`` with the minimum detectable effect of each comparison: mde, mde_assumed, mde_method.

    Paired (McNemar) rows: from the discordance observed, or half a discordant pair where none was;
    bootstrap rows (no predictions): from the CI of the difference. See ``codemix.results.power``.
    """
    found = [power.paired_mde(int(r["n_pairs"]), int(r["b"]), int(r["c"]), alpha=alpha)
             if str(r["test"]).startswith("mcnemar") else power.bootstrap_mde(r["ci_low"], r["ci_high"], alpha=alpha)
             for _, r in deltas.iterrows()]
    return deltas.assign(mde=[m.value for m in found], mde_assumed=[m.assumed for m in found],
                         mde_method=[m.method for m in found])


def build_report(results: ResultSet, out_dir: str | Path, *, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05,
                 samples: int = 3, progress: Callable[[str], None] = lambda msg: None) -> Document:
    """Compute every table, render the figures under ``out_dir/figures`` and lay out the document.

    ``samples``: sample outputs shown per trial and task (0: only the output statistics; the section is
    left out entirely when no predictions were recorded)."""
    out_dir = Path(out_dir)
    doc = Document()
    names = ", ".join(e.name for e in results.experiments)
    doc.heading(f"codemix report: {names}", 1)
    doc.text(f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by codemix {__version__}: "
             f"{len(results.trials)} trial(s), {len(results.failed)} failed, {len(results.scores)} task scores, "
             f"{len(results.predictions)} predictions.")
    configuration_section(doc, results)
    data_section(doc, results)  # the pool the mixes came from: counts, drops, classes, classifier accuracy
    notes = list(results.notes)
    if results.scores.empty:
        doc.heading("Results")
        doc.text("No finished trial has scores yet.")
    else:
        method_section(doc, n_boot, alpha)
        progress("tables and bootstrap CIs")
        acc = {lvl: analysis.accuracy_table(results, lvl, n_boot=n_boot, seed=seed) for lvl in analysis.LEVELS}
        dl = {lvl: with_mde(analysis.deltas(results, lvl, n_boot=n_boot, seed=seed, alpha=alpha), alpha)
              for lvl in analysis.LEVELS}
        du = {lvl: with_mde(analysis.deltas(results, lvl, baseline="untuned", n_boot=n_boot, seed=seed,
                                            alpha=alpha), alpha)
              for lvl in ("overall", "domain")}
        progress("figures")
        figures = render_figures(results, out_dir / "figures", n_boot=n_boot, seed=seed)
        overall_section(doc, acc["overall"], dl["overall"], figures, du["overall"])
        domains_section(doc, acc["domain"], acc["overall"], dl["domain"], figures, du["domain"])
        tasks_section(doc, acc["task"], dl["task"], figures)
        if not results.predictions.empty:
            progress("sample outputs")
            outputs_section(doc, results, samples)
        best_section(doc, analysis.best_proportions(results, "task"), analysis.best_proportions(results, "domain"))
        fits_section(doc, pd.concat([analysis.fit_curves(results, lvl) for lvl in ("overall", "domain")]), figures)
        searches_section(doc, results, out_dir, n_boot, seed)
        optimum_section(doc, results)  # binomial fits of the best proportion
        notes += caveats(results, acc["overall"], dl["overall"])
    halving_section(doc, results)  # its rungs below full fidelity are in no table above
    surrogate_section(doc, results)  # interpolated models: in no table above either
    failures_section(doc, results.failed)
    timing_section(doc, results.experiments)
    if notes:
        doc.heading("Notes")
        doc.bullets(notes)
    return doc


def save_report(results: ResultSet, out_dir: str | Path, html: bool = False, *, n_boot: int = 2000, seed: int = 0,
                alpha: float = 0.05, samples: int = 3, progress: Callable[[str], None] = lambda msg: None) -> Path:
    """Write ``out_dir/report.md`` (+ a self-contained report.html) for loaded results; returns the Markdown path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = build_report(results, out_dir, n_boot=n_boot, seed=seed, alpha=alpha, samples=samples, progress=progress)
    progress("writing")
    path = out_dir / "report.md"
    atomic_write_text(path, doc.markdown(out_dir))
    if html:
        title = f"codemix report: {', '.join(e.name for e in results.experiments)}"
        atomic_write_text(out_dir / "report.html", doc.html(title))
    return path


def write_report(experiments: list[str | Path] | str | Path, out_dir: str | Path, html: bool = False, *,
                 n_boot: int = 2000, seed: int = 0, alpha: float = 0.05, samples: int = 3,
                 progress: Callable[[str], None] = lambda msg: None) -> Path:
    """Analyse one or more experiment folders together; write ``out_dir/report.md`` (+ report.html).

    Figures go to ``out_dir/figures/``; the HTML embeds them and stands alone. Identical trials
    met in several experiments count once. Returns the Markdown path.
    """
    progress("loading results")
    results = load_results(experiments)
    return save_report(results, out_dir, html, n_boot=n_boot, seed=seed, alpha=alpha, samples=samples,
                       progress=progress)
