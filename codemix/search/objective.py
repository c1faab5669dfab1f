"""The objective of a searched sweep: the metric language, the number a searcher maximises, and what a trial
reports to Tune.

``search.metric`` is ``overall``, ``domain:<name>`` or ``task:<name>``: the mean of the task accuracies in that
scope. A trial reports to Tune once, when it has finished (``trial_summary``): the objective under ``OBJECTIVE``,
and per task its accuracy with the counts behind it, which the search policies read back (``trial_counts``).
"""

from __future__ import annotations

from collections.abc import Iterable

from codemix.eval import get_task, resolve_suite
from codemix.spec import SpecError, SweepSpec

OBJECTIVE = "score"  # the key of the objective in a trial's final Tune result


def parse_metric(metric: str) -> tuple[str, str]:
    """``'domain:symbolic'`` -> ``('domain', 'symbolic')``; ``'overall'`` -> ``('overall', '')``."""
    kind, _, name = metric.partition(":")
    return kind, name


def metric_scope(metric: str) -> tuple[str, str]:
    """A metric as (level, scope) of the accuracy tables: 'domain:symbolic' -> ('domain', 'symbolic'),
    'overall' -> ('overall', 'overall')."""
    kind, name = parse_metric(metric)
    return ("overall", "overall") if kind == "overall" else (kind, name)


def in_scope(metric: str, task: str, domain: str | None) -> bool:
    """Whether a task (of ``domain``) counts towards ``metric``."""
    kind, name = parse_metric(metric)
    return kind == "overall" or (kind == "domain" and domain == name) or (kind == "task" and task == name)


def search_score(scores: Iterable[dict], metric: str) -> float:
    """The number a searcher maximises: the mean of the task accuracies of ``metric``'s scope (score rows: one per
    task, with ``task``, ``domain`` and ``accuracy``)."""
    picked = [s["accuracy"] for s in scores if in_scope(metric, s["task"], s["domain"])]
    if not picked:
        raise ValueError(f"search.metric {metric!r} matches no evaluated task")
    return sum(picked) / len(picked)


def check_metric(spec: SweepSpec) -> None:
    """Raise SpecError before any compute when ``search.metric`` names no task or domain of the eval suite."""
    kind, name = parse_metric(spec.search.metric)
    if kind == "overall":
        return
    try:
        tasks = {t: get_task(t).domain for t in resolve_suite(spec.eval.suite)}
    except (KeyError, ValueError, FileNotFoundError):
        return  # an unknown suite is reported by the evaluation stage with its own message
    known = set(tasks.values()) if kind == "domain" else set(tasks)
    if name not in known:
        raise SpecError(f"search.metric {spec.search.metric!r}: no {kind} {name!r} in eval.suite "
                        f"{spec.eval.suite!r}; known: {', '.join(sorted(known))}")


def scope_tasks(spec: SweepSpec) -> list[str]:
    """The eval suite's tasks that ``search.metric`` averages over."""
    kind, _ = parse_metric(spec.search.metric)
    return [t for t in resolve_suite(spec.eval.suite)
            if in_scope(spec.search.metric, t, get_task(t).domain if kind == "domain" else None)]


# ----------------------------------------------------------------------------- what a trial reports to Tune


def trial_summary(trial: dict, scores: list[dict], metric: str) -> dict:
    """What a finished trial reports to Tune, once: the objective (``OBJECTIVE``), its trials row's overall
    accuracy, training loss and stage states, per task the accuracy (``task/<t>``) and the counts behind it
    (``n/<t>``, ``correct/<t>``: the search policies fit those), per domain the accuracy (``domain/<d>``)."""
    out = {OBJECTIVE: search_score(scores, metric), "overall_accuracy": trial["overall_accuracy"],
           "train_loss": trial["train_loss"], "stages": trial["stages"]}
    for s in scores:
        out[f"task/{s['task']}"] = s["accuracy"]
        out[f"n/{s['task']}"], out[f"correct/{s['task']}"] = s["n"], s["n_correct"]
    for domain in sorted({s["domain"] for s in scores}):
        out[f"domain/{domain}"] = search_score(scores, f"domain:{domain}")
    return out


def trial_counts(result: dict, tasks: list[str], limit: int | None) -> dict[str, tuple[int, int]]:
    """(correct, n) per task of the scope from a trial's final Tune result (``trial_summary``). Without the
    counts, n is ``limit`` (eval.limit) and the count accuracy x n (exact when every task has ``limit``
    examples)."""
    out = {}
    for t in tasks:
        if f"correct/{t}" in result and f"n/{t}" in result:
            out[t] = (int(result[f"correct/{t}"]), int(result[f"n/{t}"]))
        elif f"task/{t}" in result:
            if limit is None:
                raise ValueError(f"the trial result has task/{t} but no n/{t}, and eval.limit is not set, so the "
                                 "number of examples is unknown")
            out[t] = (int(round(result[f"task/{t}"] * limit)), limit)
    return out


def score_counts(scores: list[dict], tasks: list[str]) -> dict[str, tuple[int, int]]:
    """(correct, n) per task of the scope from a trial's score rows."""
    return {s["task"]: (int(s["n_correct"]), int(s["n"])) for s in scores if s["task"] in tasks}
