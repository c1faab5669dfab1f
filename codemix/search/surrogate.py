"""The surrogate search's policy, without Ray: fine-tunes at anchor proportions, the models between them
interpolated in weight space as a cheap stand-in for the curve, then real trials where they matter.

Per mix group (family x code_language x corruption), with the first listed seed:

1. **anchors** (``search.surrogate.anchors``, default the range's ends) run as real trials;
2. **the surrogate curve**: once every anchor finished, each grid point between the anchors is evaluated on the
   model interpolated between the anchors' fine-tunes (a trial with ``anchors`` in its config:
   ``codemix.models.interpolate``; it trains nothing). At an anchor its own fine-tune is the surrogate;
3. **real trials**: first at the grid point where the *planning curve* puts the optimum (unless that is an
   anchor), then one at a time (or a batch, counting running ones as if observed) at the grid point where the
   real trials' optimum interval is predicted to narrow most (``optimum.OptimumSearch``'s acquisition), predicted
   with the planning curve. The planning curve is the binomial curve fit (``fit``) to the real trials and to the
   surrogate's counts scaled by the trust ``search.surrogate.trust`` divided by the surrogate's measured misfit
   (the mean two-proportion chi-square of real against surrogate counts at the same proportions, at least 1):
   the surrogate's claim is checked where it puts the optimum, and it weighs less in the planning the more the
   real trials contradict it;
4. a group is done when the 95 % arg-max interval **of the real trials alone** (``fit``, as ``optimum``'s) is
   narrower than ``search.target_width``: the surrogate chooses where to look, never what is concluded, so its
   errors cannot make the interval over-confident; the Tune budget (``search.num_samples`` real trials) stops it
   otherwise.

If an anchor fails, the group has no surrogate and runs as the ``optimum`` search does (ends and middle first).
The policy's state is plain data (``state`` / ``load_state``) for resume. ``from_spec`` builds it for a sweep spec
(known points observed as real trials); ``check_spec`` checks the spec and fills its defaults; ``extra_trials``
says how many surrogate evaluations come on top of the real-trial budget.
"""

from __future__ import annotations

import numpy as np

from codemix.search.fit import CurveModel, Observation, TaskFit, fit_model, precision_at
from codemix.search.ledger import FINISHED, GROUP_KEYS, Known, Ledger, group_of, spec_groups
from codemix.search.objective import scope_tasks, score_counts
from codemix.search.optimum import OptimumSearch, Space
from codemix.spec import SpecError, SweepSpec

DEFAULT_REAL_CHECKS = 3  # real trials after the anchors when search.num_samples is left out


def is_surrogate(config: dict) -> bool:
    """Whether a trial config evaluates an interpolated model (it names its anchors)."""
    return bool(config.get("anchors"))


def _near(a: float, b: float) -> bool:
    return abs(a - b) < 1e-9


class SurrogateSearch(Ledger):
    """Propose/observe loop of the surrogate search (see the module docstring). The ledger holds every trial
    (what Tune started); ``real`` is an ``OptimumSearch`` over the real trials alone, on the same grid."""

    def __init__(self, space: Space, tasks: list[str], target_width: float, anchors: list[float], *,
                 trust: float = 0.2, n_per_task: int | None = None, confidence: float = 0.95, seed: int = 0):
        super().__init__()
        if space.choices is None:
            raise ValueError("the surrogate search runs on a grid: give Space its choices")
        self.space, self.tasks, self.anchors, self.trust0 = space, list(tasks), sorted(anchors), trust
        self._models: dict[tuple, tuple] = {}
        self.real = OptimumSearch(space, tasks, target_width, n_per_task=n_per_task, confidence=confidence,
                                  n_candidates=len(space.choices), seed=seed)

    # ------------------------------------------------------------------ the ledger, split by kind

    def observe(self, config: dict, counts: dict[str, tuple[int, int]], trial_id: str | None = None) -> None:
        super().observe(config, counts, trial_id)
        if not is_surrogate(config):
            self.real.observe(config, counts, trial_id)

    def forget(self, trial_id: str) -> None:
        config = self.pending.get(trial_id)
        super().forget(trial_id)
        if config is not None and not is_surrogate(config):
            self.real.forget(trial_id)

    def state(self) -> dict:
        return {**super().state(), "real": self.real.state()}

    def load_state(self, state: dict) -> None:
        """Carry on from ``state()`` (the fits are made again)."""
        super().load_state(state)
        self.real.load_state(state["real"])
        self._models = {}

    # ------------------------------------------------------------------ the surrogate

    def surrogate_points(self) -> list[float]:
        """The grid points the surrogate is evaluated at: between the anchors, the anchors left out."""
        lo, hi = self.anchors[0], self.anchors[-1]
        return [x for x in sorted(self.space.choices) if lo - 1e-9 <= x <= hi + 1e-9
                and not any(_near(x, a) for a in self.anchors)]

    def _anchor_trials(self, group: tuple, configs) -> dict[float, list[dict]]:
        """anchor -> the group's real trials at it with the first seed, among ``configs``."""
        return {a: [c for c in configs if self._is_anchor(group, c) and _near(float(c["proportion"]), a)]
                for a in self.anchors}

    def _is_anchor(self, group: tuple, config: dict) -> bool:
        return (group_of(config) == group and not is_surrogate(config) and int(config["seed"]) == self.space.seeds[0]
                and any(_near(float(config["proportion"]), a) for a in self.anchors))

    def surrogate_observations(self, group: tuple) -> list[Observation]:
        """The surrogate curve's evaluations: the interpolated models', and the anchors' own fine-tunes (first
        seed) where they stand in for it."""
        return [Observation(float(c["proportion"]), k) for c, k in self.observed
                if (group_of(c) == group and is_surrogate(c)) or self._is_anchor(group, c)]

    def _usable(self, group: tuple) -> bool:
        """Whether the group's surrogate can be made: no anchor failed."""
        return not any(self._anchor_trials(group, self.failed).values())

    def misfit(self, group: tuple) -> float:
        """How far the real trials disagree with the surrogate at the same proportions (anchors left out): the
        mean over (proportion, task) of the two-proportion chi-square of their counts; 1 when they agree up to
        binomial noise or when there is nothing to compare yet (never below 1)."""
        surrogate = {float(c["proportion"]): k for c, k in self.observed if group_of(c) == group and is_surrogate(c)}
        stats = []
        for c, k in self.real.observed:
            s = next((v for x, v in surrogate.items() if _near(x, float(c["proportion"]))), None) \
                if group_of(c) == group else None
            for t in self.tasks if s is not None else ():
                if t in k and t in s and k[t][1] and s[t][1]:
                    (k1, n1), (k2, n2) = k[t], s[t]
                    pooled = (k1 + k2) / (n1 + n2)
                    if 0 < pooled < 1:
                        stats.append((k1 / n1 - k2 / n2) ** 2 / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)))
        return max(1.0, float(np.mean(stats))) if stats else 1.0

    def trust(self, group: tuple) -> float:
        """The weight of one surrogate evaluation against one real trial in the planning curve."""
        return self.trust0 / self.misfit(group)

    def planning_model(self, group: tuple) -> CurveModel:
        """The curve the next real trial is planned with: its coefficients fitted to the real trials and the
        trust-weighted surrogate, its precision the real trials' alone at those coefficients (so the widths it
        predicts are of the real trials' interval, the one that stops the search)."""
        key = (len(self.real._obs(group)), len(self.observed), self.trust(group))
        cached = self._models.get(group)
        if cached is not None and cached[0] == key:
            return cached[1]
        real, tau = self.real._obs(group), self.trust(group)
        weighted = real + [Observation(o.x, {t: (k * tau, n * tau) for t, (k, n) in o.counts.items()})
                           for o in self.surrogate_observations(group) if not any(_near(o.x, a) for a in self.anchors)]
        lo, hi = self.space.lo, self.space.hi
        plan = fit_model(weighted, self.tasks, lo, hi)
        fits = {}
        for t in self.tasks:
            rows = [(o.x, o.counts[t][1]) for o in real if t in o.counts and o.counts[t][1] > 0]
            x, n = (np.array(c, float) for c in zip(*rows)) if rows else (np.zeros(0), np.zeros(0))
            fits[t] = TaskFit(plan.fits[t].beta, precision_at(plan.fits[t].beta, x, n, lo, hi), 0.0, len(x) - 3)
        own = self.real.model(group)
        model = CurveModel(fits, lo, hi, own.dispersion if own is not None else 1.0, len(real))
        self._models[group] = (key, model)
        return model

    # ------------------------------------------------------------------ proposing

    def _next(self, group: tuple) -> tuple[str, object]:
        """What the group does next: ('propose', config), ('wait', None) or ('done', None)."""
        seed = self.space.seeds[0]
        anchors = self._anchor_trials(group, self.started())
        usable = self._usable(group)
        if usable:
            for a, trials in anchors.items():
                if not trials:  # an anchor not started yet
                    return "propose", {"proportion": a, **dict(zip(GROUP_KEYS, group)), "seed": seed}
            if any(self._anchor_trials(group, self.pending.values()).values()):
                return "wait", None  # the surrogate needs every anchor's fine-tune
            started = [float(c["proportion"]) for c in self.started() if group_of(c) == group and is_surrogate(c)]
            todo = [x for x in self.surrogate_points() if not any(_near(x, s) for s in started)]
            if todo:
                return "propose", {"proportion": todo[0], **dict(zip(GROUP_KEYS, group)), "seed": seed,
                                   "anchors": list(self.anchors)}
            if any(group_of(c) == group and is_surrogate(c) for c in self.pending.values()):
                return "wait", None  # real trials are planned on the whole surrogate curve
        return self._real_next(group, usable)

    def _real_next(self, group: tuple, usable: bool) -> tuple[str, object]:
        real = self.real
        if not usable:  # no surrogate: the optimum search's own design
            x = real._initial(group)
            if x is not None:
                return "propose", real._config(group, x)
            if real.model(group) is None:
                return ("wait", None) if real.pending else ("done", None)
        if real.done(group):
            return "done", None
        model = self.planning_model(group) if usable else real.model(group)
        if usable and not self._checked(group):  # first, the surrogate's optimum checked by a real trial
            x = self.space.snap(model.interval(real.confidence, seed=real.seed).optimum)
            if not any(_near(x, a) for a in self.anchors) and real._free_seeds(group, x):
                return "propose", real._config(group, x)
        x, width, running = real._acquire(group, model)
        if np.isfinite(width) and running > real.target_width:
            return "propose", real._config(group, x)
        if not np.isfinite(width):  # the planning curve places no maximum: fill the widest gap instead
            x = real._widest_gap(group)
            if x is not None:
                return "propose", real._config(group, x)
        pending = any(group_of(c) == group for c in real.pending.values())
        return ("wait", None) if pending else ("done", None)

    def _checked(self, group: tuple) -> bool:
        """Whether a real trial between the anchors started in the group (the surrogate's optimum is checked)."""
        return any(group_of(c) == group and not any(_near(float(c["proportion"]), a) for a in self.anchors)
                   for c in self.real.started())

    def propose(self, trial_id: str) -> dict | str | None:
        """The next trial's config (a real one, or a surrogate evaluation naming its ``anchors``); None: wait for
        running trials; ``FINISHED``: every group is done."""
        waiting = False
        for group in self.space.groups:
            what, config = self._next(group)
            if what == "propose":
                self.pending[trial_id] = config
                if not is_surrogate(config):
                    real = dict(config)
                    real.pop("anchors", None)
                    self.real.pending[trial_id] = real
                return dict(config)
            waiting = waiting or what == "wait"
        return None if waiting else FINISHED


def surrogate_grid(spec: SweepSpec) -> list[float]:
    """The grid of a surrogate search: the spec's proportions, or ``surrogate.points`` evenly spaced over its
    range."""
    s = spec.search
    if s.proportions() is not None:
        return sorted(s.proportions())
    return [round(float(x), 6) for x in np.linspace(s.proportion.min, s.proportion.max, s.surrogate.points)]


def from_spec(spec: SweepSpec, known: list[Known]) -> SurrogateSearch:
    """The surrogate search of a (checked) sweep spec, the known points observed as real trials."""
    s, tasks = spec.search, scope_tasks(spec)
    grid = surrogate_grid(spec)
    anchors = s.surrogate.anchors or [grid[0], grid[-1]]
    search = SurrogateSearch(Space(grid[0], grid[-1], grid, spec_groups(spec), list(s.seed)), tasks,
                             s.target_width, anchors, trust=s.surrogate.trust, seed=s.seed[0])
    for k in known:
        search.observe(k.config, score_counts(k.scores, tasks))
    return search


def check_spec(spec: SweepSpec) -> SweepSpec:
    """Refuse what the surrogate search cannot run (SpecError) and fill its defaults: the anchors (the grid's
    ends) and the real-trial budget ``num_samples`` (the anchors and three more)."""
    s = spec.search
    if spec.train.method == "none":
        raise SpecError("search.searcher 'surrogate' interpolates fine-tuned models: train.method 'none' has none")
    grid = surrogate_grid(spec)
    anchors = s.surrogate.anchors or [grid[0], grid[-1]]
    off = [a for a in anchors if not any(_near(a, g) for g in grid)]
    if off:
        raise SpecError(f"search.surrogate.anchors {off} are not on the search grid {grid}: anchors are real trials "
                        "of the grid")
    update = {"surrogate": s.surrogate.model_copy(update={"anchors": anchors})}
    if "num_samples" not in s.model_fields_set:
        update["num_samples"] = len(anchors) + DEFAULT_REAL_CHECKS
    elif s.num_samples < len(anchors):
        raise SpecError(f"search.num_samples {s.num_samples} counts real trials; the surrogate search needs at "
                        f"least its {len(anchors)} anchors")
    return spec.model_copy(update={"search": s.model_copy(update=update)})


def extra_trials(spec: SweepSpec) -> int:
    """The surrogate evaluations a (checked) spec runs on top of its real-trial budget: one per grid point between
    the anchors, per mix group."""
    grid = surrogate_grid(spec)
    anchors = spec.search.surrogate.anchors or [grid[0], grid[-1]]
    inside = [x for x in grid if anchors[0] - 1e-9 <= x <= anchors[-1] + 1e-9 and not any(_near(x, a) for a in anchors)]
    return len(inside) * len(spec_groups(spec))
