"""The report's view of models interpolated between fine-tunes (``search.searcher: surrogate``): the surrogate
curve beside the real one per scope (overall, domain, task), their rank correlation and the optimum each gives.

Interpolated models are kept out of every other table and fit (``ResultSet.surrogate_trials``): they were trained
on no mix of their own. At an anchor the surrogate *is* the real model there (the anchor's own fine-tune), so the
two curves agree at the anchors by construction; the agreement between them is the question.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from codemix.results import analysis
from codemix.results.figures import proportion_label
from codemix.results.load import ResultSet
from codemix.search import Observation, fit_model

KEYS = ["task", "domain", "n_correct", "n"]


def _pooled(rows: pd.DataFrame) -> dict[str, tuple[int, int, str]]:
    """task -> (correct, n, domain), pooled over the rows (seeds)."""
    out = {}
    for (task, domain), sub in rows.groupby(["task", "domain"], sort=False):
        out[task] = (int(sub["n_correct"].sum()), int(sub["n"].sum()), domain)
    return out


def _scope_accuracy(counts: dict[str, tuple[int, int, str]], tasks: list[str]) -> float:
    accs = [counts[t][0] / counts[t][1] for t in tasks if t in counts and counts[t][1]]
    return float(np.mean(accs)) if accs else float("nan")


def _curves_of(real: pd.DataFrame, surrogate: pd.DataFrame) -> dict[str, dict[float, dict]]:
    """{'real'|'surrogate': {proportion: pooled counts}} of one group: the surrogate at its evaluated proportions,
    and at each anchor the anchor's own fine-tune (the seed the surrogate was made with)."""
    anchors = sorted({float(a) for row in surrogate["anchors"] for a in row})
    seed = int(surrogate["seed"].iloc[0])
    curves = {"real": {float(p): _pooled(sub) for p, sub in real.groupby("proportion")},
              "surrogate": {float(p): _pooled(sub) for p, sub in surrogate.groupby("proportion")}}
    for a in anchors:
        own = real[np.isclose(real["proportion"], a) & (real["seed"] == seed)]
        if not own.empty:
            curves["surrogate"][a] = _pooled(own)
    return curves


def _spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (ties at their mean rank); NaN below three points or for a constant series."""
    if len(a) < 3:
        return float("nan")
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _fit_optimum(curve: dict[float, dict], tasks: list[str]) -> str:
    """'p* [95% CI]' of the binomial quadratic-logistic fit (``codemix.search.fit``) to a curve's counts; '–' below
    three proportions."""
    obs = [Observation(x, {t: counts[t][:2] for t in tasks if t in counts}) for x, counts in curve.items()]
    if len({o.x for o in obs}) < 3:
        return "–"
    xs = [o.x for o in obs]
    iv = fit_model(obs, tasks, min(xs), max(xs)).interval()
    pct = "{:.0%}".format
    return f"{pct(iv.optimum)} [{pct(iv.low)}, {pct(iv.high)}]"


def surrogate_comparison(results: ResultSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, agreement) of every mix group with interpolated models.

    curves: group columns, scope, proportion, surrogate and real accuracy (NaN where that curve has no model),
    anchor (the surrogate is the anchor's own fine-tune there). agreement: group columns, scope, points (proportions
    with both curves, anchors included), spearman, mean_abs_diff (|surrogate - real| over those points),
    surrogate_best and real_best (the proportion each curve's highest accuracy is at), and for the overall and domain
    scopes the binomial fit's optimum of each curve (surrogate_fit, real_fit)."""
    sur = results.surrogate_scores
    if sur.empty:
        return pd.DataFrame(), pd.DataFrame()
    real = results.scores[results.scores["proportion"].notna()]
    tasks = analysis.task_order(pd.concat([real[["task", "domain"]], sur[["task", "domain"]]]))
    scopes = [("overall", "overall", [t for t, _ in tasks])]
    for level in ("domain", "task"):
        scopes += [(level, name, [tasks[i][0] for i in idx])
                   for name, (_, idx) in analysis._scopes(tasks, level).items()]
    curve_rows, agree_rows = [], []
    for key, sub in sur.groupby(analysis.GROUP, sort=False):
        mine = real[np.logical_and.reduce([real[g] == v for g, v in zip(analysis.GROUP, key)])]
        curves = _curves_of(mine, sub)
        anchors = {float(a) for row in sub["anchors"] for a in row}
        group = dict(zip(analysis.GROUP, key))
        for level, scope, scope_tasks in scopes:
            values = {kind: {p: _scope_accuracy(c, scope_tasks) for p, c in curve.items()}
                      for kind, curve in curves.items()}
            for p in sorted(set(values["real"]) | set(values["surrogate"])):
                curve_rows.append({**group, "level": level, "scope": scope, "proportion": p,
                                   "surrogate": values["surrogate"].get(p, np.nan),
                                   "real": values["real"].get(p, np.nan), "anchor": p in anchors})
            both = [p for p in sorted(values["real"]) if p in values["surrogate"]
                    and np.isfinite(values["real"][p]) and np.isfinite(values["surrogate"][p])]
            s, r = [values["surrogate"][p] for p in both], [values["real"][p] for p in both]
            best = {kind: max(v, key=lambda p: (v[p], -p)) if v else np.nan
                    for kind, v in ((k, {p: x for p, x in values[k].items() if np.isfinite(x)}) for k in values)}
            row = {**group, "level": level, "scope": scope, "points": len(both), "spearman": _spearman(s, r),
                   "mean_abs_diff": float(np.mean(np.abs(np.subtract(s, r)))) if both else np.nan,
                   "surrogate_best": best["surrogate"], "real_best": best["real"]}
            if level != "task":
                row.update(surrogate_fit=_fit_optimum(curves["surrogate"], scope_tasks),
                           real_fit=_fit_optimum(curves["real"], scope_tasks))
            agree_rows.append(row)
    return pd.DataFrame(curve_rows), pd.DataFrame(agree_rows)


def surrogate_section(doc, results: ResultSet) -> None:
    """Add the section to a report ``Document`` (nothing when no interpolated model was evaluated)."""
    curves, agreement = surrogate_comparison(results)
    if curves.empty:
        return
    pct = proportion_label
    doc.heading("Interpolated models (surrogate) against fine-tuned ones")
    doc.text("Each surrogate model is the fine-tunes at the anchor proportions interpolated in weight space "
             "(LoRA deltas, or full weights), trained on no mix of its own; it is evaluated like a trial and kept "
             "out of every other table and fit. At an anchor the surrogate is that anchor's fine-tune, so the two "
             "curves agree there by construction (marked *). Accuracies are means of task accuracies, seeds pooled.")
    for key, sub in curves.groupby(analysis.GROUP, sort=False):
        head = sub[sub["level"] != "task"]
        table = head.pivot_table(index="proportion", columns="scope", values=["surrogate", "real"], sort=False)
        scopes = list(dict.fromkeys(head["scope"]))
        anchors = set(sub.loc[sub["anchor"], "proportion"])
        fmt = lambda v: "–" if not np.isfinite(v) else f"{v:.3f}"  # noqa: E731 - a cell format
        doc.text(f"{key[0]}: surrogate / real accuracy by proportion")
        doc.table(pd.DataFrame({"coding": [pct(p) + (" *" if p in anchors else "") for p in table.index],
                                **{s: [f"{fmt(table[('surrogate', s)][p])} / {fmt(table[('real', s)][p])}"
                                       for p in table.index] for s in scopes}}))
        tasks = sub[sub["level"] == "task"]
        doc.text(f"{key[0]}: surrogate / real accuracy per task")
        doc.table(pd.DataFrame([{"task": task, **{pct(r.proportion) + (" *" if r.anchor else ""):
                                                  f"{fmt(r.surrogate)} / {fmt(r.real)}" for r in rows.itertuples()}}
                                for task, rows in tasks.groupby("scope", sort=False)]))
    fmt_rho = lambda v: "–" if not np.isfinite(v) else f"{v:+.2f}"  # noqa: E731 - a cell format
    doc.text("Agreement per scope: Spearman's rank correlation of the two curves over the proportions where both "
             "have a model (anchors included), their mean absolute difference, and the proportion each puts first "
             "(observed, and for overall and domains the binomial fit's optimum with its 95% interval).")
    doc.table(pd.DataFrame({
        "family": agreement["family"], "scope": agreement["scope"], "points": agreement["points"],
        "rank corr.": agreement["spearman"].map(fmt_rho), "mean |Δ|": agreement["mean_abs_diff"].map("{:.3f}".format),
        "best (surrogate)": agreement["surrogate_best"].map(pct), "best (real)": agreement["real_best"].map(pct),
        "fit p* (surrogate)": agreement.get("surrogate_fit", pd.Series("", index=agreement.index)).fillna(""),
        "fit p* (real)": agreement.get("real_fit", pd.Series("", index=agreement.index)).fillna("")}))
