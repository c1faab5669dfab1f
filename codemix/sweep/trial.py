"""One trial of a sweep: mix → fine-tune → evaluate → result tables, each stage content-addressed.

Every stage output lives in the storage's stage cache (``codemix.storage.stage_cache``) under the hash of
everything that determines it (``codemix.sweep.hashes``), and is published atomically. A trial
whose outputs exist reuses them, so a resumed trial whose training finished goes straight to
evaluation, and a later sweep reuses the trials of an earlier one.

Read ``run_stages`` first: it runs the four stages in order, each a function of the trial and the
outputs of the stage before it that returns its own outputs (``Mixed``, ``Trained``, ``Evaluated``),
through one wrapper (``run_stage``) that holds the fault hooks, the log lines and the timing. A trial's
stage hashes and evaluation identity are resolved once, by ``Trial.start``, and carried with it.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import ray
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from codemix.data import build_mix, write_mix
from codemix.eval import evaluate, release_engine, runs_in_process
from codemix.models import interpolation_weights, write_interpolated
from codemix.models.loading import local_model_dir, resolve_model_source
from codemix.results import results_key, write_trial_results
from codemix.runtime import TrainFaults, at_stage
from codemix.search import is_searched, trial_summary
from codemix.spec import SweepSpec
from codemix.storage import Store, interpolated_key, mix_key, predictions_key, publish, record_attempt
from codemix.sweep.hashes import eval_identity, model_id, stage_hashes
from codemix.sweep.space import TrialPoint, at_fidelity, is_untuned
from codemix.train import TrainRun, fine_tune
from codemix.version import __version__

log = logging.getLogger("codemix")


# ----------------------------------------------------------------------------- the recipe


def run_trial(spec: SweepSpec, point: TrialPoint, *, store: Store, pool_key: str, pool_hash: str,
              trial_id: str | None = None, in_tune: bool = False) -> dict:
    """Run the four stages for one sweep point and write its result tables; returns summary metrics."""
    return run_stages(Trial.start(spec, point, store, pool_key, pool_hash, trial_id, in_tune))


def run_stages(trial: Trial) -> dict:
    """Run the trial's four stages and write its result tables; returns what it reports to Tune.

    A trial that finished in this experiment is not rerun. One that raises is recorded as failed,
    with the stages it finished, and the error is raised again (Tune records it too).
    """
    done = _finished_summary(trial.experiment, trial.key, trial.spec.search.metric)
    if done is not None:
        return done
    started = record_attempt(trial.experiment, trial.key, trial.trial_id, asdict(trial.point))
    mix = train = None  # the stages that finished, for the failure record
    try:
        if trial.untuned:  # the starting model is evaluated as it is: nothing to mix or train
            mix, train = Mixed.skipped(), Trained.starting_model(trial)
        elif trial.point.interpolated:  # made from its anchors' fine-tunes: no mix or training of its own
            mix, train = Mixed.skipped(), run_stage(trial, "interpolate", interpolate_model)
        else:
            mix = run_stage(trial, "mix", make_mix)
            train = run_stage(trial, "train", train_model, mix)
        evaluation = run_stage(trial, "eval", evaluate_model, train)
    except Exception as err:
        record_failure(trial, started, err, mix, train)
        raise
    return run_stage(trial, "results", write_results, started, mix, train, evaluation).summary


@dataclass(frozen=True)
class Trial:
    """One trial as it runs: its spec and point, where its stages are stored, their content addresses and the
    evaluation's identity (resolved once, here: the hashes and the provenance columns agree by construction)."""

    spec: SweepSpec  # as the trial runs it (a successive-halving rung's evaluation limit applied)
    point: TrialPoint  # as it is hashed (an untuned trial's point is the family's reference)
    store: Store
    pool_key: str  # the sweep's labelled pool in the stage cache
    hashes: dict  # stage_hashes: mix, train, train_run, eval, trial (and an interpolated trial's anchors)
    eval_identity: dict  # the evaluation's backend and dtype as resolved for this trial's model
    trial_id: str | None = None  # Tune's
    in_tune: bool = False

    @classmethod
    def start(cls, spec: SweepSpec, point: TrialPoint, store: Store, pool_key: str, pool_hash: str,
              trial_id: str | None = None, in_tune: bool = False) -> "Trial":
        if is_untuned(spec, point):
            point = point.as_untuned()
        identity = eval_identity(spec, point)
        return cls(at_fidelity(spec, point), point, store, pool_key, stage_hashes(spec, point, pool_hash, identity),
                   identity, trial_id, in_tune)

    @property
    def key(self) -> str:
        """The trial key: its row in the experiment's result tables."""
        return self.hashes["trial"]

    @property
    def untuned(self) -> bool:
        return self.point.untuned

    @property
    def experiment(self) -> Store:
        return self.store.child(self.spec.name)


# ----------------------------------------------------------------------------- what the stages return


@dataclass(frozen=True)
class StageOutput:
    """How a stage ended ('computed', 'cached' or 'skipped') and its wall time (set by ``run_stage``)."""

    state: str
    seconds: float = field(default=0.0, kw_only=True)


@dataclass(frozen=True)
class Mixed(StageOutput):
    """The trial's IFT mix in the stage cache."""

    key: str | None = None
    manifest: dict = field(default_factory=dict)
    mix_hash: str | None = None  # the content hash of the mix itself (the manifest's), else the planned one

    @classmethod
    def skipped(cls) -> "Mixed":
        return cls("skipped")


@dataclass(frozen=True)
class Trained(StageOutput):
    """The model to evaluate: a fine-tuned checkpoint, or the starting model of an untuned trial."""

    model_source: str = ""  # a checkpoint URL (resolved where evaluation runs) or a model source
    metrics: dict = field(default_factory=dict)

    @classmethod
    def starting_model(cls, trial: Trial) -> "Trained":
        return cls("skipped", model_source=resolve_model_source(trial.point.family, trial.spec.model))


@dataclass(frozen=True)
class Evaluated(StageOutput):
    """The model's predictions and per-task scores."""

    predictions: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Written(StageOutput):
    """The trial's rows in the result tables, and the summary Tune receives."""

    summary: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- the stages


# Where the fault hooks (codemix.runtime.faults) stop a trial: as it reaches a stage, and, for the results, once
# they are written (a kill 'between' trials).
_HOOK_BEFORE = {"mix": "mix", "train": "train", "interpolate": "interpolate", "eval": "eval"}
_HOOK_AFTER = {"results": "between"}


def run_stage(trial: Trial, name: str, stage, *inputs) -> StageOutput:
    """Run one stage of ``trial`` on the outputs of the stages before it: logged, timed, with its fault hooks."""
    log.info("trial %s %s: %s", trial.key, trial.point, name)
    start = time.perf_counter()
    if name in _HOOK_BEFORE:
        at_stage(trial.experiment, _HOOK_BEFORE[name])
    out = stage(trial, *inputs)
    if name in _HOOK_AFTER:
        at_stage(trial.experiment, _HOOK_AFTER[name])
    return replace(out, seconds=time.perf_counter() - start)


def make_mix(trial: Trial) -> Mixed:
    """Build the IFT mix from the sweep's pool (or reuse it)."""
    spec, point, store = trial.spec, trial.point, trial.store
    key = mix_key(trial.hashes["mix"])

    def write(d: Path) -> None:
        pool = store.read_parquet(f"{trial.pool_key}/pool.parquet")
        table, manifest = build_mix(pool, spec.mix, point.proportion, point.seed, point.code_language,
                                    point.corruption)
        write_mix(table, manifest, d)

    state = "computed" if publish(store, key, write) else "cached"
    manifest = store.read_json(f"{key}/manifest.json")
    return Mixed(state, key=key, manifest=manifest, mix_hash=manifest.get("sha256", trial.hashes["mix"]))


def train_model(trial: Trial, mix: Mixed) -> Trained:
    """Fine-tune the starting model on the mix (or reuse the checkpoint)."""
    spec, point, store = trial.spec, trial.point, trial.store
    run = TrainRun(store=store, mix_key=mix.key, mix_hash=trial.hashes["mix"], family=point.family,
                   model_source=resolve_model_source(point.family, spec.model), model_cfg=spec.model,
                   train_cfg=spec.train, resources=spec.resources, seed=point.seed, train_hash=trial.hashes["train"],
                   run_hash=trial.hashes["train_run"], fidelity=point.fidelity)
    state = "cached" if store.is_complete(run.checkpoint_key) else "computed"
    if state == "computed":  # an evaluation engine this process holds serves this trial only if it holds the base
        release_engine(keep_base=local_model_dir(run.model_source) if spec.train.method == "lora" else None)
    # A searcher needs the objective in every result Tune receives: a searched trial reports only
    # once, at the end, so its training progress is not forwarded to Tune.
    key, metrics = fine_tune(run, in_tune=trial.in_tune and not is_searched(spec),
                             faults=TrainFaults.from_env(trial.experiment))
    return Trained(state, model_source=store.url(key), metrics=metrics)  # the URL: local_model_dir downloads it


def interpolate_model(trial: Trial) -> Trained:
    """The model at the trial's proportion interpolated in weight space between its anchors' fine-tunes
    (``codemix.models.interpolate``), or reused; each anchor's mix and training come from the cache (or run here,
    as that anchor's own trial would run them)."""
    point, store = trial.point, trial.store
    key = interpolated_key(trial.hashes["train"])
    weights = interpolation_weights(point.anchors, point.proportion)

    def write(d: Path) -> None:
        folders = []
        for anchor, hashes, w in zip(point.anchor_points(), trial.hashes["anchors"], weights):
            if w == 0.0:
                continue
            own = replace(trial, point=anchor, hashes=hashes)
            folders.append(local_model_dir(train_model(own, make_mix(own)).model_source))
        write_interpolated(d, folders, [w for w in weights if w != 0.0])

    state = "computed" if publish(store, key, write) else "cached"
    return Trained(state, model_source=store.url(key),
                   metrics={"anchors": list(point.anchors), "weights": weights})


def evaluate_model(trial: Trial, train: Trained) -> Evaluated:
    """Evaluate the model (a checkpoint folder or a model source) on the suite, or reuse the predictions.

    On CPU with one replica generation runs here, in the trial's process, on the engine it keeps for the next
    trial (``resources.eval_launcher``); else as a Ray Data stage, in a task outside the trial's placement group.
    """
    spec, store = trial.spec, trial.store
    key = predictions_key(trial.hashes["eval"])
    threads = spec.resources.torch_threads

    def write(d: Path) -> None:
        if runs_in_process(spec.resources.eval_launcher, spec.eval):
            predictions, scores, info = evaluate(train.model_source, spec.eval, spec.model, threads, in_process=True)
        else:
            predictions, scores, info = _evaluate_on_ray_data(train.model_source, spec, threads)
        pq.write_table(pa.Table.from_pylist(predictions), d / "predictions.parquet")
        (d / "scores.json").write_text(json.dumps({"scores": scores, "info": info}))

    state = "computed" if publish(store, key, write) else "cached"
    saved = store.read_json(f"{key}/scores.json")
    return Evaluated(state, predictions=store.read_parquet(f"{key}/predictions.parquet").to_pylist(),
                     scores=saved["scores"], info=saved["info"])


def _evaluate_on_ray_data(model_source: str, spec: SweepSpec, threads: int | None):
    """``evaluate`` with its generation as a Ray Data stage, run as a task: Ray Data started inside a Tune trial
    would land in the trial's placement group and stall."""
    task = ray.remote(num_cpus=0, scheduling_strategy=PlacementGroupSchedulingStrategy(placement_group=None))(evaluate)
    return ray.get(task.remote(model_source, spec.eval, spec.model, threads))


def write_results(trial: Trial, started: datetime, mix: Mixed, train: Trained, evaluation: Evaluated) -> Written:
    """Write the trial's rows (trials, scores, predictions) to the experiment; returns Tune's summary."""
    finished = datetime.now(timezone.utc)
    scores, metrics = evaluation.scores, train.metrics
    overall = sum(s["accuracy"] for s in scores) / len(scores) if scores else None
    row = {"status": "ok", "overall_accuracy": overall, "train_loss": metrics.get("loss"),
           "heldout_loss_before": metrics.get("heldout_loss_before"),
           "heldout_loss_after": metrics.get("heldout_loss_after"),
           "train_tokens_per_s": metrics.get("tokens_per_s"), "train_mfu": metrics.get("mfu"),
           "train_seconds": train.seconds, "eval_seconds": evaluation.seconds,
           "timings": json.dumps({k: round(v, 3) for k, v in _timings(mix, train, evaluation).items()}
                                 | {"trial": round((finished - started).total_seconds(), 3)}),
           "stages": json.dumps(_states(mix, train, evaluation)), "config": _config_json(trial.spec),
           "started_at": started, "finished_at": finished}
    write_trial_results(trial.experiment, trial.key, provenance(trial, mix), row,
                        scores=[{**s, "finished_at": finished} for s in scores], predictions=evaluation.predictions)
    return Written("computed", summary=trial_summary(row, scores, trial.spec.search.metric))


# ----------------------------------------------------------------------------- the trial's records


def record_failure(trial: Trial, started: datetime, err: Exception, mix: Mixed | None, train: Trained | None) -> None:
    """Record a trial that raised, with the stages it finished (called while ``err`` is being handled)."""
    row = {"status": "error", "error": f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}",
           "stages": json.dumps(_states(mix, train)), "config": _config_json(trial.spec), "started_at": started,
           "finished_at": datetime.now(timezone.utc)}
    write_trial_results(trial.experiment, trial.key, provenance(trial, mix), row)


def provenance(trial: Trial, mix: Mixed | None) -> dict:
    """What the trial's rows say it is: its point, model, hashes and evaluation identity, codemix's version.

    ``mix_hash`` is the mix's own content hash once the mix stage finished, the planned one before."""
    spec, point = trial.spec, trial.point
    return {"sweep": spec.name, "trial_key": trial.key, "trial_id": trial.trial_id, **point.columns(),
            "model_id": model_id(spec, point.family), "train_method": "none" if trial.untuned else spec.train.method,
            "mix_hash": trial.hashes["mix"] if mix is None else mix.mix_hash, "train_hash": trial.hashes["train"],
            "eval_hash": trial.hashes["eval"], **{f"eval_{k}": v for k, v in trial.eval_identity.items()},
            "codemix_version": __version__}


def _config_json(spec: SweepSpec) -> str:
    return spec.model_dump_json(exclude={"search"})


def _states(mix: Mixed | None, train: Trained | None, evaluation: Evaluated | None = None) -> dict[str, str]:
    """How each finished stage ended, in stage order."""
    return {name: out.state for name, out in (("mix", mix), ("train", train), ("eval", evaluation))
            if out is not None}


def _timings(mix: Mixed, train: Trained, evaluation: Evaluated) -> dict[str, float]:
    """Each stage's wall time; a computed one's compute too (generation; the optimiser steps), the rest of
    which is scheduling, model load, scoring, checkpoints and publishing."""
    timings = {"mix": mix.seconds, "train": train.seconds, "eval": evaluation.seconds}
    if evaluation.state == "computed":
        timings["generate"] = evaluation.info.get("generate_seconds", 0.0)
        timings |= {f"eval_{k}": v for k, v in evaluation.info.get("phases", {}).items()}
    if train.state == "computed":
        timings["train_steps"] = train.metrics.get("steps_seconds", 0.0)
    return timings


def _finished_summary(experiment: Store, trial_key: str, metric: str) -> dict | None:
    """The summary of a trial that already finished in this experiment (it is never rerun), else None."""
    if not experiment.exists(results_key("trials", trial_key)):
        return None
    done = experiment.read_parquet(results_key("trials", trial_key)).to_pylist()[0]
    if done["status"] != "ok":
        return None
    log.info("trial %s already finished; not rerun", trial_key)
    return trial_summary(done, experiment.read_parquet(results_key("scores", trial_key)).to_pylist(), metric)

