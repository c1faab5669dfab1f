"""Searched sweeps: the Tune searchers a spec may name, the objective they maximise, and warm starts.

A sweep whose ``search.searcher`` is not ``grid`` hands the choice of points to a Ray Tune
searcher. Three rules make that work end to end:

- a trial reports to Tune once, when it has finished, with the objective (``OBJECTIVE``): its
  training progress is not forwarded (see ``trial.train_model``), so no result without the metric
  reaches Tune or the searcher; a trial that raises is reported to the searcher as failed;
- before the search starts, every finished trial in the same storage whose stages this spec would
  reproduce (same data, model, training and evaluation config; any point of the search space) is
  fed to the searcher as a known evaluation (``warmstart.start_search``), at no compute cost;
- on resume the searcher's own saved state (``Tuner.restore``) carries on; nothing is fed twice.

A new searcher is one ``@register_searcher("name")`` factory (``codemix.searchers``).
"""

from __future__ import annotations

from codemix.config import SpecError, SweepSpec
from codemix.results import results_key
from codemix.searchers import SEARCHERS, Known, register_searcher  # noqa: F401  (re-exported for extensions)

OBJECTIVE = "score"  # the key of the objective in a trial's final Tune result


def is_searched(spec: SweepSpec) -> bool:
    """True when a searcher, not the grid, chooses the trials."""
    return spec.search.searcher != "grid"


# ----------------------------------------------------------------------------- the objective


def check_metric(spec: SweepSpec) -> None:
    """Raise SpecError before any compute when ``search.metric`` names no task of the eval suite."""
    from codemix.eval import get_task, resolve_suite

    kind, _, name = spec.search.metric.partition(":")
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


def build_searcher(spec: SweepSpec, start):
    """The Tune searcher named by the spec, with the known points of ``start`` (a ``warmstart.SearchStart``)
    already evaluated (their score rows read back from storage)."""
    from codemix.storage import Store

    if spec.search.searcher not in SEARCHERS:
        raise SpecError(f"search.searcher {spec.search.searcher!r} is not registered; known: "
                        f"grid, {', '.join(sorted(SEARCHERS))}")
    store = Store(spec.storage)
    known = [Known(k.config, k.objective, store.child(k.sweep).read_parquet(results_key("scores", k.trial_key))
                   .to_pylist()) for k in start.known]
    return SEARCHERS[spec.search.searcher](spec, known)


def scope_tasks(spec: SweepSpec) -> list[str]:
    """The eval suite's tasks that ``search.metric`` averages over."""
    from codemix.eval import get_task, resolve_suite

    kind, _, name = spec.search.metric.partition(":")
    tasks = resolve_suite(spec.eval.suite)
    return [t for t in tasks if kind == "overall" or (kind == "task" and t == name)
            or (kind == "domain" and get_task(t).domain == name)]
