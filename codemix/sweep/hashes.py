"""The content addresses of a trial's stages: what determines each stage output, hashed.

The driver (``codemix plan``, a searcher's known points, Tune's lost-trial check) and the trials
compute them with the same function, so every process agrees where a stage output lives in the
cache (``codemix.storage.stage_cache``: ``_cache/mixes/<mix>``, ``checkpoints/<train>``, ``predictions/<eval>``).
"""

from __future__ import annotations

from codemix.eval import (
    EXTRACT_VERSION,
    eval_inputs_identity,
    generation_identity,
    prompt_version,
    resolve_backend,
    resolve_dtype_name,
)
from codemix.models import interpolation_weights
from codemix.models.loading import resolve_model_source
from codemix.spec import SweepSpec, hashed_dump
from codemix.storage import stable_hash
from codemix.sweep.space import TrialPoint, at_fidelity, is_untuned
from codemix.train import TRAIN_VERSION

# Part of every interpolated model's address: bump it when a change to the interpolation changes the model it makes.
INTERPOLATE_VERSION = "interpolate-v1"


def model_id(spec: SweepSpec, family: str) -> str:
    """A machine-independent name of the starting weights: the model source (tiny twins are versioned)."""
    return resolve_model_source(family, spec.model)


def stage_hashes(spec: SweepSpec, point: TrialPoint, pool_hash: str,
                 identity: dict[str, str] | None = None) -> dict[str, str | None]:
    """Content addresses of the trial's three stage outputs and the trial itself (no mix for an untuned trial),
    and ``train_run``: the training run whose checkpoints the trial's training continues (the full-fidelity run;
    ``train`` unless the trial is a rung below full fidelity).

    The spec is hashed as a Tune trial receives it (through JSON, so every default is validated:
    a float field's default ``0`` is ``0.0`` there), so the driver (plan, known points) and the
    trials agree on every address. Only the fields each section declares hashed count
    (``codemix.spec.hashed_dump``), and the generation settings outside the spec that apply
    (``eval.generation_identity``); the evaluation's backend and dtype count as resolved ('auto' is not an
    identity: it means vLLM or transformers, bf16 or fp32, depending on the machine); ``identity`` is that
    resolution when the caller already has it (``eval_identity``), so it is made once per trial.

    An interpolated point (``point.anchors``) has no mix and no training run: its ``train`` is the interpolation's
    address (its anchors' train hashes and weights, ``INTERPOLATE_VERSION``), and ``anchors`` holds each anchor
    trial's own stage hashes (the interpolation stage reuses or runs their mix and training).
    """
    spec = at_fidelity(SweepSpec.model_validate_json(spec.model_dump_json()), point)
    model = hashed_dump(spec.model)
    run, anchors = None, None
    if point.interpolated:
        mix = None
        anchors = [stage_hashes(spec, a, pool_hash, identity) for a in point.anchor_points()]
        weights = interpolation_weights(point.anchors, point.proportion)
        train = stable_hash(["interpolate", INTERPOLATE_VERSION, [[a["train"], w] for a, w in zip(anchors, weights)
                                                                  if w != 0.0]])
    elif is_untuned(spec, point):
        mix = None
        train = stable_hash(["untuned", point.family, model_id(spec, point.family), model])
    else:
        mix = stable_hash(["mix", pool_hash, hashed_dump(spec.mix), point.proportion, point.seed,
                           point.code_language, point.corruption])
        # bf16 runs: since plain DDP kept fp32 master weights (train.loop.weights_dtype) their recipe differs
        recipe = [TRAIN_VERSION, *(["fp32-master"] if spec.train.precision == "bf16" else [])]
        train = run = stable_hash(["train", *recipe, mix, point.family, model_id(spec, point.family),
                                   model, hashed_dump(spec.train), spec.resources.num_workers])
        if point.fidelity != 1.0:  # the full run's first steps: a checkpoint of that run, not the run itself
            train = stable_hash(["train-fidelity", run, point.fidelity])
    identity = identity if identity is not None else eval_identity(spec, point)
    generation = generation_identity(spec.eval, identity["backend"])  # {} while the settings are as they were
    inputs = eval_inputs_identity(spec.eval.suite, spec.eval.data_dir)  # contents, not paths (machine-independent)
    evaluation = stable_hash(["eval", train, {**hashed_dump(spec.eval), **inputs, **identity, **generation},
                              prompt_version(spec.eval.prompt), EXTRACT_VERSION])
    trial = stable_hash(["trial", point.identity(), evaluation], length=12)
    hashes = {"mix": mix, "train": train, "train_run": run, "eval": evaluation, "trial": trial}
    return hashes if anchors is None else {**hashes, "anchors": anchors}


def eval_identity(spec: SweepSpec, point: TrialPoint) -> dict[str, str]:
    """The evaluation's backend and dtype as they resolve for this trial's model (recorded and hashed)."""
    backend = resolve_backend(spec.eval, model_id(spec, point.family))
    device = "cuda" if spec.eval.num_gpus else "cpu"
    dtype = "endpoint" if backend == "openai" else resolve_dtype_name(spec.eval.dtype, device)
    return {"backend": backend, "dtype": dtype}
