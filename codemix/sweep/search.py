"""Searched sweeps: the Tune searchers a spec may name, the objective they maximise, and warm starts.

A sweep whose ``search.searcher`` is not ``grid`` hands the choice of points to a Ray Tune
searcher. Three rules make that work end to end:

- a trial reports to Tune once, when it has finished, with the objective (``OBJECTIVE``): its
  training progress is not forwarded (see ``trial.stage_train``), so no result without the metric
  reaches Tune or the searcher; a trial that raises is reported to the searcher as failed;
- before the search starts, every finished trial in the same storage whose stages this spec would
  reproduce (same data, model, training and evaluation config; any point of the search space) is
  fed to the searcher as a known evaluation (``start_search``), at no compute cost;
- on resume the searcher's own saved state (``Tuner.restore``) carries on; nothing is fed twice.

A new searcher is one ``@register_searcher("name")`` factory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from codemix.config import SpecError, SweepSpec
from codemix.storage import Store

log = logging.getLogger("codemix")

OBJECTIVE = "score"  # the key of the objective in a trial's final Tune result
KNOWN_POINTS_FILE = "search/known_points.json"  # what a searched experiment started from

# name -> factory(seed, known params, their objectives) -> a ray.tune.search.Searcher
SEARCHERS: dict[str, Callable[[int, list[dict], list[float]], object]] = {}


def register_searcher(name: str):
    """Declare a searcher. The factory gets the seed and the known points (Tune configs with their
    objective values) and must return a Tune ``Searcher`` that treats them as already evaluated."""
    def wrap(factory):
        SEARCHERS[name] = factory
        return factory
    return wrap


@register_searcher("optuna")
def _optuna_tpe(seed: int, points: list[dict], rewards: list[float]):
    """Optuna's TPE sampler (its first 10 points, known ones included, are random draws)."""
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(seed=seed, points_to_evaluate=points or None, evaluated_rewards=rewards or None)


@register_searcher("random")
def _optuna_random(seed: int, points: list[dict], rewards: list[float]):
    """Uniform random search (a baseline for the Bayesian searcher); known points are recorded, not used."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(sampler=optuna.samplers.RandomSampler(seed=seed), points_to_evaluate=points or None,
                        evaluated_rewards=rewards or None)


def is_searched(spec: SweepSpec) -> bool:
    """True when a searcher, not the grid, chooses the trials."""
    return spec.search.searcher != "grid"


# ----------------------------------------------------------------------------- the objective


def search_score(scores: Iterable[dict], metric: str) -> float:
    """The number a searcher maximises: 'overall', 'domain:<name>' or 'task:<name>' (mean of task accuracies)."""
    kind, _, name = metric.partition(":")
    picked = [s["accuracy"] for s in scores if kind == "overall" or (kind == "domain" and s["domain"] == name)
              or (kind == "task" and s["task"] == name)]
    if not picked:
        raise ValueError(f"search.metric {metric!r} matches no evaluated task")
    return sum(picked) / len(picked)


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


# ----------------------------------------------------------------------------- warm start


@dataclass(frozen=True)
class KnownPoint:
    """A finished trial in storage that this spec's search would reproduce: free to feed to the searcher."""

    sweep: str  # the experiment it was run in
    trial_key: str
    config: dict  # as a Tune config of this search space (proportion, family, seed, code_language, corruption)
    objective: float


@dataclass
class SearchStart:
    """What a searched sweep starts from: the known points, and what is left of the trial budget."""

    sweep: str  # the searched experiment's name
    searcher: str
    metric: str
    num_samples: int  # the spec's budget
    known: list[KnownPoint] = field(default_factory=list)
    outside: int = 0  # finished trials with matching stages but outside the search space (not fed)

    @property
    def own(self) -> int:
        """Known points that are trials of this sweep itself (a restart that lost Tune's state): they used budget."""
        return sum(1 for k in self.known if k.sweep == self.sweep)

    @property
    def to_run(self) -> int:
        """New trials the searcher may still start."""
        return max(self.num_samples - self.own, 0)

    def describe(self) -> str:
        """One line for the console and ``codemix plan``."""
        sweeps = sorted({k.sweep for k in self.known})
        known = (f"{len(self.known)} known point(s) from {', '.join(sweeps)} (no compute)" if self.known
                 else "no known points")
        extra = f"; {self.outside} matching trial(s) lie outside the search space" if self.outside else ""
        own = f" ({self.own} already run by this sweep)" if self.own else ""
        return (f"search: {self.searcher} maximising {self.metric!r}, starting from {known}{extra}; "
                f"budget {self.num_samples} trial(s){own}, {self.to_run} to run")


def _experiments(store: Store) -> list[str]:
    """Names of the folders directly under the storage root that hold trial results."""
    import pyarrow.fs as pafs

    sel = pafs.FileSelector(store.path(), allow_not_found=True)
    names = [i.base_name for i in store.fs.get_file_info(sel) if i.type == pafs.FileType.Directory]
    return sorted(n for n in names if not n.startswith(("_", ".")) and store.exists(n, "results", "trials"))


def _in_space(spec: SweepSpec, row: dict) -> dict | None:
    """The Tune config of a stored trial's point, or None when the point is outside the search space."""
    s = spec.search
    p = float(row["proportion"])
    choices = s.proportions()
    if choices is None:
        proportion = p if s.proportion.min - 1e-9 <= p <= s.proportion.max + 1e-9 else None
    else:
        proportion = next((c for c in choices if math.isclose(c, p, abs_tol=1e-6)), None)
    corruption = next((c for c in s.corruption if math.isclose(c, float(row["corruption"] or 0.0))), None)
    language = row["code_language"] or "any"
    if proportion is None or corruption is None or row["family"] not in s.family or row["seed"] not in s.seed \
            or language not in s.code_language:
        return None
    return {"proportion": proportion, "family": row["family"], "seed": int(row["seed"]),
            "code_language": language, "corruption": corruption}


def start_search(spec: SweepSpec, store: Store, pool_hash: str) -> SearchStart:
    """Collect the known points for a searched sweep from every experiment in ``store``.

    A finished trial counts when this spec, at the trial's point, yields the same evaluation hash
    (which chains the mix, training and evaluation hashes, so the data, model, training and eval
    configs all match). Copies of one trial in several experiments count once.
    """
    from codemix.results.writer import read_level, results_key
    from codemix.sweep.trial import TrialPoint, stage_hashes

    start = SearchStart(spec.name, spec.search.searcher, spec.search.metric, spec.search.num_samples)
    seen = set()
    for name in sorted(_experiments(store), key=lambda n: n != spec.name):  # a copy in this sweep itself wins
        experiment = store.child(name)
        for row in read_level(experiment, "trials").to_pylist():
            if row["status"] != "ok" or not row["eval_hash"] or row["proportion"] is None:
                continue  # failed, or an untuned reference (not a point of the proportion space)
            point = TrialPoint(row["family"], round(float(row["proportion"]), 6), int(row["seed"]),
                               row["code_language"] or "any", float(row["corruption"] or 0.0))
            if stage_hashes(spec, point, pool_hash)["eval"] != row["eval_hash"] or row["eval_hash"] in seen:
                continue
            config = _in_space(spec, row)
            if config is None:
                start.outside += 1
                continue
            seen.add(row["eval_hash"])
            scores = experiment.read_parquet(results_key("scores", row["trial_key"])).to_pylist()
            start.known.append(KnownPoint(name, row["trial_key"], config, search_score(scores, spec.search.metric)))
    return start


def build_searcher(spec: SweepSpec, start: SearchStart):
    """The Tune searcher named by the spec, with the known points already evaluated."""
    if spec.search.searcher not in SEARCHERS:
        raise SpecError(f"search.searcher {spec.search.searcher!r} is not registered; known: "
                        f"grid, {', '.join(sorted(SEARCHERS))}")
    return SEARCHERS[spec.search.searcher](spec.search.seed[0], [k.config for k in start.known],
                                            [k.objective for k in start.known])


def record_start(experiment: Store, start: SearchStart) -> None:
    """Write what the search started from into the experiment (the report shows it)."""
    experiment.write_json(KNOWN_POINTS_FILE, {
        "sweep": start.sweep, "searcher": start.searcher, "metric": start.metric, "num_samples": start.num_samples,
        "outside": start.outside, "known": [asdict(k) for k in start.known]})
