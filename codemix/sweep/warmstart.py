"""Warm starts of searched sweeps: the finished trials in storage that a search may take as known.

A sweep whose ``search.searcher`` is not ``grid`` hands the choice of points to a searcher
(``codemix.search``). Before the search starts, every finished trial in the same storage whose stages
this spec would reproduce (same data, model, training and evaluation config; any point of the search
space) is fed to the searcher as a known evaluation (``start_search``, ``build_searcher``), at no
compute cost; what it started from is recorded in the experiment (``record_start``) for the report.
On resume the searcher's own saved state (``Tuner.restore``) carries on; nothing is fed twice.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from codemix.results import KNOWN_POINTS_FILE, experiments_in, read_level, results_key
from codemix.search import Known, extra_trials, search_score
from codemix.spec import SweepSpec
from codemix.storage import Store
from codemix.sweep.hashes import stage_hashes
from codemix.sweep.space import TrialPoint


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
    extra: int = 0  # trials the searcher runs beyond the budget (a surrogate search's interpolated models)

    @property
    def own(self) -> int:
        """Known points that are trials of this sweep itself (a restart that lost Tune's state): they used budget."""
        return sum(1 for k in self.known if k.sweep == self.sweep)

    @property
    def to_run(self) -> int:
        """New trials the searcher may still start (the budget's, and those it runs beyond it)."""
        return max(self.num_samples - self.own, 0) + self.extra

    def describe(self) -> str:
        """One line for the console and ``codemix plan``."""
        sweeps = sorted({k.sweep for k in self.known})
        known = (f"{len(self.known)} known point(s) from {', '.join(sweeps)} (no compute)" if self.known
                 else "no known points")
        extra = f"; {self.outside} matching trial(s) lie outside the search space" if self.outside else ""
        own = f" ({self.own} already run by this sweep)" if self.own else ""
        beyond = f" and {self.extra} evaluation(s) of interpolated models beyond it" if self.extra else ""
        return (f"search: {self.searcher} maximising {self.metric!r}, starting from {known}{extra}; "
                f"budget {self.num_samples} trial(s){own}{beyond}, {self.to_run} to run")


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
    start = SearchStart(spec.name, spec.search.searcher, spec.search.metric, spec.search.num_samples,
                        extra=extra_trials(spec))
    if spec.search.searcher == "halving":  # its rungs compare proportions at one fidelity: none is fed; the trials
        return start                       # it reaches that storage holds are reused from the cache instead
    seen = set()
    for name in sorted(experiments_in(store), key=lambda n: n != spec.name):  # a copy in this sweep itself wins
        experiment = store.child(name)
        for row in read_level(experiment, "trials").to_pylist():
            if row["status"] != "ok" or not row["eval_hash"] or row["proportion"] is None \
                    or (row.get("fidelity") or 1.0) < 1.0 or row.get("anchors"):
                continue  # failed, an untuned reference (not a point of the proportion space), a halving rung or
                # an interpolated model
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


def record_start(experiment: Store, start: SearchStart) -> None:
    """Write what the search started from into the experiment (the report shows it)."""
    experiment.write_json(KNOWN_POINTS_FILE, {
        "sweep": start.sweep, "searcher": start.searcher, "metric": start.metric, "num_samples": start.num_samples,
        "outside": start.outside, "extra": start.extra, "known": [asdict(k) for k in start.known]})


def known_points(spec: SweepSpec, start: SearchStart) -> list[Known]:
    """The known points of ``start`` as a searcher takes them: with their score rows, read back from storage."""
    store = Store(spec.storage)
    return [Known(k.config, k.objective, store.child(k.sweep).read_parquet(results_key("scores", k.trial_key))
                  .to_pylist()) for k in start.known]
