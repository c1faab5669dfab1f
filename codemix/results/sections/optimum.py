"""The best proportion per family and scope from correct counts: binomial curve fits, the optimum's interval,
the points sampled in order, and what a grid would have needed for the same width.

The model is the optimum searcher's (``codemix.search.fit``): one quadratic-logistic curve per task fitted
to every trial's correct count out of n (seeds are replicates), the scope's accuracy the mean of its tasks'
curves, a Laplace 95 % interval for the arg-max, widened by the observed overdispersion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from codemix.results import analysis
from codemix.results.load import ResultSet
from codemix.search import Observation, fit_model, grid_trials_for_width

BAND_AT = (0.0, 0.25, 0.5, 0.75, 1.0)  # where the report prints the fitted curve (fractions of the range run)


def _observations(sub: pd.DataFrame, tasks: list[str]) -> tuple[list[Observation], list[float], list[str]]:
    """One observation per trial (in the order trials started when known), with its tasks' counts, its proportion
    and the experiment it ran in."""
    order = "started_at" if "started_at" in sub else "trial_key"
    obs, xs, sweeps = [], [], []
    for _, trial in sub.sort_values([order, "trial_key"], kind="stable").groupby("trial_key", sort=False):
        counts = {r.task: (int(r.n_correct), int(r.n)) for r in trial.itertuples() if r.task in tasks}
        if counts:
            obs.append(Observation(float(trial["proportion"].iloc[0]), counts))
            xs.append(float(trial["proportion"].iloc[0]))
            sweeps.append(str(trial["sweep"].iloc[0]))
    return obs, xs, sweeps


def _sampled_by(results: ResultSet, sweeps: list[str]) -> list[str]:
    """Who chose each point: the searcher of the experiment it ran in ('grid' for a grid)."""
    searcher = {e.name: e.searcher for e in results.experiments}
    return [searcher.get(s, "grid") for s in sweeps]


def _scores_with_order(results: ResultSet) -> pd.DataFrame:
    scores = results.scores[results.scores["proportion"].notna()]
    if "started_at" in results.trials and "started_at" not in scores:
        scores = scores.merge(results.trials[["trial_key", "started_at"]].drop_duplicates("trial_key"),
                              on="trial_key", how="left")
    return scores


def optimum_fits(results: ResultSet, levels: tuple[str, ...] = ("overall", "domain"), *,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Per family (and mix settings) and scope with three or more distinct proportions: the binomial fit.

    Columns: family, code_language, corruption, scope, trials, points (distinct proportions), optimum, low,
    high, width, optimum_accuracy, dispersion, grid_trials (evenly spaced trials a grid would need for the
    same width if the fitted curves are true; NaN beyond 101), sampled (proportions in the order run), band
    (rows of proportion, fit, low, high at ``BAND_AT``).
    """
    scores = _scores_with_order(results)
    tasks_all = analysis.task_order(scores) if not scores.empty else []
    rows = []
    for level in levels:
        for scope, (_, idx) in analysis._scopes(tasks_all, level).items():
            tasks = [tasks_all[i][0] for i in idx]
            for key, sub in scores.groupby(analysis.GROUP, sort=False):
                obs, xs, sweeps = _observations(sub, tasks)
                if len(set(xs)) < 3:
                    continue
                lo, hi = min(xs), max(xs)
                here = [t for t in tasks if any(t in o.counts for o in obs)]  # tasks this group evaluated
                model = fit_model(obs, here, lo, hi)
                iv = model.interval(confidence)
                n = {t: int(round(np.mean([o.counts[t][1] for o in obs if t in o.counts]))) for t in here}
                grid = grid_trials_for_width(model, max(iv.width, 1e-3), n, confidence=confidence)
                at = np.array([lo + f * (hi - lo) for f in BAND_AT])
                band = model.band(at, confidence)
                rows.append({**dict(zip(analysis.GROUP, key)), "scope": scope, "trials": len(obs),
                             "points": len(set(xs)), "optimum": iv.optimum, "low": iv.low, "high": iv.high,
                             "width": iv.width, "optimum_accuracy": iv.optimum_accuracy,
                             "dispersion": model.dispersion, "grid_trials": np.nan if grid is None else grid,
                             "sampled": xs, "sampled_by": _sampled_by(results, sweeps),
                             "band": list(zip(at, model.curve(at), band[0], band[1]))})
    cols = analysis.GROUP + ["scope", "trials", "points", "optimum", "low", "high", "width", "optimum_accuracy",
                             "dispersion", "grid_trials", "sampled", "sampled_by", "band"]
    return pd.DataFrame(rows, columns=cols)


def _sampled_cell(xs: list[float], by: list[str]) -> str:
    """The proportions in the order they ran, each marked with who chose it when several did."""
    pct = "{:.0%}".format
    if len(set(by)) <= 1:
        return ", ".join(pct(x) for x in xs) + (f" ({by[0]})" if by else "")
    return ", ".join(f"{pct(x)} ({b})" for x, b in zip(xs, by))


def optimum_section(doc, results: ResultSet, confidence: float = 0.95) -> None:
    """Add the section to a report ``Document`` (nothing where no family has three distinct proportions)."""
    fits = optimum_fits(results, confidence=confidence)
    if fits.empty:
        return
    doc.heading("Best proportion from correct counts (binomial fit)")
    doc.text("Per task a quadratic-logistic curve fitted to each trial's correct count out of n (seeds as "
             "replicates), the scope's accuracy the mean of its tasks' curves (the model the `optimum` searcher "
             "uses); p* maximises it, with a 95% Laplace interval widened by the observed overdispersion. "
             "'grid for same width': evenly spaced trials a grid would need for an interval as narrow, if the "
             "fitted curves are true. Only full-fidelity trials are fitted (successive-halving rungs below full "
             "fidelity have a section of their own); 'sampled in order' says who chose each point: a grid, or the "
             "searcher of the sweep it ran in.")
    pct = "{:.0%}".format
    doc.table(pd.DataFrame({
        "family": fits["family"], "scope": fits["scope"], "trials": fits["trials"], "points": fits["points"],
        "p* [95% CI]": [f"{pct(r.optimum)} [{pct(r.low)}, {pct(r.high)}]" for r in fits.itertuples()],
        "width": fits["width"].map("{:.2f}".format), "fitted max": fits["optimum_accuracy"].map("{:.3f}".format),
        "dispersion": fits["dispersion"].map("{:.2f}".format),
        "grid for same width": [">101" if np.isnan(g) else str(int(g)) for g in fits["grid_trials"]],
        "sampled in order": [_sampled_cell(xs, by) for xs, by in zip(fits["sampled"], fits["sampled_by"])]}))
    doc.text("Fitted curve with its 95% band:")
    doc.table(pd.DataFrame([{"family": r.family, "scope": r.scope,
                             **{pct(x): f"{y:.3f} [{lo:.3f}, {hi:.3f}]" for x, y, lo, hi in r.band}}
                            for r in fits.itertuples()]))
