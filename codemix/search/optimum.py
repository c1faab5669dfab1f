"""The optimum search's policy, without Ray: which proportion (and seed) to run next, and when to stop.

The search space is one range of proportions (or a list of them) times the mix groups a spec lists
(family x code_language x corruption) and its seeds. Each group's optimum is searched on its own:

- a group first gets three points, the range's ends and middle (a quadratic needs three);
- then its curves are fitted (``fit``) and the next proportion is the candidate where the
  predicted width of the 95 % arg-max interval, with the trials still running counted as if observed, is
  smallest; so a batch of ``max_concurrent_trials`` proposals spreads over the informative places;
- while the fit cannot place a maximum (a flat or noisy curve: no candidate is predicted to narrow the
  interval), the next proportion fills the widest gap between those run, so the budget is spent where the
  curve is least known rather than left unused;
- a group is done when its observed interval is narrower than ``target_width``; the search is finished when
  every group is (or every allowed proportion was run); while a group's running trials are already predicted
  to narrow it enough, it waits.

Seeds are replicates: a trial takes the group's least used seed. The policy's state is plain data
(``state`` / ``load_state``), which the Tune searcher pickles for resume. ``from_spec`` builds it for a sweep
spec, with the known points' counts already observed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from codemix.search.fit import ArgmaxInterval, CurveModel, Observation, fit_model
from codemix.search.ledger import FINISHED, GROUP_KEYS, Known, Ledger, group_of, spec_groups
from codemix.search.objective import scope_tasks, score_counts
from codemix.spec import SweepSpec


@dataclass
class Space:
    """What the search may choose: a proportion range (or choices), the mix groups and the seeds."""

    lo: float
    hi: float
    choices: list[float] | None = None  # discrete proportions; None = the continuous range
    groups: list[tuple] = field(default_factory=lambda: [("llama", "any", 0.0)])  # (family, code_language, corruption)
    seeds: list[int] = field(default_factory=lambda: [0])

    def snap(self, x: float) -> float:
        """The nearest allowed proportion."""
        if self.choices is None:
            return float(min(max(x, self.lo), self.hi))
        return float(min(self.choices, key=lambda c: abs(c - x)))

    def candidates(self, count: int) -> list[float]:
        """Proportions the acquisition compares."""
        if self.choices is not None:
            return sorted(set(self.choices))
        return [float(x) for x in np.linspace(self.lo, self.hi, count)]


class OptimumSearch(Ledger):
    """Propose/observe loop for the arg-max of accuracy vs proportion (see the module docstring)."""

    def __init__(self, space: Space, tasks: list[str], target_width: float, *, n_per_task: int | None = None,
                 confidence: float = 0.95, n_candidates: int = 21, seed: int = 0):
        super().__init__()
        self.space, self.tasks, self.target_width = space, list(tasks), target_width
        self.n_per_task, self.confidence, self.n_candidates, self.seed = n_per_task, confidence, n_candidates, seed
        self._models: dict[tuple, tuple[int, CurveModel]] = {}

    def load_state(self, state: dict) -> None:
        """Carry on from ``state()`` (the fits are made again)."""
        super().load_state(state)
        self._models = {}

    # ------------------------------------------------------------------ fitting

    def _obs(self, group: tuple) -> list[Observation]:
        return [Observation(float(c["proportion"]), k) for c, k in self.observed if group_of(c) == group]

    def model(self, group: tuple) -> CurveModel | None:
        """The group's fitted curves, or None before three distinct proportions were observed."""
        obs = self._obs(group)
        if len({o.x for o in obs}) < 3:
            return None
        cached = self._models.get(group)
        if cached is None or cached[0] != len(obs):
            cached = (len(obs), fit_model(obs, self.tasks, self.space.lo, self.space.hi))
            self._models[group] = cached
        return cached[1]

    def interval(self, group: tuple) -> ArgmaxInterval | None:
        """The group's optimum and its interval now, or None before it can be fitted."""
        model = self.model(group)
        return None if model is None else model.interval(self.confidence, seed=self.seed)

    def done(self, group: tuple) -> bool:
        """Whether the group's observed interval is narrower than the target."""
        interval = self.interval(group)
        return interval is not None and interval.width <= self.target_width

    # ------------------------------------------------------------------ proposing

    def _n(self, group: tuple) -> dict[str, int] | int:
        if self.n_per_task is not None:
            return self.n_per_task
        ns = [k for c, k in self.observed if group_of(c) == group]
        return {t: int(round(np.mean([k[t][1] for k in ns if t in k]))) for t in self.tasks}

    def _free_seeds(self, group: tuple, x: float) -> list[int]:
        """The seeds not yet started at proportion ``x``: a trial repeated with the same seed is the same trial
        (its stages come from the cache) and tells nothing new."""
        used = {int(c["seed"]) for c in self.started()
                if group_of(c) == group and abs(float(c["proportion"]) - x) < 1e-9}
        return [s for s in self.space.seeds if s not in used]

    def _config(self, group: tuple, x: float) -> dict:
        used = Counter(c["seed"] for c, _ in self.observed if group_of(c) == group)
        used.update(c["seed"] for c in self.pending.values() if group_of(c) == group)
        free = self._free_seeds(group, x) or self.space.seeds
        seed = min(free, key=lambda s: (used[s], self.space.seeds.index(s)))
        return {"proportion": x, **dict(zip(GROUP_KEYS, group)), "seed": seed}

    def _initial(self, group: tuple) -> float | None:
        """Before the group can be fitted: the next of the ends and middle not yet run, running or failed, then
        the middle of the widest gap (a failed proportion is not proposed again); None once it can be fitted
        or while its first points run."""
        observed = {float(c["proportion"]) for c, _ in self.observed if group_of(c) == group}
        if len(observed) >= 3:
            return None
        running = {float(c["proportion"]) for c in self.pending.values() if group_of(c) == group}
        taken = self._taken(group)
        design = [self.space.snap(x) for x in (self.space.lo, self.space.hi, (self.space.lo + self.space.hi) / 2)]
        x = next((x for x in design if not any(abs(x - t) < 1e-9 for t in taken)), None)
        if x is None and len(observed | running) < 3:
            x = self._widest_gap(group)
        return x

    def _taken(self, group: tuple) -> set[float]:
        return {float(c["proportion"]) for c in self.started() if group_of(c) == group}

    def _widest_gap(self, group: tuple) -> float | None:
        """The allowed proportion nearest the middle of the widest gap between the group's proportions started so
        far (and the range's ends), among gaps whose middle is not taken yet; None when every one is."""
        taken = self._taken(group)
        edges = sorted(taken | {self.space.lo, self.space.hi})
        for a, b in sorted(zip(edges, edges[1:]), key=lambda g: g[0] - g[1]):  # widest first
            x = self.space.snap((a + b) / 2)
            if not any(abs(x - t) < 1e-9 for t in taken):
                return x
        return None

    def _acquire(self, group: tuple, model: CurveModel) -> tuple[float, float, float]:
        """(best candidate, its predicted width, the predicted width with the running trials alone; inf when
        none is running)."""
        n = self._n(group)
        running = [c for c in self.pending.values() if group_of(c) == group]
        base = sum((model.information(float(c["proportion"]), n) for c in running), np.zeros_like(model.precision))
        failed = [float(c["proportion"]) for c in self.failed if group_of(c) == group]
        xs = [x for x in self.space.candidates(self.n_candidates)
              if not any(abs(x - f) < 1e-9 for f in failed) and self._free_seeds(group, x)]
        if not xs:  # every candidate failed or ran with every seed: nothing left to learn here
            return self.space.lo, float("inf"), float("inf")
        extras = np.stack([base] + [base + model.information(x, n) for x in xs])
        widths = model.widths(extras, self.confidence, seed=self.seed)
        best = int(np.argmin(widths[1:]))
        return xs[best], float(widths[1 + best]), float(widths[0]) if running else float("inf")

    def propose(self, trial_id: str) -> dict | str | None:
        """The next trial's config; None: wait for running trials; ``FINISHED``: every group is narrow enough."""
        open_groups = []
        for group in self.space.groups:
            x = self._initial(group)
            if x is not None:
                return self._remember(trial_id, self._config(group, x))
            model = self.model(group)
            if model is None:  # its first three points are still running
                open_groups.append((float("inf"), group, None))
            elif not self.done(group):
                open_groups.append((self._acquire(group, model), group, model))
        if not open_groups:
            return FINISHED
        ready = [(a, g) for a, g, m in open_groups
                 if m is not None and a[2] > self.target_width and np.isfinite(a[1])]
        # where the fit cannot place a maximum yet (a flat or noisy curve: no candidate narrows the interval), the
        # budget goes to the widest gap between the proportions run, until the curve bends or the budget ends
        explore = [((x, float("inf"), float("inf")), g) for a, g, m in open_groups
                   if m is not None and not np.isfinite(a[1]) and (x := self._widest_gap(g)) is not None]
        if not ready + explore:  # the running trials are predicted to be enough, or a group awaits its first points
            return None if self.pending else FINISHED  # nothing running and nothing left to propose: stop
        (x, _, _), group = max(ready + explore, key=lambda r: r[0][2])  # the group the running trials help least
        return self._remember(trial_id, self._config(group, x))

    def _remember(self, trial_id: str, config: dict) -> dict:
        self.pending[trial_id] = config
        return dict(config)


def from_spec(spec: SweepSpec, known: list[Known]) -> OptimumSearch:
    """The optimum search of a sweep spec, the known points (with their counts) already observed."""
    s, tasks = spec.search, scope_tasks(spec)
    choices = s.proportions()
    lo, hi = (min(choices), max(choices)) if choices is not None else (s.proportion.min, s.proportion.max)
    search = OptimumSearch(Space(lo, hi, choices, spec_groups(spec), list(s.seed)), tasks, s.target_width,
                           n_per_task=None, seed=s.seed[0])
    for k in known:
        search.observe(k.config, score_counts(k.scores, tasks))
    return search
