"""The report's view of a successive-halving sweep (``search.searcher: halving``): each rung's proportions and
scores, which went on, what the rungs cost, and what a grid of the same proportions would have cost.

Rungs below full fidelity are kept out of every other table and fit (``ResultSet.low_trials``): a model trained
on part of the steps and scored on fewer questions is compared only with the others of its rung.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from codemix.results import analysis
from codemix.results.cells import proportion_label
from codemix.results.load import ResultSet
from codemix.search import search_score

SECONDS = ("train_seconds", "eval_seconds")


def _halving_experiments(results: ResultSet) -> list:
    return [e for e in results.experiments if e.searcher == "halving"]


def rung_table(results: ResultSet, sweep: str, metric: str) -> pd.DataFrame:
    """One row per trial of the sweep, every fidelity: group, fidelity, proportion, seed, questions per task, the
    metric, wall seconds (training, evaluation), and whether its proportion ran at the next fidelity."""
    trials = pd.concat([results.trials, results.low_trials], ignore_index=True)
    trials = trials[(trials["sweep"] == sweep) & (trials["status"] == "ok")]
    scores = pd.concat([results.scores, results.low_scores], ignore_index=True)
    scores = scores[scores["sweep"] == sweep]
    rows = []
    for t in trials.itertuples():
        own = scores[scores["trial_key"] == t.trial_key]
        if own.empty:
            continue
        rows.append({**{g: getattr(t, g) for g in analysis.GROUP}, "fidelity": float(t.fidelity),
                     "proportion": float(t.proportion), "seed": int(t.seed), "questions": int(own["n"].max()),
                     "score": search_score(own.to_dict("records"), metric),
                     **{k: float(getattr(t, k) or 0.0) for k in SECONDS}})
    cols = analysis.GROUP + ["fidelity", "proportion", "seed", "questions", "score", *SECONDS, "promoted"]
    if not rows:
        return pd.DataFrame(columns=cols)
    table = pd.DataFrame(rows).sort_values(analysis.GROUP + ["fidelity", "proportion", "seed"], kind="stable")
    fidelities = sorted(table["fidelity"].unique())
    nxt = {f: g for f, g in zip(fidelities, fidelities[1:])}
    ran = set(zip(*[table[c] for c in analysis.GROUP], table["fidelity"], table["proportion"]))
    table["promoted"] = [f in nxt and (*key, nxt[f], p) in ran for *key, f, p in
                         zip(*[table[c] for c in analysis.GROUP], table["fidelity"], table["proportion"])]
    return table[cols].reset_index(drop=True)


def cost_summary(table: pd.DataFrame) -> dict:
    """What the rungs cost against a grid of the same proportions at full fidelity, per mix group pooled:
    trials and wall seconds run; the grid's trials and seconds, estimated from the proportions that reached full
    fidelity (their whole training, both segments, and their full evaluation) times the grid's size."""
    full = table[table["fidelity"] == 1.0]
    below = table[table["fidelity"] < 1.0]
    n_grid = len(table[table["fidelity"] == table["fidelity"].min()])
    per_full = []
    for r in full.itertuples():
        earlier = below[(below["proportion"] == r.proportion) & (below["seed"] == r.seed)
                        & np.logical_and.reduce([below[g] == getattr(r, g) for g in analysis.GROUP])]
        per_full.append(r.train_seconds + earlier["train_seconds"].sum() + r.eval_seconds)
    spent = float(table["train_seconds"].sum() + table["eval_seconds"].sum())
    grid = float(np.mean(per_full) * n_grid) if per_full else float("nan")
    return {"trials": len(table), "seconds": spent, "grid_trials": n_grid, "grid_seconds": grid,
            "saved": 1 - spent / grid if per_full and grid > 0 else float("nan")}


def halving_section(doc, results: ResultSet) -> None:
    """Add a section per successive-halving experiment of the report (nothing when there is none)."""
    for e in _halving_experiments(results):
        search = e.spec["search"]
        metric = search.get("metric", "overall")
        table = rung_table(results, e.name, metric)
        doc.heading(f"Successive halving: `{e.name}`")
        if table.empty:
            doc.text("No finished trial yet.")
            continue
        cfg = search.get("halving", {})
        doc.text(f"Every proportion ran first at the lowest fidelity (a share of the full run's training steps, "
                 f"scored on fewer questions), and the best 1/{cfg.get('eta', 3)} by `{metric}` went on to the "
                 "next, continuing the same training run, up to full fidelity. Rungs below full fidelity appear "
                 "only here: the other tables and fits use full-fidelity trials alone.")
        pct = proportion_label
        doc.table(pd.DataFrame({"family": table["family"], "fidelity": table["fidelity"].map(pct),
                                "coding": table["proportion"].map(pct), "seed": table["seed"],
                                "questions/task": table["questions"], metric: table["score"].map("{:.3f}".format),
                                "seconds (train + eval)": (table["train_seconds"] + table["eval_seconds"]).map(
                                    "{:.0f}".format),
                                "went on": ["yes" if p else "" for p in table["promoted"]]}))
        cost = cost_summary(table)
        lines = [f"{cost['trials']} trials, {cost['seconds']:.0f} s of training and evaluation; a grid of the same "
                 f"{cost['grid_trials']} proportions at full fidelity: ≈ {cost['grid_seconds']:.0f} s (estimated "
                 "from the full-fidelity trials' whole runs)" + (f", so {cost['saved']:.0%} saved."
                                                                 if np.isfinite(cost["saved"]) else ".")]
        for key, sub in table.groupby(analysis.GROUP, sort=False):
            first = sub[sub["fidelity"] == sub["fidelity"].min()]
            top = sub[sub["fidelity"] == sub["fidelity"].max()]
            best_first = first.loc[first["score"].idxmax()]
            best_top = top.loc[top["score"].idxmax()]
            lines.append(f"{key[0]}: best at the lowest fidelity {pct(best_first['proportion'])} "
                         f"({best_first['score']:.3f}); best at fidelity {pct(best_top['fidelity'])} "
                         f"{pct(best_top['proportion'])} ({best_top['score']:.3f}).")
        doc.bullets(lines)

