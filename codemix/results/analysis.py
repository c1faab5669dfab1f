"""Accuracy tables, deltas against the 0% (General) mix, best proportions, significance, curve fits.

Conventions (those of the paper, which averages task accuracies):

- a *task* accuracy is ``n_correct / n`` of one trial, averaged over seeds when a mix has several;
- a *domain* accuracy is the mean of its tasks' accuracies, the *overall* accuracy the mean over
  all tasks: means over tasks, not over examples (a 1000-example task weighs as a 100-example one);
- a *mix* is (family, code_language, corruption, proportion) — the columns in ``CONDITION``; the
  family's *untuned reference* (its starting model, evaluated without fine-tuning) is the mix whose
  proportion is null (NaN in pandas), and ``deltas(..., baseline="untuned")`` compares with it;
- confidence intervals are seeded percentile bootstraps: examples are resampled with replacement
  within each (trial, task) — a Binomial(n, k/n) draw, so the scores level suffices — after the
  seeds themselves are resampled when a mix has several (a two-level bootstrap);
- a delta's CI comes from the two mixes' independent bootstraps (unpaired, so conservative); its
  p-value from McNemar's test on per-example correctness paired by (seed, task, example_id) and
  pooled over the tasks in scope: exact binomial below 25 discordant pairs, chi-square with
  continuity correction above. Without the predictions level the CI alone decides significance.
"""

from __future__ import annotations

import math
import warnings
import zlib
from dataclasses import dataclass
from itertools import combinations, groupby

import numpy as np
import pandas as pd

from codemix.results.load import ResultSet
from codemix.search import search_score

CONDITION = ["family", "code_language", "corruption", "proportion"]
GROUP = CONDITION[:-1]  # a family's mix settings other than the proportion: proportions are compared within
DOMAIN_ORDER = ("symbolic", "logical", "arithmetic")
LEVELS = ("overall", "domain", "task")
EXACT_BELOW = 25  # McNemar: exact binomial test below this many discordant pairs
UNTUNED = float("nan")  # the proportion of the untuned reference in condition tuples (always this one object)


# ----------------------------------------------------------------------------- helpers


def _scores(results: ResultSet | pd.DataFrame) -> pd.DataFrame:
    return results.scores if isinstance(results, ResultSet) else results


def task_order(scores: pd.DataFrame) -> list[tuple[str, str]]:
    """(task, domain) pairs, domains in the paper's order (symbolic, logical, arithmetic), tasks by name."""
    pairs = scores[["task", "domain"]].drop_duplicates().itertuples(index=False)
    rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    return sorted(((t, d) for t, d in pairs), key=lambda td: (rank.get(td[1], len(rank)), td[1], td[0]))


def _scopes(tasks: list[tuple[str, str]], level: str) -> dict[str, tuple[str, list[int]]]:
    """Scope name -> (domain, indices of its tasks) for one level."""
    if level == "task":
        return {t: (d, [i]) for i, (t, d) in enumerate(tasks)}
    if level == "domain":
        domains = dict.fromkeys(d for _, d in tasks)
        return {d: (d, [i for i, (_, d2) in enumerate(tasks) if d2 == d]) for d in domains}
    if level == "overall":
        return {"overall": ("", list(range(len(tasks))))}
    raise ValueError(f"level must be one of {LEVELS}, not {level!r}")


def is_untuned(proportion) -> bool:
    """Whether a proportion value marks the untuned reference (null / NaN)."""
    return proportion is None or (isinstance(proportion, float) and math.isnan(proportion))


def _cond(cond: tuple) -> tuple:
    """A condition tuple whose untuned proportion is the one ``UNTUNED`` object, so it works as a dict key."""
    return (*cond[:3], UNTUNED if is_untuned(cond[3]) else float(cond[3]))


def _conditions(frame: pd.DataFrame, sort: bool):
    """(condition, rows) per mix, the untuned reference included."""
    for cond, sub in frame.groupby(CONDITION, sort=sort, dropna=False):
        yield _cond(cond), sub


def _cond_key(cond: tuple) -> str:
    family, language, corruption, proportion = cond
    return f"{family}|{language}|{float(corruption):g}|{float(proportion):g}"


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (a task absent) stay NaN
        return np.nanmean(a, axis=axis)


@dataclass
class _Mix:
    """One mix's task accuracies (point and bootstrap draws) over the global task order."""

    point: np.ndarray  # (T,) mean over seeds; NaN where the task was not evaluated
    samples: np.ndarray  # (n_boot, T)
    n: np.ndarray  # (T,) examples, summed over seeds
    n_seeds: int


def _mixes(scores: pd.DataFrame, tasks: list[tuple[str, str]], n_boot: int, seed: int) -> dict[tuple, _Mix]:
    """Bootstrap every mix once: seeds resampled (when several), then examples (binomial draws)."""
    names = [t for t, _ in tasks]
    out = {}
    for cond, sub in _conditions(scores, sort=True):
        per = sub.groupby(["seed", "task"]).agg(accuracy=("accuracy", "mean"), n=("n", "sum"))
        acc = per["accuracy"].unstack().reindex(columns=names).to_numpy(float)  # (S, T)
        n = per["n"].unstack().reindex(columns=names).fillna(0).to_numpy(int)
        rng = np.random.default_rng([seed, zlib.crc32(_cond_key(cond).encode())])
        s = acc.shape[0]
        idx = rng.integers(0, s, size=(n_boot, s)) if s > 1 else np.zeros((n_boot, 1), int)
        nb, ab = n[idx], acc[idx]  # (B, S, T)
        draws = rng.binomial(nb, np.clip(np.nan_to_num(ab), 0, 1)) / np.maximum(nb, 1)
        draws = np.where(nb > 0, draws, ab)  # n unknown: the accuracy as it is; task absent: NaN
        out[cond] = _Mix(point=_nanmean(acc, 0), samples=_nanmean(draws, 1), n=n.sum(0), n_seeds=s)
    return out


# ----------------------------------------------------------------------------- tables


def accuracy_table(results: ResultSet | pd.DataFrame, level: str = "overall", *, n_boot: int = 2000,
                   seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Long table: one row per mix x scope (the tasks, domains or "overall") with a bootstrap CI.

    Columns: family, code_language, corruption, proportion, scope, domain, accuracy, ci_low,
    ci_high, n (examples over seeds and tasks), n_tasks, n_seeds. ``n_boot=0`` skips the CI.
    """
    scores = _scores(results)
    tasks = task_order(scores)
    lo, hi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    rows = []
    for cond, mix in _mixes(scores, tasks, max(n_boot, 1), seed).items():
        for scope, (domain, idx) in _scopes(tasks, level).items():
            point = mix.point[idx]
            if np.isnan(point).all():
                continue
            ci = (np.nanquantile(_nanmean(mix.samples[:, idx], 1), [lo, hi]) if n_boot else [np.nan, np.nan])
            rows.append({**dict(zip(CONDITION, cond)), "scope": scope, "domain": domain,
                         "accuracy": float(np.nanmean(point)), "ci_low": float(ci[0]), "ci_high": float(ci[1]),
                         "n": int(mix.n[idx].sum()), "n_tasks": int((~np.isnan(point)).sum()),
                         "n_seeds": mix.n_seeds})
    cols = CONDITION + ["scope", "domain", "accuracy", "ci_low", "ci_high", "n", "n_tasks", "n_seeds"]
    return pd.DataFrame(rows, columns=cols)


def mcnemar(b: int, c: int) -> tuple[float, str]:
    """Two-sided McNemar p-value from the discordant counts: (p, "exact" | "chi2").

    ``b``: pairs right under A and wrong under B; ``c``: the reverse. Exact binomial test
    (p = 2 P[X <= min(b, c)], X ~ Bin(b + c, 1/2)) below ``EXACT_BELOW`` discordant pairs,
    else chi-square with 1 dof on (|b - c| - 1)^2 / (b + c).
    """
    n = b + c
    if n == 0:
        return 1.0, "exact"
    if n < EXACT_BELOW:
        tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
        return min(1.0, 2 * tail), "exact"
    stat = max(abs(b - c) - 1, 0) ** 2 / n
    return math.erfc(math.sqrt(stat / 2)), "chi2"


PAIR = ["seed", "task", "example_id"]  # what makes two predictions of different mixes a pair


def _by_mix(predictions: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """Each mix's predictions (columns PAIR + correct), one row per example."""
    return {cond: sub[PAIR + ["correct"]].drop_duplicates(PAIR)
            for cond, sub in _conditions(predictions, sort=False)}


def _paired(by_mix: dict[tuple, pd.DataFrame], a: tuple, b: tuple) -> pd.DataFrame:
    """Examples evaluated under both mixes: columns seed, task, example_id, correct_a, correct_b."""
    if a not in by_mix or b not in by_mix:
        return pd.DataFrame(columns=PAIR + ["correct_a", "correct_b"])
    return by_mix[a].merge(by_mix[b], on=PAIR, suffixes=("_a", "_b"))


def _discordant(pairs: pd.DataFrame) -> tuple[int, int]:
    a, b = pairs["correct_a"].fillna(False).astype(bool), pairs["correct_b"].fillna(False).astype(bool)
    return int((a & ~b).sum()), int((~a & b).sum())


def discordance_by_task(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per task, the questions paired and the discordant pairs of the report's comparisons among these predictions:
    each mix against the 0% mix of its family and settings (every two proportions where none was run), paired as
    ``deltas`` pairs them; summed over the comparisons. Columns: task, n_pairs, discordant. The untuned
    reference is left out (the plan's power forecast reads earlier trials' disagreement here)."""
    by_mix = _by_mix(predictions[predictions["proportion"].notna()])
    counts = []
    for _, group in groupby(sorted(by_mix, key=lambda cond: (cond[:3], cond[3])), key=lambda cond: cond[:3]):
        conds = list(group)
        base = next((c for c in conds if c[3] == 0.0), None)
        for a, b in ([(c, base) for c in conds if c != base] if base else combinations(conds, 2)):
            pairs = _paired(by_mix, a, b)
            counts.append(pairs.assign(discordant=pairs["correct_a"].fillna(False).astype(bool)
                                       != pairs["correct_b"].fillna(False).astype(bool)))
    if not counts:
        return pd.DataFrame(columns=["task", "n_pairs", "discordant"])
    both = pd.concat(counts, ignore_index=True)
    return both.groupby("task").agg(n_pairs=("discordant", "size"), discordant=("discordant", "sum")).reset_index()


def compare(results: ResultSet, family: str, a: float, b: float, *, task: str | None = None,
            domain: str | None = None, code_language: str = "any", corruption: float = 0.0) -> dict:
    """Paired McNemar test between proportions ``a`` and ``b`` of one family (all tasks unless narrowed).

    Returns n_pairs, b (right under ``a`` only), c (right under ``b`` only), p_value and method
    ("exact" / "chi2"); p_value is NaN when no example was evaluated under both mixes.
    """
    a, b = (_cond((family, code_language, float(corruption), None if is_untuned(x) else round(x, 6))) for x in (a, b))
    pairs = _paired(_by_mix(results.predictions), a, b)
    if task is not None:
        pairs = pairs[pairs["task"] == task]
    if domain is not None:
        tasks = set(results.scores.loc[results.scores["domain"] == domain, "task"])
        pairs = pairs[pairs["task"].isin(tasks)]
    nb, nc = _discordant(pairs)
    p, method = mcnemar(nb, nc) if len(pairs) else (float("nan"), "none")
    return {"n_pairs": len(pairs), "b": nb, "c": nc, "p_value": p, "method": method}


def deltas(results: ResultSet, level: str = "overall", *, baseline: float | str = 0.0, n_boot: int = 2000,
           seed: int = 0, confidence: float = 0.95, alpha: float = 0.05) -> pd.DataFrame:
    """Each mix against the same family's ``baseline``: a proportion (0 = the General mix) or
    ``"untuned"`` (the family's starting model, where the sweep evaluated it), per scope.

    Columns: the mix, scope, domain, accuracy, baseline_accuracy, delta, ci_low/ci_high (of the
    delta), n_pairs, b, c, p_value, test ("mcnemar-exact" | "mcnemar-chi2" | "bootstrap") and
    significant (p < alpha, or the CI excludes 0 when no paired predictions exist).
    """
    scores = results.scores
    tasks = task_order(scores)
    mixes = _mixes(scores, tasks, max(n_boot, 1), seed)
    by_mix = _by_mix(results.predictions)
    lo, hi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    untuned_base = baseline == "untuned"
    rows = []
    for cond, mix in mixes.items():
        if is_untuned(cond[3]) or (not untuned_base and np.isclose(cond[3], baseline)):
            continue
        if untuned_base:  # one reference per family, whatever the mix settings
            base = next((c for c in mixes if c[0] == cond[0] and is_untuned(c[3])), None)
        else:
            same = (*cond[:3], float(baseline))
            base = same if same in mixes else next(
                (c for c in mixes if c[0] == cond[0] and not is_untuned(c[3]) and np.isclose(c[3], baseline)), None)
        if base is None:
            continue
        pairs = _paired(by_mix, cond, base)
        for scope, (domain, idx) in _scopes(tasks, level).items():
            acc, base_acc = float(_nanmean(mix.point[idx], 0)), float(_nanmean(mixes[base].point[idx], 0))
            if np.isnan(acc) or np.isnan(base_acc):
                continue
            diff = _nanmean(mix.samples[:, idx], 1) - _nanmean(mixes[base].samples[:, idx], 1)
            ci = np.nanquantile(diff, [lo, hi]) if n_boot else [np.nan, np.nan]
            here = pairs[pairs["task"].isin([tasks[i][0] for i in idx])]
            nb, nc = _discordant(here)
            if len(here):
                p, method = mcnemar(nb, nc)
                test, significant = f"mcnemar-{method}", p < alpha
            else:
                p, test = float("nan"), "bootstrap"
                significant = bool(n_boot) and (ci[0] > 0 or ci[1] < 0)
            rows.append({**dict(zip(CONDITION, cond)), "scope": scope, "domain": domain, "accuracy": acc,
                         "baseline_accuracy": base_acc, "delta": acc - base_acc,
                         "ci_low": float(ci[0]), "ci_high": float(ci[1]),
                         "n_pairs": len(here), "b": nb, "c": nc, "p_value": p, "test": test,
                         "significant": bool(significant)})
    cols = CONDITION + ["scope", "domain", "accuracy", "baseline_accuracy", "delta", "ci_low", "ci_high", "n_pairs",
                        "b", "c", "p_value", "test", "significant"]
    return pd.DataFrame(rows, columns=cols)


def best_proportions(results: ResultSet | pd.DataFrame, level: str = "task", *, tol: float = 1e-9) -> pd.DataFrame:
    """The proportion with the highest accuracy per family (and mix settings) and scope.

    Ties go to the lowest proportion; ``tied_with`` lists the others that reach the same accuracy.
    Columns: family, code_language, corruption, scope, domain, best_proportion, accuracy,
    tied_with, n_proportions.
    """
    table = accuracy_table(results, level, n_boot=0)
    table = table[table["proportion"].notna()]  # the untuned reference is not a proportion
    rows = []
    for key, sub in table.groupby(GROUP + ["scope"], sort=False):
        sub = sub.sort_values("proportion")
        top = sub["accuracy"].max()
        best = sub[sub["accuracy"] >= top - tol]["proportion"].tolist()
        rows.append({**dict(zip(GROUP + ["scope"], key)), "domain": sub["domain"].iloc[0],
                     "best_proportion": best[0], "accuracy": top,
                     "tied_with": ", ".join(f"{p:g}" for p in best[1:]), "n_proportions": len(sub)})
    cols = GROUP + ["scope", "domain", "best_proportion", "accuracy", "tied_with", "n_proportions"]
    return pd.DataFrame(rows, columns=cols)


def _quadratic_max(coef: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Argmax and max of quadratics within [lo, hi]; ``coef`` is (3,) or (3, B): (a, b, c) per column."""
    a, b, c = np.asarray(coef, float).reshape(3, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(a < 0, -b / (2 * a), lo)
    vertex = np.where((vertex >= lo - 1e-12) & (vertex <= hi + 1e-12), vertex, lo)
    candidates = np.stack([np.full_like(a, lo), np.full_like(a, hi), vertex])  # (3, B)
    values = a * candidates ** 2 + b * candidates + c
    best = np.argmax(values, axis=0)  # ties: the lower end first, as listed
    cols = np.arange(a.size)
    return candidates[best, cols], values[best, cols]


def fit_curves(results: ResultSet | pd.DataFrame, level: str = "overall", *, min_points: int = 5, n_boot: int = 0,
               seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Quadratic fit of accuracy vs proportion where a family has ``min_points`` distinct proportions.

    accuracy ~ a p^2 + b p + c, least squares over the mean accuracy at each proportion; ``optimum``
    maximises the fit within the range of proportions run (inside [0, 1]). Columns: family,
    code_language, corruption, scope, domain, n_points, a, b, c, r2, optimum, optimum_accuracy,
    best_observed. With ``n_boot`` the fit is repeated on each bootstrap draw of the accuracies
    (the same draws as ``accuracy_table``'s CIs): ``optimum_low/high`` and
    ``optimum_accuracy_low/high`` are percentile intervals, ``coef_draws`` the (n_boot, 3) refits.
    """
    table = accuracy_table(results, level, n_boot=0)
    table = table[table["proportion"].notna()]
    if n_boot:
        scores = _scores(results)
        tasks = task_order(scores)
        mixes, scopes = _mixes(scores, tasks, n_boot, seed), _scopes(tasks, level)
    q = [(1 - confidence) / 2, 1 - (1 - confidence) / 2]
    rows = []
    for key, sub in table.groupby(GROUP + ["scope"], sort=False):
        if sub["proportion"].nunique() < min_points:
            continue
        x, y = sub["proportion"].to_numpy(float), sub["accuracy"].to_numpy(float)
        coef = np.polyfit(x, y, 2)
        lo, hi = max(0.0, x.min()), min(1.0, x.max())
        optimum, optimum_accuracy = (float(v[0]) for v in _quadratic_max(coef, lo, hi))
        ss_tot = ((y - y.mean()) ** 2).sum()
        r2 = 1 - ((y - np.polyval(coef, x)) ** 2).sum() / ss_tot if ss_tot > 0 else float("nan")
        row = {**dict(zip(GROUP + ["scope"], key)), "domain": sub["domain"].iloc[0], "n_points": len(sub),
               "a": coef[0], "b": coef[1], "c": coef[2], "r2": r2, "optimum": optimum,
               "optimum_accuracy": optimum_accuracy, "best_observed": float(x[np.argmax(y)]),
               "optimum_low": np.nan, "optimum_high": np.nan, "optimum_accuracy_low": np.nan,
               "optimum_accuracy_high": np.nan, "coef_draws": None}
        if n_boot:
            idx = scopes[key[-1]][1]
            draws = np.stack([_nanmean(mixes[tuple(r[c] for c in CONDITION)].samples[:, idx], 1)
                              for _, r in sub.iterrows()])  # (points, n_boot)
            coefs = np.polyfit(x, draws, 2)  # (3, n_boot)
            p_draws, y_draws = _quadratic_max(coefs, lo, hi)
            (row["optimum_low"], row["optimum_high"]), (row["optimum_accuracy_low"], row["optimum_accuracy_high"]) = (
                np.quantile(p_draws, q), np.quantile(y_draws, q))
            row["coef_draws"] = coefs.T
        rows.append(row)
    cols = GROUP + ["scope", "domain", "n_points", "a", "b", "c", "r2", "optimum", "optimum_accuracy", "best_observed",
                    "optimum_low", "optimum_high", "optimum_accuracy_low", "optimum_accuracy_high", "coef_draws"]
    return pd.DataFrame(rows, columns=cols)


# ----------------------------------------------------------------------------- searched sweeps


def search_path(results: ResultSet, metric: str, known: list[dict] = ()) -> pd.DataFrame:
    """The path of a searched sweep: the known points it started from, then its trials in the order they started.

    ``results`` is the searched experiment alone; ``known`` the points it was fed (its
    ``search/known_points.json``). Columns: step (0 for known points), source ("known" | "searched"),
    sweep, trial_key, family, proportion, seed, code_language, corruption, status, objective (the
    search metric, as the searcher saw it; NaN for a failed trial) and best_so_far.
    """
    cols = ["step", "source", "sweep", "trial_key", "family", "proportion", "seed", "code_language", "corruption",
            "status", "objective", "best_so_far"]
    own = set(results.trials["trial_key"])  # a restart that lost Tune's state fed the sweep's own trials too
    rows = [{"step": 0, "source": "known", "sweep": k["sweep"], "trial_key": k["trial_key"], **k["config"],
             "status": "ok", "objective": k["objective"]} for k in known if k["trial_key"] not in own]
    objectives = {key: search_score(sub.to_dict("records"), metric)
                  for key, sub in results.scores.groupby("trial_key", sort=False)}
    trials = results.trials.sort_values(["started_at", "finished_at", "trial_key"], kind="stable")
    for step, (_, t) in enumerate(trials.iterrows(), start=1):
        rows.append({"step": step, "source": "searched", **{c: t[c] for c in cols[2:10]},
                     "objective": objectives.get(t["trial_key"], np.nan) if t["status"] == "ok" else np.nan})
    path = pd.DataFrame(rows, columns=cols)
    path["best_so_far"] = path["objective"].astype(float).cummax().ffill()
    return path
