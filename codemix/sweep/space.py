"""A sweep's search space: its points (``TrialPoint``), the grid of them, and Tune's view of it.

Nothing here starts or imports Ray Tune at module level: ``codemix plan`` and ``codemix validate``
list a sweep's points without it. ``param_space`` builds Tune's search space (it imports Tune when
called, by the driver that is about to start the experiment).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from codemix.spec import SweepSpec, load_spec, parse_spec
from codemix.sweep.storage_checks import warn_if_inside_job_copy


@dataclass(frozen=True)
class TrialPoint:
    """The sweep dimensions of one trial. ``proportion`` None is the family's untuned reference; ``fidelity`` < 1
    a successive-halving rung below full fidelity (``search.halving``); ``anchors`` the proportions whose fine-tuned
    models (same family, seed and settings) are interpolated in weight space to make this one, which trains
    nothing of its own (the surrogate of ``search.searcher: surrogate``; empty: a model trained on its own mix)."""

    family: str
    proportion: float | None
    seed: int = 0
    code_language: str = "any"
    corruption: float = 0.0
    fidelity: float = 1.0
    anchors: tuple[float, ...] = ()

    @classmethod
    def from_config(cls, config: dict) -> "TrialPoint":
        proportion = config["proportion"]
        point = cls(family=config["family"], proportion=None if proportion is None else round(float(proportion), 6),
                    seed=int(config.get("seed", 0)), code_language=config.get("code_language", "any"),
                    corruption=float(config.get("corruption", 0.0)), fidelity=float(config.get("fidelity", 1.0)),
                    anchors=tuple(round(float(a), 6) for a in config.get("anchors") or ()))
        return point.as_untuned() if point.untuned else point

    @classmethod
    def untuned_reference(cls, family: str) -> "TrialPoint":
        """The family's starting model evaluated as it is: no mix, no seed, no code settings."""
        return cls(family=family, proportion=None)

    @property
    def untuned(self) -> bool:
        return self.proportion is None

    @property
    def interpolated(self) -> bool:
        """Whether the model is interpolated between anchors' fine-tunes rather than trained on its own mix."""
        return bool(self.anchors)

    def anchor_points(self) -> list["TrialPoint"]:
        """The real trials whose fine-tuned models this one interpolates (its group and seed, full fidelity)."""
        return [replace(self, proportion=a, fidelity=1.0, anchors=()) for a in self.anchors]

    def as_untuned(self) -> "TrialPoint":
        return TrialPoint.untuned_reference(self.family)

    def identity(self) -> dict:
        """The point as its trial key hashes it: full fidelity and no anchors add nothing (keys of sweeps before
        fidelities and anchors existed stay as they were)."""
        out = asdict(self)
        if self.fidelity == 1.0:
            del out["fidelity"]
        if self.anchors:
            out["anchors"] = list(self.anchors)
        else:
            del out["anchors"]
        return out

    def columns(self) -> dict:
        """The point as the result tables' provenance columns hold it (``anchors`` null for a trained model)."""
        return {**asdict(self), "anchors": list(self.anchors) or None}


def at_fidelity(spec: SweepSpec, point: TrialPoint) -> SweepSpec:
    """The spec a trial at ``point.fidelity`` runs: below full fidelity its evaluation asks
    ``search.halving.eval_limit`` questions per task (when set); training stops early (``TrainRun``)."""
    limit = spec.search.halving.eval_limit
    if point.fidelity == 1.0 or limit is None:
        return spec
    return spec.model_copy(update={"eval": spec.eval.model_copy(update={"limit": limit})})


def is_untuned(spec: SweepSpec, point: TrialPoint) -> bool:
    """Whether the trial evaluates its starting model as it is (the reference, or a train.method 'none' sweep)."""
    return point.untuned or spec.train.method == "none"


def as_spec(spec: SweepSpec | dict | str | Path) -> SweepSpec:
    """Accept a SweepSpec, a dict or a YAML path; relative local storage becomes absolute."""
    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    elif isinstance(spec, dict):
        spec = parse_spec(spec)
    if "://" not in spec.storage:
        warn_if_inside_job_copy(spec.storage)
        spec = spec.model_copy(update={"storage": str(Path(spec.storage).expanduser().resolve())})
    return spec


def grid_points(spec: SweepSpec) -> list[TrialPoint]:
    """All distinct grid points (for a searcher: the corners of the proportion range; for successive halving:
    its first rung, every proportion at the lowest fidelity).

    Untuned trials (``search.reference``, or every point of a ``train.method: none`` sweep) come
    first, once per family: the starting model does not depend on proportion, seed or code settings.
    """
    s = spec.search
    references = [TrialPoint.untuned_reference(f) for f in s.family]
    if spec.train.method == "none":
        return references
    proportions = s.proportions() or [s.proportion.min, s.proportion.max]
    fidelity = s.halving.rungs[0] if s.searcher == "halving" else 1.0
    points = [TrialPoint(f, p, seed, lang, c, fidelity) for f in s.family for p in proportions for seed in s.seed
              for lang in s.code_language for c in s.corruption]
    return (references if s.reference else []) + points


def param_space(spec: SweepSpec) -> dict:
    """Tune's search space: grid axes, or distributions for a searcher."""
    from ray import tune  # Tune only for the driver that starts an experiment (plan and validate never call this)

    s = spec.search
    axes = {"family": s.family, "seed": s.seed, "code_language": s.code_language, "corruption": s.corruption}
    if s.searcher == "grid":
        # None = the untuned reference; its copies across the other axes are one trial (same trial key:
        # the first to run computes it, the others find it finished)
        untuned = spec.train.method == "none"
        proportions = [None] if untuned else [None] * s.reference + s.proportions()
        return {"proportion": tune.grid_search(proportions),
                **{k: tune.grid_search([v[0]] if untuned else v) for k, v in axes.items()}}
    proportion = (tune.choice(s.proportions()) if s.proportions() is not None
                  else tune.uniform(s.proportion.min, s.proportion.max))
    return {"proportion": proportion, **{k: tune.choice(v) for k, v in axes.items()}}
