"""Search: which points of a sweep run, chosen by a searcher instead of the grid, and the objective it maximises.

    registry.py      the searchers a spec may name (SEARCHERS), check_search
    objective.py     the metric language (overall | domain:X | task:X), search_score, what a trial reports to Tune
    ledger.py        what a policy knows of its trials (Ledger), known points (Known), mix groups
    optimum.py       the optimum search: narrows the interval of the best proportion
    halving.py       successive halving over the proportion grid (and its planned budget)
    surrogate.py     fine-tunes at anchors, interpolated models over the grid, then real trials where they matter
    fit.py           the binomial quadratic-logistic curve fit behind the optimum search and the report
    tune_adapter.py  make_searcher: the searcher Tune runs, a policy as a Tune Searcher (not exported here: it
                     loads Tune, which ``codemix plan`` and ``validate`` must not; the sweep's Tune driver imports it)

The sweep (``codemix.sweep``) checks the spec with ``check_search``, feeds known points from storage to
``make_searcher`` and reports each finished trial with ``trial_summary``; the report (``codemix.results``) reads
``search_score`` and the fit. This package imports ``spec`` and ``eval`` (task lookup), never the sweep or the
results.
"""

from codemix.search.fit import Observation, fit_model, grid_trials_for_width
from codemix.search.ledger import Known
from codemix.search.objective import OBJECTIVE, metric_scope, scope_tasks, search_score, trial_summary
from codemix.search.registry import (
    SEARCHERS,
    check_search,
    extra_trials,
    is_searched,
    register_policy,
    register_searcher,
)

__all__ = ["OBJECTIVE", "SEARCHERS", "Known", "Observation", "check_search", "extra_trials", "fit_model",
           "grid_trials_for_width",
           "is_searched", "metric_scope", "register_policy", "register_searcher", "scope_tasks",
           "search_score", "trial_summary"]
