"""One trial of a sweep: mix → fine-tune → evaluate → result tables, each stage content-addressed.

Every stage output lives in the storage's ``_cache/`` under the hash of everything that
determines it, and is published atomically. A trial whose outputs exist reuses them, so a
resumed trial whose training finished goes straight to evaluation, and a later sweep reuses the
trials of an earlier one.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from codemix import cache, faults
from codemix.config import SweepSpec
from codemix.eval import evaluate
from codemix.models.loading import resolve_model_source
from codemix.results.objective import search_score
from codemix.results.writer import results_key, write_trial_results
from codemix.storage import Store
from codemix.sweep.hashes import eval_identity, model_id, stage_hashes
from codemix.sweep.search import OBJECTIVE, is_searched
from codemix.sweep.space import TrialPoint, is_untuned
from codemix.version import __version__

log = logging.getLogger("codemix")


def stage_mix(spec: SweepSpec, point: TrialPoint, store: Store, pool_key: str, mix_hash: str) -> tuple[str, dict, str]:
    """Build the IFT mix (or reuse it). Returns (key, manifest, 'computed'|'cached')."""
    from codemix.data import build_mix, write_mix

    key = cache.mix_key(mix_hash)

    def write(d: Path) -> None:
        pool = store.read_parquet(f"{pool_key}/pool.parquet")
        table, manifest = build_mix(pool, spec.mix, point.proportion, point.seed, point.code_language,
                                    point.corruption)
        write_mix(table, manifest, d)

    state = "computed" if cache.publish(store, key, write) else "cached"
    return key, store.read_json(f"{key}/manifest.json"), state


def stage_train(spec: SweepSpec, point: TrialPoint, store: Store, mix_key: str, hashes: dict,
                in_tune: bool) -> tuple[str, dict, str]:
    """Fine-tune (or reuse the checkpoint). Returns (checkpoint key, metrics, state)."""
    from codemix.train import TrainRun, fine_tune

    run = TrainRun(store=store, mix_key=mix_key, mix_hash=hashes["mix"], family=point.family,
                   model_source=resolve_model_source(point.family, spec.model), model_cfg=spec.model,
                   train_cfg=spec.train, resources=spec.resources, seed=point.seed, train_hash=hashes["train"])
    state = "cached" if store.is_complete(run.checkpoint_key) else "computed"
    key, metrics = fine_tune(run, in_tune=in_tune, faults=faults.TrainFaults.from_env(store.child(spec.name)))
    return key, metrics, state


def stage_eval(spec: SweepSpec, store: Store, model_source: str, eval_hash: str) -> tuple[list, list, dict, str]:
    """Evaluate a model (a checkpoint folder or a model source) on the suite, or reuse the predictions.

    Returns (predictions, scores, info, state).
    """
    import ray
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    key = cache.predictions_key(eval_hash)

    def write(d: Path) -> None:
        # Ray Data started inside a Tune trial would land in the trial's placement group and stall;
        # run the evaluation as a task outside it.
        task = ray.remote(num_cpus=0, scheduling_strategy=PlacementGroupSchedulingStrategy(placement_group=None))(
            evaluate)
        predictions, scores, info = ray.get(task.remote(model_source, spec.eval, spec.model,
                                                        spec.resources.torch_threads))
        pq.write_table(pa.Table.from_pylist(predictions), d / "predictions.parquet")
        (d / "scores.json").write_text(json.dumps({"scores": scores, "info": info}))

    state = "computed" if cache.publish(store, key, write) else "cached"
    predictions = store.read_parquet(f"{key}/predictions.parquet").to_pylist()
    saved = store.read_json(f"{key}/scores.json")
    return predictions, saved["scores"], saved["info"], state


def run_trial(spec: SweepSpec, point: TrialPoint, *, store: Store, pool_key: str, pool_hash: str,
              trial_id: str | None = None, in_tune: bool = False) -> dict:
    """Run the four stages for one sweep point and write its result tables; returns summary metrics."""
    experiment = store.child(spec.name)
    untuned = is_untuned(spec, point)
    if untuned:
        point = point.as_untuned()
    hashes = stage_hashes(spec, point, pool_hash)
    trial_key = hashes["trial"]
    done = _finished_summary(experiment, trial_key, spec.search.metric)
    if done is not None:
        return done

    started = datetime.now(timezone.utc)
    experiment.write_json(f"attempts/{trial_key}/{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}.json",
                          {"trial_id": trial_id, "point": asdict(point), "started_at": started.isoformat()})
    provenance = {"sweep": spec.name, "trial_key": trial_key, "trial_id": trial_id, **asdict(point),
                  "model_id": model_id(spec, point.family), "train_method": "none" if untuned else spec.train.method,
                  "mix_hash": hashes["mix"], "train_hash": hashes["train"], "eval_hash": hashes["eval"],
                  **{f"eval_{k}": v for k, v in eval_identity(spec, point).items()}, "codemix_version": __version__}
    config_json = spec.model_dump_json(exclude={"search"})
    stages: dict[str, str] = {}
    try:
        out = _run_stages(spec, point, store, pool_key, hashes, provenance, stages, in_tune)
    except Exception as err:
        trial = {"status": "error", "error": f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}",
                 "stages": json.dumps(stages), "config": config_json, "started_at": started,
                 "finished_at": datetime.now(timezone.utc)}
        write_trial_results(experiment, trial_key, provenance, trial)
        raise
    finished = datetime.now(timezone.utc)
    scores, train_metrics = out["scores"], out["train_metrics"]
    overall = sum(s["accuracy"] for s in scores) / len(scores) if scores else None
    trial = {"status": "ok", "overall_accuracy": overall, "train_loss": train_metrics.get("loss"),
             "heldout_loss_before": train_metrics.get("heldout_loss_before"),
             "heldout_loss_after": train_metrics.get("heldout_loss_after"),
             "train_tokens_per_s": train_metrics.get("tokens_per_s"), "train_mfu": train_metrics.get("mfu"),
             "train_seconds": out["train_seconds"], "eval_seconds": out["eval_seconds"],
             "timings": json.dumps({k: round(v, 3) for k, v in out["timings"].items()}),
             "stages": json.dumps(stages), "config": config_json, "started_at": started, "finished_at": finished}
    write_trial_results(experiment, trial_key, provenance, trial,
                        scores=[{**s, "finished_at": finished} for s in scores], predictions=out["predictions"])
    faults.at_stage(experiment, "between")
    return _summary(trial, scores, spec.search.metric)


def _finished_summary(experiment: Store, trial_key: str, metric: str) -> dict | None:
    """The summary of a trial that already finished in this experiment (it is never rerun), else None."""
    if not experiment.exists(results_key("trials", trial_key)):
        return None
    done = experiment.read_parquet(results_key("trials", trial_key)).to_pylist()[0]
    if done["status"] != "ok":
        return None
    log.info("trial %s already finished; not rerun", trial_key)
    return _summary(done, experiment.read_parquet(results_key("scores", trial_key)).to_pylist(), metric)


def _run_stages(spec: SweepSpec, point: TrialPoint, store: Store, pool_key: str, hashes: dict, provenance: dict,
                stages: dict, in_tune: bool) -> dict:
    """mix → train → evaluate (an untuned trial evaluates its starting model as it is).

    ``stages`` records how each stage ended as it ends (kept when a later one raises); the mix's own
    content hash replaces the planned one in ``provenance``.
    """
    experiment, trial_key = store.child(spec.name), hashes["trial"]
    t0 = start = time.perf_counter()
    if point.untuned:  # nothing to mix or train
        stages["mix"] = stages["train"] = "skipped"
        model_source, train_metrics = resolve_model_source(point.family, spec.model), {}
    else:
        log.info("trial %s %s: mix", trial_key, point)
        faults.at_stage(experiment, "mix")
        mix_key, manifest, stages["mix"] = stage_mix(spec, point, store, pool_key, hashes["mix"])
        provenance["mix_hash"] = manifest.get("sha256", hashes["mix"])  # the content hash of the mix itself
        log.info("trial %s: train (%s)", trial_key, stages["mix"])
        t0 = time.perf_counter()
        faults.at_stage(experiment, "train")
        # A searcher needs the objective in every result Tune receives: a searched trial reports only
        # once, at the end, so its training progress is not forwarded to Tune.
        ckpt_key, train_metrics, stages["train"] = stage_train(spec, point, store, mix_key, hashes,
                                                               in_tune and not is_searched(spec))
        model_source = store.url(ckpt_key)  # resolved where evaluation runs (local_model_dir downloads it)
    t1 = time.perf_counter()
    log.info("trial %s: evaluate", trial_key)
    faults.at_stage(experiment, "eval")
    predictions, scores, info, stages["eval"] = stage_eval(spec, store, model_source, hashes["eval"])
    t2 = time.perf_counter()
    timings = {"mix": t0 - start, "train": t1 - t0, "eval": t2 - t1}
    if stages["eval"] == "computed":  # the generation itself (the rest: scheduling, model load, scoring)
        timings["generate"] = info.get("generate_seconds", 0.0)
    if stages["train"] == "computed":  # the optimiser steps (the rest: model load, checkpoints, publishing)
        timings["train_steps"] = train_metrics.get("steps_seconds", 0.0)
    return {"predictions": predictions, "scores": scores, "train_metrics": train_metrics,
            "train_seconds": t1 - t0, "eval_seconds": t2 - t1, "timings": timings}


def _summary(trial: dict, scores: list[dict], metric: str) -> dict:
    out = {OBJECTIVE: search_score(scores, metric), "overall_accuracy": trial["overall_accuracy"],
           "train_loss": trial["train_loss"], "stages": trial["stages"]}
    for s in scores:  # accuracies, and the counts behind them (the optimum searcher fits those)
        out[f"task/{s['task']}"] = s["accuracy"]
        out[f"n/{s['task']}"], out[f"correct/{s['task']}"] = s["n"], s["n_correct"]
    for domain in sorted({s["domain"] for s in scores}):
        out[f"domain/{domain}"] = search_score(scores, f"domain:{domain}")
    return out
