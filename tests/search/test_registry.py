"""The searcher registry and the checks of a spec's search section (``check_search``: what `codemix run`, `plan`,
`validate` and `resume` run before any compute), and a new policy declared with one ``register_policy`` line."""

from __future__ import annotations

import pytest

from codemix.search import SEARCHERS, check_search, register_policy
from codemix.search.ledger import FINISHED, Ledger
from codemix.search.tune_adapter import PolicySearcher, make_searcher
from codemix.spec import SpecError, parse_spec

SUITE = ["coin_flip", "last_letter_concat", "multiarith"]


def spec(**search):
    return parse_spec({"name": "s", "model": {"size": "tiny"}, "eval": {"suite": SUITE, "limit": 10},
                       "search": {"family": ["llama", "mistral"], "seed": [0, 1], **search}})


def test_a_grid_and_the_registered_searchers_pass_and_an_unknown_one_is_named():
    assert check_search(spec()).search.searcher == "grid"
    assert check_search(spec(searcher="optuna", num_samples=4)).search.num_samples == 4
    with pytest.raises(SpecError, match="search.searcher 'tpe' is not registered; known: grid, halving, optimum, "
                                        "optuna, random"):
        check_search(spec(searcher="tpe"))


def test_halving_gets_the_budget_it_plans_and_refuses_a_smaller_one_or_a_continuous_range():
    given = spec(searcher="halving", proportion=[0.0, 0.25, 0.5, 0.75, 1.0],
                 halving={"rungs": [0.25, 0.5, 1.0], "eta": 2})
    # rungs of 5, ceil(5/2) = 3 and ceil(3/2) = 2 proportions, for 2 families x 2 seeds
    checked = check_search(given)
    assert checked.search.num_samples == (5 + 3 + 2) * 2 * 2 == 40
    assert given.search.num_samples == 1  # the spec given is left as it was
    assert "num_samples" in checked.search.model_fields_set  # so the trials' copy (through JSON) keeps it
    assert check_search(given.model_copy(update={"search": given.search.model_copy(update={"num_samples": 50})})) \
        .search.num_samples == 50
    with pytest.raises(SpecError, match="plans 40 trials here; search.num_samples 39 would stop it"):
        check_search(spec(searcher="halving", proportion=[0.0, 0.25, 0.5, 0.75, 1.0], num_samples=39,
                          halving={"rungs": [0.25, 0.5, 1.0], "eta": 2}))
    with pytest.raises(SpecError, match="promotes proportions of a grid"):
        check_search(spec(searcher="halving", proportion={"min": 0.0, "max": 1.0}))


def test_the_metric_is_checked_with_the_searcher():
    with pytest.raises(SpecError, match="no task 'gsm8k' in eval.suite"):
        check_search(spec(searcher="optuna", metric="task:gsm8k"))


class _Ends(Ledger):
    """A toy policy: the range's ends, then finished."""

    def __init__(self, tasks):
        super().__init__()
        self.tasks, self.todo = tasks, [0.0, 1.0]

    def propose(self, trial_id):
        if not self.todo:
            return FINISHED
        self.pending[trial_id] = {"proportion": self.todo.pop(0), "family": "llama", "code_language": "any",
                                  "corruption": 0.0, "seed": 0}
        return dict(self.pending[trial_id])


@pytest.fixture
def ends():
    register_policy("ends", lambda s, known: _Ends(SUITE))
    yield
    del SEARCHERS["ends"]


def test_a_new_policy_is_one_registry_entry_and_tune_runs_it(ends):
    s = check_search(spec(searcher="ends", num_samples=2))
    searcher = make_searcher(s, [])
    assert isinstance(searcher, PolicySearcher) and searcher.limit == 10
    first, second = searcher.suggest("a"), searcher.suggest("b")
    assert (first["proportion"], second["proportion"]) == (0.0, 1.0)
    assert searcher.suggest("c") is None  # the policy has nothing more, but its trials still run
    # what the trial reported reaches the policy as counts (accuracy x eval.limit without the counts)
    searcher.on_trial_complete("a", {"score": 0.5, "task/coin_flip": 0.3, "n/multiarith": 10, "correct/multiarith": 7})
    searcher.on_trial_complete("b", error=True)
    assert searcher.policy.observed == [(first, {"coin_flip": (3, 10), "multiarith": (7, 10)})]
    assert searcher.policy.failed == [second] and searcher.policy.pending == {}
    assert searcher.suggest("d") == "FINISHED"
