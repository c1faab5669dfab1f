"""Accuracy overall, per domain and per task, with each mix's change against the 0 % mix (and the untuned model):
Δ, McNemar's p, significance and the minimum detectable effect beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from codemix.results import analysis
from codemix.results.cells import acc_cell, delta_cell, mde_cell, p_cell, with_labels
from codemix.results.document import Document


def _merge_deltas(table: pd.DataFrame, deltas: pd.DataFrame, suffix: str) -> pd.DataFrame:
    """``table`` with the delta, p-value and significance of ``deltas`` as columns ending in ``suffix``."""
    keys = analysis.CONDITION + ["scope"]
    cols = {c: c + suffix for c in ("delta", "p_value", "significant", "mde", "mde_assumed")}
    # merge keys must match NaN to NaN (the untuned row): compare on a filled copy of the proportion
    left, right = table.assign(_p=table["proportion"].fillna(-1.0)), deltas.assign(_p=deltas["proportion"].fillna(-1.0))
    on = [k if k != "proportion" else "_p" for k in keys]
    merged = left.merge(right[on + list(cols)].rename(columns=cols), on=on, how="left")
    return merged.drop(columns="_p")


def _delta_cells(r, suffix: str) -> tuple[str, str, str, str]:
    """(Δ, p, significant, MDE) cells of one row, '–' where there is no comparison."""
    d = r.get("delta" + suffix)
    if d is None or pd.isna(d):
        return "–", "–", "–", "–"
    significant = bool(r["significant" + suffix])
    return (f"{d:+.3f}", p_cell(r["p_value" + suffix]), "yes" if significant else "**n.s.**",
            mde_cell(r["mde" + suffix], bool(r["mde_assumed" + suffix]), significant))


def overall_section(doc: Document, overall: pd.DataFrame, deltas: pd.DataFrame, figures: dict,
             vs_untuned: pd.DataFrame | None = None) -> None:
    doc.heading("Overall accuracy")
    table = _merge_deltas(with_labels(overall), deltas, "")
    reference = vs_untuned is not None and not vs_untuned.empty
    if reference:
        table = _merge_deltas(table, vs_untuned, "_u")
    rows = []
    for _, r in table.iterrows():
        delta, p, sig, mde = _delta_cells(r, "")
        row = {"family": r["group"], "coding": r["mix"], "accuracy [95% CI]": acc_cell(r)}
        if reference:
            du, pu, _, mu = _delta_cells(r, "_u")
            row.update({"Δ vs untuned": du, "p (untuned)": pu, "MDE (untuned)": mu})
        row.update({"Δ vs 0%": delta, "p": p, "significant": sig, "MDE": mde, "tasks": r["n_tasks"],
                    "seeds": r["n_seeds"]})
        rows.append(row)
    doc.table(pd.DataFrame(rows))
    if "overall" in figures:
        doc.image(figures["overall"], "overall accuracy per family and coding proportion")


def domains_section(doc: Document, domain: pd.DataFrame, overall: pd.DataFrame, d_domain: pd.DataFrame,
             figures: dict, u_domain: pd.DataFrame | None = None) -> None:
    doc.heading("Accuracy per domain")
    both = with_labels(pd.concat([domain, overall]))
    scopes = list(dict.fromkeys(domain["scope"])) + ["overall"]
    cells = both.assign(cell=[acc_cell(r) for _, r in both.iterrows()])
    doc.table(_wide(cells, scopes))
    if "domains" in figures:
        doc.image(figures["domains"], "accuracy per domain vs coding proportion")
    for name, table in (("the 0% mix", d_domain), ("the untuned model", u_domain)):
        if table is None or table.empty:
            continue
        doc.text(f"Change against {name} (**n.s.** = not significant; MDE: the smallest change this size can "
                 "detect):")
        d = with_labels(table)
        doc.table(_wide(d.assign(cell=[delta_cell(r) for _, r in d.iterrows()]), scopes))


def _wide(cells: pd.DataFrame, scopes: list[str]) -> pd.DataFrame:
    """One row per family and mix (the untuned reference first), one column per scope of ``cells['cell']``."""
    cells = cells.assign(_order=cells["proportion"].fillna(-1.0))
    wide = cells.pivot_table(index=["group", "_order", "mix"], columns="scope", values="cell", aggfunc="first")
    wide = wide.reindex(columns=[s for s in scopes if s in wide.columns]).reset_index().drop(columns="_order")
    return wide.fillna("–").rename(columns={"group": "family", "mix": "coding"})


def tasks_section(doc: Document, task: pd.DataFrame, d_task: pd.DataFrame, figures: dict) -> None:
    doc.heading("Accuracy per task")
    doc.text("Accuracy per task and coding proportion; the best per task in **bold**.")
    labelled, shown = with_labels(task), set()
    for group, sub in labelled.groupby("group", sort=False):
        doc.heading(group, 3)
        best = sub.groupby("scope")["accuracy"].transform("max")
        cell = [f"**{a:.3f}**" if np.isclose(a, b) and b > 0 else f"{a:.3f}" for a, b in zip(sub["accuracy"], best)]
        sub = sub.assign(cell=cell).sort_values("proportion", na_position="first")
        wide = sub.pivot_table(index=["scope", "domain"], columns="mix", values="cell", aggfunc="first")
        order = [t for t, _ in analysis.task_order(sub.rename(columns={"scope": "task"}))]
        wide = wide.reindex(columns=list(dict.fromkeys(sub["mix"])))
        wide = wide.reset_index().set_index("scope").reindex(order).reset_index()
        doc.table(wide.fillna("–").rename(columns={"scope": "task"}))
        family = sub["family"].iloc[0]
        if f"heatmap/{family}" in figures and family not in shown:  # one heatmap per family holds all its mixes
            doc.image(figures[f"heatmap/{family}"], f"{family}: task x proportion heatmap")
            shown.add(family)
    if not d_task.empty:
        doc.details("Per-task change against the 0% mix, with McNemar p-values and MDEs")
        d = with_labels(d_task)
        doc.table(pd.DataFrame({"family": d["group"], "coding": d["mix"], "task": d["scope"],
                                "Δ vs 0%": [f"{x:+.3f}" for x in d["delta"]],
                                "discordant b/c": [f"{b}/{c}" if n else "–"
                                                   for b, c, n in zip(d["b"], d["c"], d["n_pairs"])],
                                "p": [p_cell(p) for p in d["p_value"]],
                                "significant": ["yes" if s else "**n.s.**" for s in d["significant"]],
                                "MDE": [mde_cell(m, a, s) for m, a, s in
                                        zip(d["mde"], d["mde_assumed"], d["significant"])]}))
        doc.end_details()
