"""Power before the run: the minimum detectable effect (MDE) a sweep's design will have (``codemix plan``).

The report compares every mix with the same family's 0 % mix by McNemar's test on the questions both
answered, paired by (seed, task, question) and pooled over the tasks of a scope (overall, a domain), and
prints the MDE of each comparison (``codemix.results.power``). The forecast is that MDE with the design's
numbers, through the same function (``power.design_mde``):

- questions per task: eval.limit, capped at the task's data (all of a file without a limit;
  eval.generated_size of a generated task); seeds: the sweep's, each seed paired with the same seed (the
  seeds answer the same questions, so pooling them adds pairs that are not independent; the report pools
  them all the same, and so does the forecast);
- the discordance of each task (the share of questions on which a mix and the 0 % mix disagree), the first
  found of:
  1. ``observed``: the earlier trials of the family (same starting model) in the storage, paired as the
     report pairs them: each proportion against the 0 % mix of the same seed and mix settings (every two
     proportions where no 0 % mix was run); ``pooled``: a task those trials did not evaluate takes their
     share over the tasks they did;
  2. ``from accuracy``: 2a(1-a)(1-r) from the family's earlier accuracy a on the task (stored trials with no
     second proportion to pair with), r = resources.estimate.correlation;
  (a task's counts are shrunk toward the family's pooled rate by one pseudo-question, ``Earlier.discordance``)
  3. ``assumed``: the same with a = resources.estimate.accuracy.

``questions_needed`` inverts it: the fewest questions per task that reach a target MDE, each task capped at
its data (None where even all of it falls short).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codemix.eval import get_task, resolve_suite
from codemix.results import MDE, POWER, design_mde, discordance_by_task, experiments_in, load_results, questions_for
from codemix.spec import SweepSpec
from codemix.storage import Store
from codemix.sweep.hashes import model_id
from codemix.sweep.space import as_spec

TARGET_MDE = 0.05  # the default target: 5 points of accuracy, the size of effect later work expects


@dataclass(frozen=True)
class TaskDesign:
    """One task of the spec's suite: its domain, the questions a trial answers and how many its data holds."""

    task: str
    domain: str
    questions: int
    available: int | None  # None: generated, as many as asked


@dataclass(frozen=True)
class Earlier:
    """What earlier trials of one family say per task: questions answered and answered right, questions paired
    and discordant (summed over trials and comparisons)."""

    asked: dict[str, int] = field(default_factory=dict)
    correct: dict[str, int] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)
    discordant: dict[str, int] = field(default_factory=dict)
    sweeps: tuple[str, ...] = ()
    trials: int = 0

    def discordance(self, task: str, correlation: float, accuracy: float) -> tuple[float, str, float]:
        """(discordance, source, accuracy) of one task: observed, pooled, from its accuracy, or assumed.

        A task's counts are shrunk toward the family's pooled rate by one pseudo-question, (k + rate) / (n + 1):
        six questions at 0/6 say "rare", not "never" (the rate that raw zeros would give the forecast and the
        questions it asks for). With the same questions on every task the pooled forecast is unchanged.
        """
        if self.pairs:
            rate = sum(self.discordant.values()) / sum(self.pairs.values())
            if task not in self.pairs:  # paired on other tasks only: the family's pooled share stands in
                return rate, "pooled", self._accuracy(task)
            return (self.discordant[task] + rate) / (self.pairs[task] + 1), "observed", self._accuracy(task)
        if self.asked:
            a = self._accuracy(task)
            return 2 * a * (1 - a) * (1 - correlation), "from accuracy", a
        return 2 * accuracy * (1 - accuracy) * (1 - correlation), "assumed", accuracy

    def _accuracy(self, task: str) -> float:
        """The task's earlier accuracy shrunk toward the family's by one pseudo-question (NaN without trials)."""
        if not self.asked:
            return float("nan")
        rate = sum(self.correct.values()) / sum(self.asked.values())
        return (self.correct.get(task, 0) + rate) / (self.asked.get(task, 0) + 1)


@dataclass(frozen=True)
class ScopeForecast:
    """The forecast of one family's comparisons (each proportion against 0 %) in one scope."""

    family: str
    scope: str  # "overall" or a domain
    tasks: list[TaskDesign]
    seeds: int
    n_pairs: int
    discordance: float  # pooled over the scope's tasks, weighted by their questions
    accuracy: float  # mean over the scope's tasks (NaN where none is known)
    source: str  # "observed", "pooled", "from accuracy", "assumed", or a mix of them ("observed + pooled")
    mde: MDE
    target: float
    questions_needed: int | None  # questions per task for ``target``; None: out of reach with all the data
    capped: list[str]  # tasks whose data is smaller than questions_needed (all with data where out of reach)
    mde_all_data: float  # where out of reach: the MDE with every question of every task; else NaN


@dataclass
class PowerForecast:
    """``codemix plan``'s power section: the comparisons, the forecast per family and scope, and its basis."""

    comparisons: list[str]
    scopes: list[ScopeForecast]
    basis: dict[str, str]  # family -> where its discordance comes from, in words
    alpha: float
    power: float
    target: float


def task_designs(spec: SweepSpec) -> list[TaskDesign]:
    """The questions each task of the suite is evaluated on at full fidelity, and how many its data holds."""
    limit, out = spec.eval.limit, []
    for name in resolve_suite(spec.eval.suite):
        task = get_task(name)
        data_dir = task.resolve_data_dir(spec.eval.data_dir)
        available = None if data_dir is None or task.generated_is_real else len(task.read_all(data_dir))
        asked = limit or (available if available is not None else spec.eval.generated_size)
        out.append(TaskDesign(name, task.domain, min(asked, available) if available is not None else asked,
                              available))
    return out


def earlier_trials(spec: SweepSpec, store: Store) -> dict[str, Earlier]:
    """Per family of the spec: what the finished full-fidelity trials in ``store`` of that family and starting
    model say (accuracy per task; discordant pairs as the report pairs the mixes)."""
    names = experiments_in(store)
    if not names:
        return {}

    results = load_results([store.url(name) for name in names])
    out = {}
    scores, preds = results.scores, results.predictions
    for family in spec.search.family:
        own = scores[(scores["family"] == family) & (scores["model_id"] == model_id(spec, family))]
        tuned = own[own["proportion"].notna()]
        basis = tuned if len(tuned) else own  # accuracy of the fine-tunes; the untuned model's if only it ran
        if basis.empty:
            continue
        paired = discordance_by_task(preds[(preds["family"] == family) & (preds["model_id"] == model_id(spec, family))])
        counts = basis.assign(k=(basis["accuracy"] * basis["n"]).round()).groupby("task")[["n", "k"]].sum()
        out[family] = Earlier(asked=counts["n"].astype(int).to_dict(), correct=counts["k"].astype(int).to_dict(),
                              pairs=dict(zip(paired["task"], paired["n_pairs"].astype(int))),
                              discordant=dict(zip(paired["task"], paired["discordant"].astype(int))),
                              sweeps=tuple(sorted(basis["sweep"].unique())),
                              trials=basis.drop_duplicates(["sweep", "trial_key"]).shape[0])
    return out


def forecast_power(spec: SweepSpec, target: float = TARGET_MDE, *, alpha: float = 0.05,
                   power: float = POWER) -> PowerForecast:
    """The MDE each family's comparisons (each proportion against 0 %) will have, overall and per domain, and
    the questions per task ``target`` needs; from earlier trials in the spec's storage where there are some."""
    spec = as_spec(spec)
    estimate = spec.resources.estimate
    tasks = task_designs(spec)
    earlier = earlier_trials(spec, Store(spec.storage))
    seeds = len(spec.search.seed)
    scopes, basis = [], {}
    for family in spec.search.family:
        known = earlier.get(family, Earlier())
        per_task = {t.task: known.discordance(t.task, estimate.correlation, estimate.accuracy) for t in tasks}
        basis[family] = _basis(known, per_task, estimate)
        domains = list(dict.fromkeys(t.domain for t in tasks))
        for scope, members in [("overall", tasks)] + [(d, [t for t in tasks if t.domain == d]) for d in domains]:
            d = [per_task[t.task][0] for t in members]
            design = design_mde([t.questions for t in members], d, seeds, alpha=alpha, power=power)
            needed = questions_for(target, [t.available for t in members], d, seeds, alpha=alpha, power=power)
            largest = max((t.available or 0 for t in members), default=0)
            capped = [t.task for t in members if t.available is not None
                      and t.available < (needed if needed is not None else largest + 1)]
            everything = (design_mde([t.available for t in members], d, seeds, alpha=alpha, power=power).value
                          if needed is None and all(t.available for t in members) else float("nan"))
            accuracies = [per_task[t.task][2] for t in members if per_task[t.task][2] == per_task[t.task][2]]
            sources = list(dict.fromkeys(per_task[t.task][1] for t in members))
            scopes.append(ScopeForecast(
                family, scope, members, seeds, seeds * sum(t.questions for t in members), design.discordance,
                sum(accuracies) / len(accuracies) if accuracies else float("nan"), " + ".join(sources), design,
                target, needed, capped, everything))
    return PowerForecast(_comparisons(spec), scopes, basis, alpha, power, target)


def _comparisons(spec: SweepSpec) -> list[str]:
    """The report's comparisons of this spec's mixes: each proportion against 0 %."""
    proportions = spec.search.proportions()
    if proportions is None:
        return ["each proportion the search runs against 0 % (when it runs 0 %)"]
    others = [p for p in proportions if p != 0.0]
    if 0.0 not in proportions:
        return [f"none: the grid has no 0 % mix (the report compares {', '.join(f'{p:g}' for p in others)} with a "
                "0 % trial only when one is loaded with it)"]
    return [f"{p:g} vs 0" for p in others]


def _basis(known: Earlier, per_task: dict, estimate) -> str:
    """Where one family's discordance comes from, in words."""
    sources = {source for _, source, _ in per_task.values()}
    if sources & {"observed", "pooled"}:
        return (f"observed: {sum(known.discordant.values())} of {sum(known.pairs.values())} paired questions "
                f"disagree in {known.trials} earlier trial(s) ({', '.join(known.sweeps)})")
    if "from accuracy" in sources:
        return (f"from the accuracy of {known.trials} earlier trial(s) ({', '.join(known.sweeps)}), no two "
                f"proportions stored: 2a(1-a)(1-r), r = {estimate.correlation:g} assumed")
    return (f"assumed (no earlier trial in the storage): accuracy {estimate.accuracy:g}, correlation "
            f"{estimate.correlation:g}, discordance 2a(1-a)(1-r) = "
            f"{2 * estimate.accuracy * (1 - estimate.accuracy) * (1 - estimate.correlation):.3f}")
