"""The surrogate search (codemix.search.surrogate), without Ray: anchors first, then the interpolated models over the
grid, then real trials, the first where the surrogate puts the optimum; it stops on the real trials' own interval
(never on the surrogate's), trusts a surrogate the real trials contradict less, survives a pickle, falls back to the
optimum search's design when an anchor fails, and its spec check fills and refuses what it should."""

from __future__ import annotations

import pickle

import pytest
import yaml

from codemix.search import check_search, extra_trials
from codemix.search.ledger import FINISHED, Known
from codemix.search.optimum import Space
from codemix.search.surrogate import SurrogateSearch, from_spec, is_surrogate
from codemix.spec import SpecError, parse_spec

GRID = [i / 8 for i in range(9)]
GROUP = ("llama", "any", 0.0)
N = 2000


def real_accuracy(p: float) -> float:
    """A known real curve: best at 0.625."""
    return 0.6 - 0.8 * (p - 0.625) ** 2


def counts(config: dict, surrogate_bias: float = 0.0) -> dict:
    acc = real_accuracy(config["proportion"]) + (surrogate_bias if is_surrogate(config) else 0.0)
    return {t: (round(acc * N), N) for t in ("t1", "t2")}


def search(**kw) -> SurrogateSearch:
    return SurrogateSearch(Space(0.0, 1.0, GRID, [GROUP], [0, 1]), ["t1", "t2"], 0.1, [0.0, 1.0], n_per_task=N, **kw)


def batch(s: SurrogateSearch, start: int) -> tuple[list[tuple[str, dict]], object]:
    """Every proposal until the search waits or finishes, and what ended it."""
    out, i = [], start
    while isinstance(c := s.propose(f"t{i}"), dict):
        out.append((f"t{i}", c))
        i += 1
    return out, c


def test_anchors_then_the_surrogate_over_the_grid_then_a_real_check_at_its_optimum():
    s = search()
    anchors, end = batch(s, 0)
    assert [c for _, c in anchors] == [{"proportion": 0.0, "family": "llama", "code_language": "any",
                                        "corruption": 0.0, "seed": 0},
                                       {"proportion": 1.0, "family": "llama", "code_language": "any",
                                        "corruption": 0.0, "seed": 0}]
    assert end is None  # the surrogate needs both anchors' fine-tunes
    for tid, c in anchors:
        s.observe(c, counts(c), tid)
    surrogate, end = batch(s, 2)
    assert [c["proportion"] for _, c in surrogate] == GRID[1:-1] and end is None
    assert all(c["anchors"] == [0.0, 1.0] and c["seed"] == 0 for _, c in surrogate)
    for tid, c in surrogate:
        s.observe(c, counts(c), tid)
    first = s.propose("t9")
    assert not is_surrogate(first) and first["proportion"] == 0.625  # where the surrogate puts the optimum
    assert [o.x for o in s.real._obs(GROUP)] == [0.0, 1.0]  # interpolated models never enter the real fit


def run(s: SurrogateSearch, bias: float = 0.0, budget: int = 20) -> list[dict]:
    """Run the search to FINISHED (or ``budget`` real trials), finishing each batch; returns the real configs."""
    i, real = 0, []
    while len(real) < budget:
        proposed, end = batch(s, i)
        i += len(proposed)
        for tid, c in proposed:
            s.observe(c, counts(c, bias), tid)
            real += [] if is_surrogate(c) else [c]
        if end == FINISHED:
            break
    return real


def test_it_stops_on_the_real_trials_interval_and_that_interval_holds_the_real_optimum():
    s = search()
    real = run(s, bias=0.0)
    interval = s.real.interval(GROUP)
    assert interval.width <= 0.1 and interval.low <= 0.625 <= interval.high
    assert len({c["proportion"] for c in real}) >= 3  # the real fit needs three proportions (the surrogate's: none)
    assert s.propose("again") == FINISHED


def test_a_surrogate_the_real_trials_contradict_is_trusted_less_and_concludes_nothing():
    agreeing, biased = search(trust=0.5), search(trust=0.5)
    run(agreeing, 0.0)
    run(biased, -0.15)  # the interpolated models 15 points worse than the real ones
    assert agreeing.misfit(GROUP) < 2 and agreeing.trust(GROUP) > 0.25
    assert biased.misfit(GROUP) > 50 and biased.trust(GROUP) < 0.01
    # the biased surrogate changed where trials went, not the conclusion: the real interval holds the real optimum
    interval = biased.real.interval(GROUP)
    assert interval.width <= 0.1 and interval.low <= 0.625 <= interval.high


def test_the_state_survives_a_pickle_mid_surrogate():
    s = search()
    anchors, _ = batch(s, 0)
    for tid, c in anchors:
        s.observe(c, counts(c), tid)
    started, _ = batch(s, 2)
    s.observe(started[0][1], counts(started[0][1]), started[0][0])  # one surrogate evaluation back, six running
    again = search()
    again.load_state(pickle.loads(pickle.dumps(s.state())))
    assert again.propose("x") is None  # waits for the six running ones, proposing none twice
    for tid, c in started[1:]:
        s.observe(c, counts(c), tid)
        again.observe(c, counts(c), tid)
    assert again.propose("t9") == s.propose("t9")


def test_a_failed_anchor_leaves_the_group_to_the_optimum_searchs_design():
    s = search()
    (a0, c0), (a1, _) = batch(s, 0)[0]
    s.observe(c0, counts(c0), a0)
    s.forget(a1)  # the fine-tune at 100 % failed: no surrogate can be made
    nxt = s.propose("t2")
    assert not is_surrogate(nxt) and nxt["proportion"] == 0.5  # the optimum search's middle (its end failed)


def test_known_points_at_the_anchors_are_not_run_again():
    spec = surrogate_spec()
    known = [Known({"proportion": p, "family": "llama", "code_language": "any", "corruption": 0.0, "seed": 0}, 0.5,
                   [{"task": t, "domain": "x", "accuracy": 0.5, "n": 4, "n_correct": 2}
                    for t in ("coin_flip", "gsm8k", "date_understanding")]) for p in (0.0, 1.0)]
    s = from_spec(spec, known)
    first = s.propose("t0")
    assert is_surrogate(first) and first["proportion"] == 0.25


def surrogate_spec(**search_section):
    raw = yaml.safe_load(open("sweeps/smoke.yaml"))
    raw["search"].update(searcher="surrogate", proportion={"min": 0.0, "max": 1.0, "step": 0.25}, family=["llama"],
                         **search_section)
    raw["eval"].update(suite="smoke3")
    return check_search(parse_spec(raw))


def test_the_spec_check_fills_the_anchors_and_the_budget_and_refuses_what_cannot_run():
    spec = surrogate_spec()
    assert spec.search.surrogate.anchors == [0.0, 1.0] and spec.search.num_samples == 2 + 3
    assert extra_trials(spec) == 3  # 0.25, 0.5, 0.75 between the anchors, beyond the real-trial budget
    assert extra_trials(surrogate_spec(surrogate={"anchors": [0.0, 0.5]})) == 1
    with pytest.raises(SpecError, match="not on the search grid"):
        surrogate_spec(surrogate={"anchors": [0.0, 0.6]})
    with pytest.raises(SpecError, match="at least its 2 anchors"):
        surrogate_spec(num_samples=1)
    raw = yaml.safe_load(open("sweeps/smoke.yaml"))
    raw["search"].update(searcher="surrogate", family=["llama"])
    raw["train"]["method"] = "none"
    with pytest.raises(SpecError, match="train.method 'none'"):
        check_search(parse_spec(raw))
