"""Successive halving over proportions, without Ray: which proportions run at which fidelity, and when to stop.

A fidelity is the share of the full training schedule a trial runs (``search.halving.rungs``, the last 1.0):
a trial at fidelity 0.34 trains the first 34 % of the steps of the full run, with the full run's learning-rate
schedule, and is evaluated on ``search.halving.eval_limit`` questions per task. Promotion continues that
same training run from its checkpoint (``codemix.train``: a run's checkpoints are shared by its fidelities),
so a proportion that reaches full fidelity costs one full run in all.

Per mix group (family x code_language x corruption), synchronously:

- rung 0 runs every proportion of the grid (each listed seed: seeds are replicates, their counts pooled);
- when every trial of a rung has finished, the proportions are ranked by the rung's score (``search.metric``
  from the pooled correct counts) and the best ``ceil(n / eta)`` (at least one) run at the next fidelity;
- a proportion whose trial failed is not promoted; the group is done after its last rung.

The policy's state is plain data (``state`` / ``load_state``), which the Tune searcher pickles for resume.
``from_spec`` builds it for a sweep spec; ``check_spec`` checks the spec can run it and fills its budget.
"""

from __future__ import annotations

import math

from codemix.search.ledger import FINISHED, GROUP_KEYS, Known, Ledger, group_of, spec_groups
from codemix.search.objective import scope_tasks
from codemix.spec import SpecError, SweepSpec


def rung_sizes(n: int, rungs: int, eta: int) -> list[int]:
    """How many proportions run at each rung, from ``n`` at the first (the best ceil(k / eta) of k go on)."""
    sizes = [n]
    for _ in range(rungs - 1):
        sizes.append(max(1, math.ceil(sizes[-1] / eta)))
    return sizes


def planned_trials(n_proportions: int, n_groups: int, n_seeds: int, rungs: int, eta: int) -> int:
    """The trials successive halving runs over a grid (failed trials aside)."""
    return sum(rung_sizes(n_proportions, rungs, eta)) * n_groups * n_seeds


def rung_score(counts: list[dict[str, tuple[int, int]]], tasks: list[str]) -> float:
    """The scope's accuracy from trials' per-task (correct, n), pooled over the trials (seeds): the mean over
    tasks of pooled correct / pooled n (tasks without examples left out)."""
    accs = []
    for t in tasks:
        k = sum(c[t][0] for c in counts if t in c)
        n = sum(c[t][1] for c in counts if t in c)
        if n:
            accs.append(k / n)
    return sum(accs) / len(accs) if accs else float("nan")


class Halving(Ledger):
    """Propose/observe loop of successive halving (see the module docstring)."""

    def __init__(self, proportions: list[float], groups: list[tuple], seeds: list[int], rungs: list[float], eta: int,
                 tasks: list[str]):
        super().__init__()
        self.proportions, self.groups, self.seeds = list(proportions), list(groups), list(seeds)
        self.rungs, self.eta, self.tasks = list(rungs), eta, list(tasks)

    # ------------------------------------------------------------------ the rungs

    def _config(self, group: tuple, proportion: float, seed: int, rung: int) -> dict:
        return {"proportion": proportion, **dict(zip(GROUP_KEYS, group)), "seed": seed,
                "fidelity": self.rungs[rung]}

    def _at(self, configs, group: tuple, rung: int) -> list[dict]:
        return [c for c in configs if group_of(c) == group and float(c["fidelity"]) == self.rungs[rung]]

    def rung_results(self, group: tuple, rung: int) -> dict[float, float]:
        """proportion -> the rung's score, for the proportions whose trials at that rung all finished."""
        by_p: dict[float, list] = {}
        for c, k in self.observed:
            if group_of(c) == group and float(c["fidelity"]) == self.rungs[rung]:
                by_p.setdefault(float(c["proportion"]), []).append(k)
        failed = {float(c["proportion"]) for c in self._at(self.failed, group, rung)}
        return {p: rung_score(ks, self.tasks) for p, ks in by_p.items()
                if p not in failed and len(ks) == len(self.seeds)}

    def promoted(self, group: tuple, rung: int) -> list[float]:
        """The proportions the group runs at ``rung``: the grid at rung 0, else the best of the rung below (once
        it has finished)."""
        if rung == 0:
            return list(self.proportions)
        below = self.rung_results(group, rung - 1)
        keep = max(1, math.ceil(len(self.promoted(group, rung - 1)) / self.eta))
        ranked = sorted(below, key=lambda p: (-below[p], self.proportions.index(p)))
        return sorted(ranked[:keep], key=self.proportions.index)

    def _running(self, group: tuple, rung: int) -> bool:
        """Whether trials of the rung are unfinished (running, or not started yet)."""
        return len(self._at(self.started(), group, rung)) < len(self.promoted(group, rung)) * len(self.seeds) \
            or bool(self._at(self.pending.values(), group, rung))

    def _next_configs(self, group: tuple) -> list[dict] | None:
        """The group's configs not yet started at its current rung; [] while the rung below runs; None when every
        trial of its last rung has started."""
        for rung in range(len(self.rungs)):
            if rung > 0 and self._running(group, rung - 1):
                return []
            started = {(float(c["proportion"]), int(c["seed"])) for c in self._at(self.started(), group, rung)}
            todo = [self._config(group, p, s, rung) for p in self.promoted(group, rung) for s in self.seeds
                    if (p, s) not in started]
            if todo:
                return todo
        return None

    # ------------------------------------------------------------------ proposing

    def propose(self, trial_id: str) -> dict | str | None:
        """The next trial's config; None: wait for a rung to finish; ``FINISHED``: nothing more to start (Tune
        lets the running trials finish)."""
        waiting = False
        for group in self.groups:
            todo = self._next_configs(group)
            if todo:
                self.pending[trial_id] = todo[0]
                return dict(todo[0])
            waiting = waiting or todo == []
        return None if waiting else FINISHED

    def summary(self) -> list[dict]:
        """One row per group, rung and proportion started: its fidelity, the rung's score (None while it runs or
        when it failed) and whether it went on to the next rung."""
        rows = []
        for group in self.groups:
            for rung, fidelity in enumerate(self.rungs):
                ran = sorted({float(c["proportion"]) for c in self._at(self.started(), group, rung)})
                nxt = ({float(c["proportion"]) for c in self._at(self.started(), group, rung + 1)}
                       if rung + 1 < len(self.rungs) else set())
                results = self.rung_results(group, rung)
                rows.extend({**dict(zip(GROUP_KEYS, group)), "rung": rung, "fidelity": fidelity, "proportion": p,
                             "score": results.get(p), "promoted": p in nxt} for p in ran)
        return rows


def from_spec(spec: SweepSpec, known: list[Known]) -> Halving:
    """Successive halving over the spec's proportion grid. Known points are not fed: a rung compares proportions
    at one fidelity, and finished trials found in storage ran at full fidelity (their stages are still reused
    from the cache when a rung reaches them)."""
    s = spec.search
    return Halving(s.proportions(), spec_groups(spec), list(s.seed), list(s.halving.rungs), s.halving.eta,
                   scope_tasks(spec))


def check_spec(spec: SweepSpec) -> SweepSpec:
    """Successive halving runs a grid, and its budget is the trials it plans: ``spec`` with ``search.num_samples``
    set to them when the spec leaves it out. Raises SpecError for a continuous proportion range, or a budget
    that would stop it before its last rung."""
    s = spec.search
    if s.proportions() is None:
        raise SpecError("search.searcher 'halving' promotes proportions of a grid: give search.proportion as a list "
                        "or a range with a step")
    planned = planned_trials(len(s.proportions()), len(spec_groups(spec)), len(s.seed), len(s.halving.rungs),
                             s.halving.eta)
    if "num_samples" not in s.model_fields_set:
        return spec.model_copy(update={"search": s.model_copy(update={"num_samples": planned})})
    if s.num_samples < planned:
        raise SpecError(f"search.searcher 'halving' plans {planned} trials here; search.num_samples "
                        f"{s.num_samples} would stop it before its last rung (leave num_samples out, or set it "
                        f"to {planned})")
    return spec
