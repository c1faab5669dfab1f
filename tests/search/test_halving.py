"""Successive halving over proportions (codemix.search.halving), without Ray: rungs run in order, the best
ceil(n / eta) proportions of a rung go on, a rung waits for the one below, failures stop a proportion, seeds
pool, the state survives a pickle, and the trial count matches the plan."""

from __future__ import annotations

import pickle

import pytest

from codemix.search.halving import FINISHED, Halving, planned_trials, rung_score, rung_sizes

GRID = [round(i / 8, 3) for i in range(9)]
GROUP = ("llama", "any", 0.0)


def accuracy(p: float, fidelity: float) -> float:
    """A known curve: best at 0.625, flatter at low fidelity."""
    return 0.2 + fidelity * 0.5 * (1 - 2 * (p - 0.625) ** 2)


def counts(config: dict, n: int = 10_000) -> dict:
    k = round(accuracy(config["proportion"], config["fidelity"]) * n)
    return {"t1": (k, n), "t2": (k, n)}


def drain(h: Halving, start: int = 0, fail: set[float] = frozenset()) -> list[dict]:
    """Propose until the search waits or finishes, then finish everything proposed; repeat. Returns the
    configs in the order they were proposed."""
    order, i = [], start
    while True:
        batch = []
        while (c := h.propose(f"t{i}")) not in (None, FINISHED):
            batch.append((f"t{i}", c))
            i += 1
        if not batch:
            assert c == FINISHED
            return order
        for tid, c in batch:
            order.append(c)
            if c["proportion"] in fail:
                h.forget(tid)
            else:
                h.observe(c, counts(c), tid)


def test_rungs_run_in_order_and_the_best_third_goes_on():
    h = Halving(GRID, [GROUP], [0], rungs=[1 / 3, 1.0], eta=3, tasks=["t1", "t2"])
    order = drain(h)
    low = [c for c in order if c["fidelity"] == 1 / 3]
    full = [c for c in order if c["fidelity"] == 1.0]
    assert [c["proportion"] for c in low] == GRID and order[:9] == low  # every proportion first, at low fidelity
    assert sorted(c["proportion"] for c in full) == [0.5, 0.625, 0.75]  # the three best at rung 0
    assert len(order) == planned_trials(9, 1, 1, 2, 3) == 12
    rows = h.summary()
    assert {r["proportion"] for r in rows if r["promoted"]} == {0.5, 0.625, 0.75}
    assert max((r for r in rows if r["fidelity"] == 1.0), key=lambda r: r["score"])["proportion"] == 0.625


def test_a_rung_waits_for_every_trial_below_it():
    h = Halving(GRID[:3], [GROUP], [0], rungs=[0.5, 1.0], eta=2, tasks=["t1"])
    proposed = [h.propose(f"t{i}") for i in range(3)]
    assert all(c["fidelity"] == 0.5 for c in proposed)
    assert h.propose("t3") is None  # rung 0 runs: nothing to start
    h.observe(proposed[0], counts(proposed[0]), "t0")
    h.observe(proposed[1], counts(proposed[1]), "t1")
    assert h.propose("t4") is None  # one trial of rung 0 still runs
    h.observe(proposed[2], counts(proposed[2]), "t2")
    nxt = [h.propose("t5"), h.propose("t6")]
    assert [c["fidelity"] for c in nxt] == [1.0, 1.0]
    assert h.propose("t7") == FINISHED  # nothing more to propose; Tune lets the running trials finish


def test_a_failed_proportion_is_not_promoted():
    h = Halving(GRID, [GROUP], [0], rungs=[1 / 3, 1.0], eta=3, tasks=["t1", "t2"])
    order = drain(h, fail={0.625})
    full = sorted(c["proportion"] for c in order if c["fidelity"] == 1.0)
    assert full == [0.375, 0.5, 0.75]  # the next best three (0.375 and 0.875 tie: the grid's order decides)


def test_seeds_pool_and_groups_run_apart():
    other = ("mistral", "any", 0.0)
    h = Halving([0.0, 0.5, 1.0], [GROUP, other], [0, 1], rungs=[0.5, 1.0], eta=3, tasks=["t1"])
    order = drain(h)
    assert len(order) == planned_trials(3, 2, 2, 2, 3) == 16
    for g in (GROUP, other):
        full = [c for c in order if c["family"] == g[0] and c["fidelity"] == 1.0]
        assert {c["proportion"] for c in full} == {0.5} and {c["seed"] for c in full} == {0, 1}


def test_the_state_survives_a_pickle_mid_rung():
    h = Halving(GRID, [GROUP], [0], rungs=[1 / 3, 1.0], eta=3, tasks=["t1", "t2"])
    first = [h.propose(f"t{i}") for i in range(5)]
    for i, c in enumerate(first[:3]):
        h.observe(c, counts(c), f"t{i}")
    again = Halving(GRID, [GROUP], [0], rungs=[1 / 3, 1.0], eta=3, tasks=["t1", "t2"])
    again.load_state(pickle.loads(pickle.dumps(h.state())))
    for i, c in enumerate(first[3:], 3):  # the trials running when the state was saved finish afterwards
        again.observe(c, counts(c), f"t{i}")
    order = first + drain(again, start=5)
    assert len(order) == 12 and sorted(c["proportion"] for c in order if c["fidelity"] == 1.0) == [0.5, 0.625, 0.75]


def test_rung_sizes_and_scores():
    assert rung_sizes(9, 3, 3) == [9, 3, 1] and rung_sizes(4, 3, 3) == [4, 2, 1]
    assert rung_score([{"a": (1, 4), "b": (3, 4)}, {"a": (3, 4)}], ["a", "b"]) == pytest.approx((4 / 8 + 3 / 4) / 2)
