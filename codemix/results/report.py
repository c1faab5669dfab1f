"""The experiment report: one Markdown file (and optionally a self-contained HTML) with tables and figures.

    write_report(["runs/paper", "runs/fine_grained"], "runs/paper/report", html=True)

The report states each sweep's configuration, the data its mixes were drawn from (the pool's
source, records in, kept, drops and repairs by reason, class counts, the classifier and its
measured accuracy; ``data.py``), the overall / domain / task accuracies with bootstrap CIs, the
deltas against the 0% (General) mix with McNemar p-values (flagging those that are not
significant) and the minimum detectable effect next to each (``power.py``), the best proportion
per task and domain, quadratic fits where a sweep is fine-grained enough, for a searched sweep
the path of its search and the fitted optimum of its objective with a bootstrap interval, what
the models wrote (per trial the outputs' median length and the share with an extracted answer,
and collapsed sample outputs per task with the answer extracted and the gold), and the trials
that failed with their errors.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from codemix.results import analysis
from codemix.results.data import data_section
from codemix.results.document import Document
from codemix.results.figures import (
    _slug,
    fit_figure,
    group_label,
    mix_label,
    proportion_label,
    render_figures,
    search_path_figure,
)
from codemix.results.halving import halving_section
from codemix.results.load import ResultSet, load_results
from codemix.results.surrogate import surrogate_section
from codemix.results.timings import timing_section
from codemix.search import metric_scope
from codemix.storage import atomic_write_text
from codemix.version import __version__

# ----------------------------------------------------------------------------- formatting


def _acc(row) -> str:
    """'0.517 [0.400, 0.633]' (the CI is left out when not computed)."""
    if not np.isfinite(row["ci_low"]):
        return f"{row['accuracy']:.3f}"
    return f"{row['accuracy']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def _p(p: float) -> str:
    return "–" if not np.isfinite(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _delta(row) -> str:
    """'+0.217 (p=0.001; MDE ±0.090)', or '+0.017 (p=0.73) n.s.: too small to tell (MDE ±0.140)'."""
    test = (f"p={_p(row['p_value'])}" if np.isfinite(row["p_value"])
            else f"CI [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]")
    mde = _mde_value(row["mde"], row["mde_assumed"])
    if row["significant"]:
        return f"{row['delta']:+.3f} ({test}" + (f"; MDE {mde})" if mde else ")")
    return f"{row['delta']:+.3f} ({test}) n.s." + (f": too small to tell (MDE {mde})" if mde else "")


def _mde_value(mde: float, assumed: bool) -> str:
    """'±0.140' ('±0.023*' where no discordant pair was observed and the discordance was assumed; '' if none)."""
    if mde is None or not np.isfinite(mde):
        return ""
    return (f"±{mde:.3f}" if mde < 1 else "> ±1") + ("*" if assumed else "")  # past 1: no accuracy gap is detectable


def _mde_cell(mde: float, assumed: bool, significant: bool) -> str:
    """The MDE next to a Δ: '±0.090'; 'too small to tell (MDE ±0.140)' for a Δ that is not significant."""
    value = _mde_value(mde, assumed)
    return "–" if not value else (value if significant else f"too small to tell (MDE {value})")


def _with_mde(deltas: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """``deltas`` with the minimum detectable effect of each comparison: mde, mde_assumed, mde_method.

    Paired (McNemar) rows: from the discordance observed, or half a discordant pair where none was;
    bootstrap rows (no predictions): from the CI of the difference. See ``codemix.results.power``.
    """
    from codemix.results import power

    found = [power.paired_mde(int(r["n_pairs"]), int(r["b"]), int(r["c"]), alpha=alpha)
             if str(r["test"]).startswith("mcnemar") else power.bootstrap_mde(r["ci_low"], r["ci_high"], alpha=alpha)
             for _, r in deltas.iterrows()]
    return deltas.assign(mde=[m.value for m in found], mde_assumed=[m.assumed for m in found],
                         mde_method=[m.method for m in found])


def _flatten(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}={v}")
    return out


def _with_labels(table: pd.DataFrame) -> pd.DataFrame:
    vary = [c for c in ("code_language", "corruption") if table[c].nunique() > 1]
    return table.assign(group=[group_label(r, vary) for _, r in table.iterrows()],
                        mix=[mix_label(r, vary) for _, r in table.iterrows()])


# ----------------------------------------------------------------------------- sections


def _configuration(doc: Document, results: ResultSet) -> None:
    doc.heading("Experiments and configuration")
    doc.table(pd.DataFrame([{"experiment": e.name, "path": f"`{e.path}`", "trials": e.n_trials, "failed": e.n_failed,
                             "families": ", ".join(e.families),
                             "proportions": ", ".join(proportion_label(p) for p in e.proportions),
                             "seeds": ", ".join(map(str, e.seeds))} for e in results.experiments]))
    if results.n_duplicates:
        doc.text(f"{results.n_duplicates} trial(s) appear in several experiments (same family, model_id, mix_hash, "
                 f"train_hash and eval_hash) and are counted once.")
    for e in results.experiments:
        doc.heading(f"Configuration of `{e.name}`", 3)
        if e.spec is not None:
            doc.bullets([f"**{k}**: " + ", ".join(_flatten(v)) if isinstance(v, dict) else f"**{k}**: {v}"
                         for k, v in e.spec.items()])
            doc.details("spec.yaml as run")
            doc.code(yaml.safe_dump(e.spec, sort_keys=False), "yaml")
            doc.end_details()
        elif e.config is not None:
            doc.text("No `spec.yaml` in this folder (an older experiment): the configuration below is a trial's "
                     "resolved `config` column; the sweep dimensions are those observed in the table above.")
            doc.bullets([f"**{k}**: " + ", ".join(_flatten(v)) if isinstance(v, dict) else f"**{k}**: {v}"
                         for k, v in e.config.items()])
        else:
            doc.text("No `spec.yaml` in this folder and no trial config recorded: the configuration is unknown "
                     "beyond the sweep dimensions observed in the table above.")


def _method(doc: Document, n_boot: int, alpha: float) -> None:
    from codemix.results import power

    doc.heading("How to read this report")
    doc.bullets([
        ("Task accuracy = correct / examples of a trial, averaged over seeds. **Domain and overall accuracies are "
         "means over tasks** (as in the paper), not over examples."),
        (f"Brackets: 95% percentile bootstrap CI ({n_boot} resamples, seeded): examples resampled within each task, "
         "and seeds resampled first when a mix has several."),
        ("**untuned** is the family's starting model evaluated without fine-tuning (where the sweep ran it); "
         "Δ vs untuned says what fine-tuning on each mix did to it, Δ vs 0% what the coding data did."),
        (f"Δ = accuracy minus the same family's 0% (General) mix. p: McNemar's test on per-example correctness, "
         f"paired by (seed, task, example), pooled over the tasks in scope (exact binomial below "
         f"{analysis.EXACT_BELOW} discordant pairs). **n.s.** marks a Δ not significant at α = {alpha}; without "
         "predictions, significance means the (unpaired) bootstrap CI of Δ excludes 0."),
        (f"**MDE** (minimum detectable effect), next to each Δ: the smallest difference this many questions can "
         f"detect with power {power.POWER:.0%} at α = {alpha} (two-sided), for the paired design: "
         f"(z₁₋α/₂ + z_power)·√(p_d / n) = {power.z_sum(alpha):.2f}·√(p_d / n), n the paired questions and p_d the "
         "share of them on which the two models disagree, as observed (McNemar's test, normal approximation). "
         f"* no discordant pair was observed: p_d counts {power.ASSUMED_DISCORDANT:g} of a pair instead "
         f"(p_d = {power.ASSUMED_DISCORDANT:g}/n, the usual correction for an empty cell). "
         "Without predictions: (z₁₋α/₂ + z_power)·SE, the SE read off the bootstrap CI of Δ (unpaired). A pooled "
         "scope counts pairs over its tasks and seeds (its Δ weighs tasks equally: the same when tasks are "
         "equally large)."),
        ("**n.s.** reads **too small to tell**: a Δ inside ±MDE is what a sweep of this size cannot tell from "
         "chance — not evidence that the coding data has no effect (a significant Δ may still be smaller than its "
         "MDE, which is the Δ the test catches 80% of the time). With few discordant pairs the exact test is "
         f"weaker than the approximation says: below {power.min_discordant(alpha)} it cannot reach p < {alpha} at "
         "all."),
    ])


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
    return (f"{d:+.3f}", _p(r["p_value" + suffix]), "yes" if significant else "**n.s.**",
            _mde_cell(r["mde" + suffix], bool(r["mde_assumed" + suffix]), significant))


def _overall(doc: Document, overall: pd.DataFrame, deltas: pd.DataFrame, figures: dict,
             vs_untuned: pd.DataFrame | None = None) -> None:
    doc.heading("Overall accuracy")
    table = _merge_deltas(_with_labels(overall), deltas, "")
    reference = vs_untuned is not None and not vs_untuned.empty
    if reference:
        table = _merge_deltas(table, vs_untuned, "_u")
    rows = []
    for _, r in table.iterrows():
        delta, p, sig, mde = _delta_cells(r, "")
        row = {"family": r["group"], "coding": r["mix"], "accuracy [95% CI]": _acc(r)}
        if reference:
            du, pu, _, mu = _delta_cells(r, "_u")
            row.update({"Δ vs untuned": du, "p (untuned)": pu, "MDE (untuned)": mu})
        row.update({"Δ vs 0%": delta, "p": p, "significant": sig, "MDE": mde, "tasks": r["n_tasks"],
                    "seeds": r["n_seeds"]})
        rows.append(row)
    doc.table(pd.DataFrame(rows))
    if "overall" in figures:
        doc.image(figures["overall"], "overall accuracy per family and coding proportion")


def _domains(doc: Document, domain: pd.DataFrame, overall: pd.DataFrame, d_domain: pd.DataFrame,
             figures: dict, u_domain: pd.DataFrame | None = None) -> None:
    doc.heading("Accuracy per domain")
    both = _with_labels(pd.concat([domain, overall]))
    scopes = list(dict.fromkeys(domain["scope"])) + ["overall"]
    cells = both.assign(cell=[_acc(r) for _, r in both.iterrows()])
    doc.table(_wide(cells, scopes))
    if "domains" in figures:
        doc.image(figures["domains"], "accuracy per domain vs coding proportion")
    for name, table in (("the 0% mix", d_domain), ("the untuned model", u_domain)):
        if table is None or table.empty:
            continue
        doc.text(f"Change against {name} (**n.s.** = not significant; MDE: the smallest change this size can "
                 "detect):")
        d = _with_labels(table)
        doc.table(_wide(d.assign(cell=[_delta(r) for _, r in d.iterrows()]), scopes))


def _wide(cells: pd.DataFrame, scopes: list[str]) -> pd.DataFrame:
    """One row per family and mix (the untuned reference first), one column per scope of ``cells['cell']``."""
    cells = cells.assign(_order=cells["proportion"].fillna(-1.0))
    wide = cells.pivot_table(index=["group", "_order", "mix"], columns="scope", values="cell", aggfunc="first")
    wide = wide.reindex(columns=[s for s in scopes if s in wide.columns]).reset_index().drop(columns="_order")
    return wide.fillna("–").rename(columns={"group": "family", "mix": "coding"})


def _tasks(doc: Document, task: pd.DataFrame, d_task: pd.DataFrame, figures: dict) -> None:
    doc.heading("Accuracy per task")
    doc.text("Accuracy per task and coding proportion; the best per task in **bold**.")
    labelled, shown = _with_labels(task), set()
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
        d = _with_labels(d_task)
        doc.table(pd.DataFrame({"family": d["group"], "coding": d["mix"], "task": d["scope"],
                                "Δ vs 0%": [f"{x:+.3f}" for x in d["delta"]],
                                "discordant b/c": [f"{b}/{c}" if n else "–"
                                                   for b, c, n in zip(d["b"], d["c"], d["n_pairs"])],
                                "p": [_p(p) for p in d["p_value"]],
                                "significant": ["yes" if s else "**n.s.**" for s in d["significant"]],
                                "MDE": [_mde_cell(m, a, s) for m, a, s in
                                        zip(d["mde"], d["mde_assumed"], d["significant"])]}))
        doc.end_details()


def _outputs(doc: Document, results: ResultSet, k: int) -> None:
    """What the models wrote: per trial the outputs' median length, the share with an extracted answer, the most
    common output; then, collapsed per trial, ``k`` sample outputs per task with the answer extracted and the gold."""
    from codemix.results.samples import output_samples

    per_trial, per_task, picked = output_samples(results, k)
    if per_trial.empty:
        return
    doc.heading("What the models wrote")
    shown = (f" Below, collapsed, {k} sample output(s) per trial and task (the first by question id, with at least "
             "one wrong and one right answer where the trial has them), each with the answer extracted and the gold."
             if k > 0 else "")
    doc.text("Per trial: the median output length, the share of outputs from which an answer was extracted and the "
             "most common output with its share — a model that answers the same short phrase to every question "
             "shows a short median and a large share." + shown)
    keys = ["sweep", "trial_key"]
    trials = _with_labels(per_trial.merge(results.trials[keys + analysis.CONDITION + ["seed"]], on=keys, how="left"))
    several = len(results.experiments) > 1
    doc.table(pd.DataFrame({**({"experiment": trials["sweep"]} if several else {}),
                            "family": trials["group"], "coding": trials["mix"], "seed": trials["seed"],
                            "outputs": trials["outputs"], "median chars": trials["median_chars"].map("{:.0f}".format),
                            "answer extracted": trials["extracted"].map("{:.0%}".format),
                            "accuracy": trials["accuracy"].map("{:.3f}".format),
                            "most common output": [_common(t, c, n) for t, c, n in
                                                   zip(trials["top_output"], trials["top_count"], trials["outputs"])]}))
    if k <= 0:
        return
    rank = {t: i for i, (t, _) in enumerate(analysis.task_order(results.scores))}
    for _, t in trials.iterrows():
        sweep_name = f"{t['sweep']} / " if several else ""
        doc.details(f"Samples: {sweep_name}{t['group']}, {t['mix']}, seed {t['seed']} ({t['trial_key']})")
        tasks = per_task[(per_task["sweep"] == t["sweep"]) & (per_task["trial_key"] == t["trial_key"])]
        tasks = tasks.sort_values("task", key=lambda s: s.map(lambda x: rank.get(x, len(rank))), kind="stable")
        mine = picked[(picked["sweep"] == t["sweep"]) & (picked["trial_key"] == t["trial_key"])]
        for _, task in tasks.iterrows():
            doc.text(f"**{task['task']}** ({task['domain']}): answer extracted from {task['extracted']:.0%} of "
                     f"{task['outputs']} outputs, median {task['median_chars']:.0f} characters, accuracy "
                     f"{task['accuracy']:.3f}.")
            for _, s in mine[mine["task"] == task["task"]].iterrows():
                doc.sample(str(s["example_id"]), _text_or_none(s["extracted"]), _text_or_none(s["gold"]),
                           bool(s["correct"]) if pd.notna(s["correct"]) else False, _text_or_none(s["output"]))
        doc.end_details()


def _common(text: str, count: int, n: int) -> str:
    """The most common output as a table cell: `The answer is 12.` (81%), or '– (all distinct)'."""
    if count < 2:
        return "– (all distinct)"
    shown = text if len(text) <= 60 else text[:57] + "…"
    return (f"`{shown.replace('`', chr(39))}`" if shown else "(empty)") + f" ({count / n:.0%})"


def _text_or_none(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _best(doc: Document, best_task: pd.DataFrame, best_domain: pd.DataFrame) -> None:
    doc.heading("Best coding proportion")
    doc.text("Per family, the proportion with the highest accuracy (ties: the lowest proportion, the others in "
             "brackets).")
    both = _with_labels(pd.concat([best_domain, best_task]).assign(proportion=0.0))
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


def _fits(doc: Document, fits: pd.DataFrame, figures: dict) -> None:
    if fits.empty:
        return
    doc.heading("Accuracy vs proportion: quadratic fits")
    doc.text("Where a family has at least five distinct proportions: accuracy ≈ a·p² + b·p + c (least squares over "
             "the mean accuracy per proportion); p* maximises the fit within the range run.")
    f = _with_labels(fits.assign(proportion=0.0))
    doc.table(pd.DataFrame({"family": f["group"], "scope": f["scope"], "points": f["n_points"],
                            "a": f["a"].map("{:+.3f}".format), "b": f["b"].map("{:+.3f}".format),
                            "c": f["c"].map("{:.3f}".format), "R²": f["r2"].map("{:.2f}".format),
                            "p*": f["optimum"].map(proportion_label),
                            "fitted max": f["optimum_accuracy"].map("{:.3f}".format),
                            "best observed": f["best_observed"].map(proportion_label)}))
    for key, path in figures.items():
        if key.startswith("fit/"):
            doc.image(path, f"{key[4:]}: accuracy vs proportion with the fitted optimum")


def _searched(e) -> bool:
    """A sweep whose points a searcher chose (successive halving has a section of its own: ``halving``)."""
    return e.searcher not in ("grid", "halving")


def _searches(doc: Document, results: ResultSet, out_dir: Path, n_boot: int, seed: int) -> None:
    """Per searched experiment: the path of the search and the fitted curve of its objective."""
    from codemix.results.layout import KNOWN_POINTS_FILE
    from codemix.storage import Store

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
            doc.image(search_path_figure(path, metric, out_dir / "figures" / f"search_{_slug(e.name)}.png"),
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
    f = _with_labels(fits.assign(proportion=0.0))
    doc.table(pd.DataFrame({"family": f["group"], "points": f["n_points"],
                            "p* [95% CI]": [f"{r.optimum:.0%} [{r.optimum_low:.0%}, {r.optimum_high:.0%}]"
                                            for r in f.itertuples()],
                            "fitted max [95% CI]": [f"{r.optimum_accuracy:.3f} [{r.optimum_accuracy_low:.3f}, "
                                                    f"{r.optimum_accuracy_high:.3f}]" for r in f.itertuples()],
                            "R²": f["r2"].map("{:.2f}".format),
                            "best observed": f["best_observed"].map(proportion_label)}))
    table = analysis.accuracy_table(results, level, n_boot=n_boot, seed=seed)
    for family in dict.fromkeys(fits["family"]):
        png = out_dir / "figures" / f"search_fit_{_slug(e.name)}_{_slug(family)}.png"
        doc.image(fit_figure(table, fits, family, png),
                  f"{e.name}: {metric} vs proportion, fitted optimum and its uncertainty")


def _failures(doc: Document, failed: pd.DataFrame) -> None:
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


# ----------------------------------------------------------------------------- entry point


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
    _configuration(doc, results)
    data_section(doc, results)  # the pool the mixes came from: counts, drops, classes, classifier accuracy
    notes = list(results.notes)
    if results.scores.empty:
        doc.heading("Results")
        doc.text("No finished trial has scores yet.")
    else:
        _method(doc, n_boot, alpha)
        progress("tables and bootstrap CIs")
        acc = {lvl: analysis.accuracy_table(results, lvl, n_boot=n_boot, seed=seed) for lvl in analysis.LEVELS}
        dl = {lvl: _with_mde(analysis.deltas(results, lvl, n_boot=n_boot, seed=seed, alpha=alpha), alpha)
              for lvl in analysis.LEVELS}
        du = {lvl: _with_mde(analysis.deltas(results, lvl, baseline="untuned", n_boot=n_boot, seed=seed,
                                             alpha=alpha), alpha)
              for lvl in ("overall", "domain")}
        progress("figures")
        figures = render_figures(results, out_dir / "figures", n_boot=n_boot, seed=seed)
        _overall(doc, acc["overall"], dl["overall"], figures, du["overall"])
        _domains(doc, acc["domain"], acc["overall"], dl["domain"], figures, du["domain"])
        _tasks(doc, acc["task"], dl["task"], figures)
        if not results.predictions.empty:
            progress("sample outputs")
            _outputs(doc, results, samples)
        _best(doc, analysis.best_proportions(results, "task"), analysis.best_proportions(results, "domain"))
        _fits(doc, pd.concat([analysis.fit_curves(results, lvl) for lvl in ("overall", "domain")]), figures)
        _searches(doc, results, out_dir, n_boot, seed)
        from codemix.results.optimum import optimum_section  # binomial fits of the best proportion
        optimum_section(doc, results)
        notes += _caveats(results, acc["overall"], dl["overall"])
    halving_section(doc, results)  # its rungs below full fidelity are in no table above
    surrogate_section(doc, results)  # interpolated models: in no table above either
    _failures(doc, results.failed)
    timing_section(doc, results.experiments)
    if notes:
        doc.heading("Notes")
        doc.bullets(notes)
    return doc


def _caveats(results: ResultSet, overall: pd.DataFrame, d_overall: pd.DataFrame) -> list[str]:
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
