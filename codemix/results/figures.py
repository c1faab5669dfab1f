"""The report's figures, as PNG files: matplotlib's object API (Agg canvas, no display, no pyplot state).

    paths = render_figures(load_results("runs/paper"), "report/figures")

Each function takes a table from :mod:`codemix.results.analysis` and writes one PNG atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from codemix.results import analysis
from codemix.results.cells import group_label, mix_label, proportion_label
from codemix.results.load import ResultSet
from codemix.storage import atomic_path

DPI = 130


def _mix_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in mix order: the untuned reference first, then by settings and proportion."""
    return table.sort_values(analysis.CONDITION[1:], na_position="first", kind="stable")


def _settings_vary(table: pd.DataFrame) -> list[str]:
    """The mix settings besides the proportion that take several values (and so must be named)."""
    return [c for c in ("code_language", "corruption") if c in table and table[c].nunique() > 1]


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return path


def _top(values) -> float:
    """An upper y limit leaving room above the bars/points (at least 0.1, at most 1.05)."""
    values = np.asarray(values, float)
    top = np.nanmax(values) if np.isfinite(values).any() else 0.0
    return float(min(1.05, max(0.1, top * 1.15 + 0.02)))


def _yerr(sub: pd.DataFrame) -> np.ndarray:
    lo = (sub["accuracy"] - sub["ci_low"]).clip(lower=0).fillna(0)
    hi = (sub["ci_high"] - sub["accuracy"]).clip(lower=0).fillna(0)
    return np.vstack([lo.to_numpy(), hi.to_numpy()])


def _note_if_flat(ax, values) -> None:
    values = np.asarray(values, float)
    if np.isfinite(values).any() and np.nanmax(values) == 0:
        ax.text(0.5, 0.55, "all accuracies are 0", transform=ax.transAxes, ha="center", color="0.4", fontsize=9)


def overall_bars(overall: pd.DataFrame, path: str | Path) -> Path:
    """Grouped bars: overall accuracy per family (groups) and mix (bars), with CI error bars."""
    vary = _settings_vary(overall)
    table = overall.assign(mix=[mix_label(r, vary) for _, r in overall.iterrows()])
    families = list(dict.fromkeys(table["family"]))
    mixes = list(dict.fromkeys(_mix_order(table)["mix"]))
    per_family = table.groupby("family", sort=False)["mix"].nunique()
    width = 0.8 / per_family.max()
    fig = Figure(figsize=(max(5.0, 2.2 + 0.32 * per_family.sum() + 0.5 * len(families)), 4.2))
    ax = fig.subplots()
    colors = {m: colormaps["viridis"](0.85 * i / max(len(mixes) - 1, 1)) for i, m in enumerate(mixes)}
    label_bars, drawn = len(table) <= 24, set()
    for g, family in enumerate(families):  # each family's own bars, centred on its tick
        sub = _mix_order(table[table["family"] == family]).reset_index(drop=True)
        x = g + (np.arange(len(sub)) - (len(sub) - 1) / 2) * width
        for xi, (_, row), err in zip(x, sub.iterrows(), _yerr(sub).T):
            ax.bar(xi, row["accuracy"], width * 0.92, yerr=err.reshape(2, 1), capsize=2.5, color=colors[row["mix"]],
                   label=None if row["mix"] in drawn else row["mix"], error_kw={"elinewidth": 0.8, "ecolor": "0.25"})
            drawn.add(row["mix"])
            if label_bars:
                top = max(row["accuracy"], row["ci_high"] if np.isfinite(row["ci_high"]) else 0)
                ax.text(xi, top + 0.01, f"{row['accuracy']:.2f}", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(range(len(families)), families)
    ax.set_ylim(0, _top(table["ci_high"].fillna(table["accuracy"])) + (0.08 if label_bars else 0))
    ax.set_ylabel("accuracy (mean over tasks)")
    ax.set_title("Overall accuracy per family and coding proportion (95% bootstrap CI)", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    by_label = dict(zip(labels, handles))
    ax.legend([by_label[m] for m in mixes], mixes, title="coding data", fontsize=8, title_fontsize=8,
              bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    _note_if_flat(ax, table["accuracy"])
    return _save(fig, path)


def domain_lines(domains: pd.DataFrame, path: str | Path) -> Path:
    """One panel per domain: accuracy vs coding proportion, a line (with CI band) per family; a family's
    untuned reference is a dashed horizontal line."""
    order = [d for d in analysis.DOMAIN_ORDER if d in set(domains["scope"])]
    order += sorted(set(domains["scope"]) - set(order))
    vary = _settings_vary(domains)
    table = domains.assign(group=[group_label(r, vary) for _, r in domains.iterrows()])
    groups = list(dict.fromkeys(table["group"]))
    proportions = sorted(table["proportion"].dropna().unique()) or [0.0, 1.0]
    fig = Figure(figsize=(3.6 * len(order) + 1.6, 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(order), sharey=True))
    cmap = colormaps["tab10"]
    for ax, domain in zip(axes, order):
        for j, group in enumerate(groups):
            sub = table[(table["scope"] == domain) & (table["group"] == group)].sort_values("proportion")
            color = cmap(j % 10)
            for _, ref in sub[sub["proportion"].isna()].iterrows():
                ax.axhline(ref["accuracy"], color=color, ls="--", lw=1, label=f"{group} untuned")
            sub = sub[sub["proportion"].notna()]
            if sub.empty:
                continue
            if len(sub) > 1:  # a line with its CI band
                ax.plot(sub["proportion"], sub["accuracy"], marker="o", ms=4, color=color, label=group, lw=1.5)
                ax.fill_between(sub["proportion"], sub["ci_low"], sub["ci_high"], color=color, alpha=0.1, lw=0)
            else:  # a single proportion: a point with error bars
                ax.errorbar(sub["proportion"], sub["accuracy"], yerr=_yerr(sub), fmt="o", ms=4, capsize=3,
                            color=color, label=group)
        ax.set_title(domain, fontsize=10)
        ax.set_xlabel("coding proportion")
        ticks = proportions if len(proportions) <= 6 else np.linspace(0, 1, 6)
        ax.set_xticks(ticks, [proportion_label(p) for p in ticks], fontsize=8)
        ax.set_xlim(min(proportions) - 0.06, max(proportions) + 0.06)
        ax.grid(alpha=0.3)
        _note_if_flat(ax, table.loc[table["scope"] == domain, "accuracy"])
    axes[0].set_ylabel("accuracy (mean over the domain's tasks)")
    axes[0].set_ylim(-0.02, _top(table["ci_high"].fillna(table["accuracy"])))  # points at 0 stay visible
    axes[-1].legend(title="family", fontsize=8, title_fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.suptitle("Accuracy per domain vs coding proportion (95% bootstrap CI)", fontsize=11, y=1.03)
    return _save(fig, path)


def task_heatmap(tasks: pd.DataFrame, family: str, path: str | Path, vmax: float | None = None) -> Path:
    """Task x mix heatmap of one family; the best mix per task is boxed."""
    sub = _mix_order(tasks[tasks["family"] == family])
    vary = _settings_vary(sub)
    sub = sub.assign(mix=[mix_label(r, vary) for _, r in sub.iterrows()])
    order = [t for t, _ in analysis.task_order(sub.rename(columns={"scope": "task"}))]
    mixes = list(dict.fromkeys(sub["mix"]))
    grid = sub.pivot_table(index="scope", columns="mix", values="accuracy", aggfunc="mean").reindex(
        index=order, columns=mixes)
    values = grid.to_numpy(float)
    vmax = vmax or _top(values) / 1.05
    fig = Figure(figsize=(2.4 + 0.75 * len(mixes), 0.9 + 0.38 * len(order)))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
    for i in range(values.shape[0]):
        row = values[i]
        best = np.nanmax(row) if np.isfinite(row).any() else np.nan
        for j, v in enumerate(row):
            if np.isnan(v):
                ax.text(j, i, "–", ha="center", va="center", fontsize=8, color="0.5")
                continue
            dark = v < 0.6 * vmax
            is_best = np.isclose(v, best) and best > 0
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
            if is_best:
                ax.add_patch(_box(j, i))
    domains = dict(sub[["scope", "domain"]].drop_duplicates().itertuples(index=False))
    ax.set_yticks(range(len(order)), [f"{t} ({domains[t]})" for t in order], fontsize=8)
    ax.set_xticks(range(len(mixes)), mixes, fontsize=8, rotation=0 if len(mixes) <= 6 else 45)
    for i in range(1, len(order)):  # a line between domains
        if domains[order[i]] != domains[order[i - 1]]:
            ax.axhline(i - 0.5, color="white", lw=2)
    ax.set_xlabel("coding proportion")
    ax.set_title(f"{family}: accuracy per task (best per task boxed)", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03, label="accuracy")
    return _save(fig, path)


def _box(j: int, i: int):
    return Rectangle((j - 0.48, i - 0.48), 0.96, 0.96, fill=False, edgecolor="#ff4d4d", lw=1.6)


def fit_figure(table: pd.DataFrame, fits: pd.DataFrame, family: str, path: str | Path) -> Path:
    """Accuracy vs proportion with the fitted quadratic and its optimum, one panel per fitted scope."""
    fits = fits[fits["family"] == family]
    scopes = list(dict.fromkeys(fits["scope"]))
    vary = _settings_vary(fits)
    fig = Figure(figsize=(3.7 * len(scopes) + 0.6, 3.7))
    axes = np.atleast_1d(fig.subplots(1, len(scopes), sharey=True))
    cmap = colormaps["tab10"]
    for ax, scope in zip(axes, scopes):
        for j, (_, fit) in enumerate(fits[fits["scope"] == scope].iterrows()):
            mask = np.logical_and.reduce([table[c] == fit[c] for c in analysis.GROUP] + [table["scope"] == scope])
            pts = table[mask & table["proportion"].notna()].sort_values("proportion")
            color = cmap(j % 10)
            name = group_label(fit, vary) if vary else "mean"
            ax.errorbar(pts["proportion"], pts["accuracy"], yerr=_yerr(pts), fmt="o", ms=4, capsize=2.5,
                        color=color, label=f"{name} (95% CI)")
            x = np.linspace(pts["proportion"].min(), pts["proportion"].max(), 200)
            ax.plot(x, np.polyval([fit["a"], fit["b"], fit["c"]], x), color=color, lw=1.4,
                    label=f"quadratic fit, R²={fit['r2']:.2f}" if np.isfinite(fit["r2"]) else "quadratic fit")
            ax.axvline(fit["optimum"], color=color, ls="--", lw=0.9)
            draws = fit.get("coef_draws")
            if draws is not None and not (isinstance(draws, float) and np.isnan(draws)):  # bootstrap refits
                curves = np.asarray(draws)[:, :1] * x ** 2 + np.asarray(draws)[:, 1:2] * x + np.asarray(draws)[:, 2:]
                ax.fill_between(x, *np.quantile(curves, [0.025, 0.975], axis=0), color=color, alpha=0.12, lw=0,
                                label="fit, 95% bootstrap band")
                ax.axvspan(fit["optimum_low"], fit["optimum_high"], color="#ff4d4d", alpha=0.1, lw=0,
                           label=f"p* 95% CI [{fit['optimum_low']:.2f}, {fit['optimum_high']:.2f}]")
            ax.plot([fit["optimum"]], [fit["optimum_accuracy"]], marker="*", ms=13, color="#ff4d4d",
                    markeredgecolor="black", zorder=5, label=f"optimum p*={fit['optimum']:.2f}")
        ax.set_title(scope, fontsize=10)
        ax.set_xlabel("coding proportion")
        ax.set_xlim(-0.04, 1.04)
        ticks = np.linspace(0, 1, 6)
        ax.set_xticks(ticks, [proportion_label(p) for p in ticks], fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[0].set_ylabel("accuracy (mean over tasks)")
    sel = table[(table["family"] == family) & table["scope"].isin(scopes)]
    axes[0].set_ylim(-0.02, _top(pd.concat([sel["ci_high"].fillna(sel["accuracy"]), fits["optimum_accuracy"]])))
    fig.suptitle(f"{family}: accuracy vs coding proportion, quadratic fit and its optimum", fontsize=11, y=1.03)
    return _save(fig, path)


def search_path_figure(path_table: pd.DataFrame, metric: str, path: str | Path) -> Path:
    """Two panels over the search's steps: the proportion tried, and the objective with the best so far.

    ``path_table`` is :func:`codemix.results.analysis.search_path`; known points sit at step 0.
    """
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    ax_p, ax_o = fig.subplots(1, 2)
    known, searched = path_table[path_table["source"] == "known"], path_table[path_table["source"] == "searched"]
    ok = searched[searched["objective"].notna()]
    failed = searched[searched["objective"].isna()]
    ax_p.plot(searched["step"], searched["proportion"], color="0.6", lw=0.8, zorder=1)
    if not known.empty:
        ax_p.scatter(known["step"], known["proportion"], marker="s", color="0.45", label="known (fed first)", zorder=2)
    points = ax_p.scatter(ok["step"], ok["proportion"], c=ok["objective"], cmap="viridis", zorder=3, label="searched")
    if not failed.empty:
        ax_p.scatter(failed["step"], failed["proportion"], marker="x", color="#d62728", label="failed", zorder=3)
    if len(ok):
        fig.colorbar(points, ax=ax_p, fraction=0.05, pad=0.03, label=metric)
    ax_p.set_ylim(-0.04, 1.04)
    ax_p.set_yticks(np.linspace(0, 1, 6), [proportion_label(p) for p in np.linspace(0, 1, 6)], fontsize=8)
    ax_p.set_xlabel("step (0 = known points)")
    ax_p.set_ylabel("coding proportion tried")
    ax_p.legend(fontsize=7, loc="best")
    ax_o.scatter(path_table["step"], path_table["objective"], color="#1f77b4", s=18, label="objective")
    ax_o.step(path_table["step"], path_table["best_so_far"], where="post", color="#ff7f0e", label="best so far")
    ax_o.set_xlabel("step (0 = known points)")
    ax_o.set_ylabel(metric)
    ax_o.set_ylim(-0.02, _top(path_table["objective"]))
    ax_o.legend(fontsize=7, loc="lower right")
    for ax in (ax_p, ax_o):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    _note_if_flat(ax_o, path_table["objective"])
    fig.suptitle(f"Search path: proportions tried and {metric}", fontsize=11)
    return _save(fig, path)


def slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def render_figures(results: ResultSet, out_dir: str | Path, *, n_boot: int = 2000, seed: int = 0,
                   min_fit_points: int = 5) -> dict[str, Path]:
    """Write every figure for a result set under ``out_dir``; returns {name: path} (none without scores)."""
    out_dir = Path(out_dir)
    if results.scores.empty:
        return {}
    tables = {level: analysis.accuracy_table(results, level, n_boot=n_boot, seed=seed) for level in analysis.LEVELS}
    paths = {"overall": overall_bars(tables["overall"], out_dir / "overall.png"),
             "domains": domain_lines(tables["domain"], out_dir / "domains.png")}
    vmax = _top(tables["task"]["accuracy"]) / 1.05
    for family in dict.fromkeys(tables["task"]["family"]):
        paths[f"heatmap/{family}"] = task_heatmap(tables["task"], family, out_dir / f"heatmap_{slug(family)}.png",
                                                  vmax)
    fits = pd.concat([analysis.fit_curves(results, level, min_points=min_fit_points)
                      for level in ("overall", "domain")])
    both = pd.concat([tables["overall"], tables["domain"]])
    for family in dict.fromkeys(fits["family"]):
        paths[f"fit/{family}"] = fit_figure(both, fits, family, out_dir / f"fit_{slug(family)}.png")
    return paths
