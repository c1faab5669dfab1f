"""The searchers a sweep spec may name (``search.searcher``), and the check of a spec's search section.

A Ray Tune searcher is one ``@register_searcher("name")`` factory. A codemix search policy (a ``ledger.Ledger``
with ``propose``: ``optimum``, ``halving``, ``surrogate``) is one ``register_policy`` line: Tune runs it through
``tune_adapter.PolicySearcher`` (``tune_adapter.make_searcher`` builds either kind). An entry may carry a
``check`` of the spec, run with the others by ``check_search`` (``codemix run``, ``plan``, ``validate``,
``resume``) before any compute.

Optuna and Ray Tune are imported only when a searcher is built: ``codemix plan`` and ``validate`` read this
registry and must not load Tune.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codemix.search import halving, optimum, surrogate
from codemix.search.ledger import Known
from codemix.search.objective import check_metric
from codemix.spec import SpecError, SweepSpec


@dataclass(frozen=True)
class SearcherEntry:
    """A registered searcher. ``build(spec, known)`` returns a Ray Tune ``Searcher`` that treats the known points as
    already evaluated, or, for a codemix policy (``is_policy``), the policy, which ``tune_adapter`` runs in Tune.
    ``check(spec)`` raises SpecError for a spec the searcher cannot run and returns it with its defaults filled in."""

    build: Callable[[SweepSpec, list[Known]], object]
    is_policy: bool = False
    check: Callable[[SweepSpec], SweepSpec] | None = None
    # trials the searcher runs on top of the num_samples budget (a surrogate search's evaluations of interpolated
    # models, which train nothing), for a checked spec
    extra_trials: Callable[[SweepSpec], int] | None = None


SEARCHERS: dict[str, SearcherEntry] = {}


def register_searcher(name: str, check: Callable[[SweepSpec], SweepSpec] | None = None):
    """Declare a Ray Tune searcher: the factory gets the sweep spec and the known points."""
    def wrap(factory):
        SEARCHERS[name] = SearcherEntry(factory, check=check)
        return factory
    return wrap


def register_policy(name: str, from_spec: Callable[[SweepSpec, list[Known]], object],
                    check: Callable[[SweepSpec], SweepSpec] | None = None,
                    extra_trials: Callable[[SweepSpec], int] | None = None) -> None:
    """Declare a codemix search policy: ``from_spec(spec, known)`` returns the policy (a ``ledger.Ledger`` with
    ``propose``), which Tune runs through ``tune_adapter.PolicySearcher``, fed the counts each finished trial
    reports. ``extra_trials(spec)``: the trials it runs beyond ``search.num_samples`` (which Tune then allows)."""
    SEARCHERS[name] = SearcherEntry(from_spec, is_policy=True, check=check, extra_trials=extra_trials)


@register_searcher("optuna")
def _optuna_tpe(spec: SweepSpec, known: list[Known]):
    """Optuna's TPE sampler (its first 10 points, known ones included, are random draws)."""
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(seed=spec.search.seed[0], points_to_evaluate=[k.config for k in known] or None,
                        evaluated_rewards=[k.objective for k in known] or None)


@register_searcher("random")
def _optuna_random(spec: SweepSpec, known: list[Known]):
    """Uniform random search (a baseline for the Bayesian searcher); known points are recorded, not used."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(sampler=optuna.samplers.RandomSampler(seed=spec.search.seed[0]),
                        points_to_evaluate=[k.config for k in known] or None,
                        evaluated_rewards=[k.objective for k in known] or None)


# narrows the interval of the best proportion: a binomial curve fit per task, known points' counts fitted
register_policy("optimum", optimum.from_spec)
# successive halving over the proportion grid: low fidelity first, the best go on
register_policy("halving", halving.from_spec, check=halving.check_spec)
# fine-tunes at anchor proportions, the models between them interpolated in weight space (the surrogate curve),
# then real trials where they narrow the real curve's optimum
register_policy("surrogate", surrogate.from_spec, check=surrogate.check_spec, extra_trials=surrogate.extra_trials)


def is_searched(spec: SweepSpec) -> bool:
    """True when a searcher, not the grid, chooses the trials."""
    return spec.search.searcher != "grid"


def registered(name: str) -> SearcherEntry:
    """The entry of a registered searcher; SpecError naming the known ones otherwise."""
    if name not in SEARCHERS:
        raise SpecError(f"search.searcher {name!r} is not registered; known: grid, {', '.join(sorted(SEARCHERS))}")
    return SEARCHERS[name]


def extra_trials(spec: SweepSpec) -> int:
    """The trials a searched sweep runs beyond its ``search.num_samples`` budget (0 for most searchers)."""
    entry = registered(spec.search.searcher) if is_searched(spec) else None
    return entry.extra_trials(spec) if entry is not None and entry.extra_trials is not None else 0


def check_search(spec: SweepSpec) -> SweepSpec:
    """Raise SpecError before any compute when the search section cannot run: an unregistered searcher, a metric
    naming no task of the suite, or what the searcher's own check refuses. Returns the spec with the searcher's
    defaults filled in (successive halving's budget)."""
    entry = registered(spec.search.searcher) if is_searched(spec) else None
    check_metric(spec)
    return entry.check(spec) if entry is not None and entry.check is not None else spec
