"""Planning a sweep: what it will run, what is already cached, and what it will cost, before it runs.

Estimates are deliberately simple and printed with their assumptions: training FLOPs are
6·params·tokens for full fine-tuning (4·params·tokens for LoRA, no weight gradients of the base),
plus 2·params·tokens when gradient checkpointing recomputes the forward pass in the backward one
(8 and 6), generation FLOPs 2·params·tokens, divided by the GPU's bf16 peak times an assumed
utilisation. Memory per GPU for full fine-tuning with AdamW in bf16 is ~16 bytes/param (weights,
gradients, fp32 master and two moments), divided across GPUs by ZeRO-3, plus activations, plus the
logits of a micro-batch: micro_batch x max_length x vocabulary x ~12 bytes at the loss (the bf16
logits the output keeps, their fp32 copy and its log-softmax in the loss, the fp32 gradient in the
backward pass): 25 GB for Gemma's 256k vocabulary at 4 x 2048. The utilisations and tokens per word
are ``resources.estimate`` of the spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from codemix.data import pool_hash, prepare_pool
from codemix.eval import build_prompts
from codemix.models import get_family
from codemix.runtime import gpu_named
from codemix.search import check_search, is_searched
from codemix.spec import SweepSpec
from codemix.storage import Store, checkpoint_key, local_data_dir, mix_key, pool_subdir, predictions_key
from codemix.sweep.data_stage import infeasible_mixes
from codemix.sweep.hashes import stage_hashes
from codemix.sweep.space import as_spec, grid_points
from codemix.sweep.warmstart import start_search


@dataclass
class TrialPlan:
    """One trial of a plan: its stage hashes, cache status and cost estimates."""

    point: object
    hashes: dict
    cached: dict
    params_b: float
    train_tokens: float
    gpu_hours_train: float
    gpu_hours_eval: float
    memory_per_gpu_gb: float | None


def _params_b(spec: SweepSpec, family: str) -> float:
    fam = get_family(family)
    if spec.model.size == "tiny":
        return 0.0002
    return fam.params.get(spec.model.size, 7.0)


LOGIT_BYTES = 12  # per logit of a micro-batch at the loss's peak (see the module docstring)


def estimate_memory_gb(params_b: float, method: str, gpus: int, logits_gb: float = 0.0) -> float:
    """Rough peak GPU memory per device for fine-tuning (weights + optimizer + 20% activations + the logits)."""
    if method == "lora":
        return params_b * 2 * 1.2 + 2 + logits_gb  # frozen bf16 base, small adapter state
    return params_b * 16 / max(gpus, 1) * 1.2 + 2 + logits_gb


def logits_gb(spec: SweepSpec, family: str) -> float:
    """The logits of one micro-batch at the loss: micro_batch x max_length x vocabulary x LOGIT_BYTES."""
    if spec.model.size == "tiny":
        return 0.0
    t = spec.train
    return t.micro_batch_size * t.max_length * get_family(family).vocab * LOGIT_BYTES / 1e9


def train_flops_per_param_token(spec: SweepSpec) -> int:
    """6 (forward 2, backward 4) for full fine-tuning, 4 for LoRA (no weight gradients of the frozen base), each
    + 2 when gradient checkpointing runs the forward pass again in the backward one."""
    return (4 if spec.train.method == "lora" else 6) + (2 if spec.train.gradient_checkpointing else 0)


def _estimate_pool(spec: SweepSpec):
    """The labelled pool for the estimate, its cache key, and which labels it has.

    Planning spends nothing: when the configured classifier is a paid LLM whose labels are not
    cached yet, the pool is labelled with the offline heuristic instead (and said so).
    """
    data_cfg, labels = spec.data, spec.data.classifier.name
    if labels != "heuristic" and not (local_data_dir() / pool_subdir(pool_hash(spec.data))).exists():
        data_cfg = spec.data.model_copy(update={"classifier": spec.data.classifier.model_copy(
            update={"name": "heuristic"})})
        labels = f"heuristic (estimate: the {spec.data.classifier.name!r} labels are not cached yet)"
    pool, pool_key, _ = prepare_pool(data_cfg, local_data_dir())
    return pool, pool_key, labels


def _generated_tokens(spec: SweepSpec) -> tuple[int, float]:
    """The number of evaluation prompts, and the tokens one evaluation reads and writes (at most)."""
    prompts = build_prompts(spec.eval)
    per_word = spec.resources.estimate.tokens_per_word
    prompt_tokens = sum(per_word * len(p["messages"].split()) for p in prompts)
    return len(prompts), prompt_tokens + len(prompts) * spec.eval.sampling.max_new_tokens


def _plan_point(spec: SweepSpec, point, hashes: dict, store, tokens_per_example: float, gen_tokens: float,
                gpu_info, n_gpus: int) -> tuple[TrialPlan, float, float]:
    """One trial's plan, its full cost in GPU-hours (cached stages included) and its evaluation's."""
    untuned = hashes["mix"] is None  # nothing to mix or train: the starting model is evaluated as it is
    cached = {"mix": untuned or store.is_complete(mix_key(hashes["mix"])),
              "train": untuned or store.is_complete(checkpoint_key(hashes["train"])),
              "eval": store.is_complete(predictions_key(hashes["eval"]))}
    params = _params_b(spec, point.family) * 1e9
    tokens = 0 if untuned else (  # a successive-halving rung trains its share of the steps
        spec.mix.total * tokens_per_example * (spec.train.epochs if not spec.train.max_steps else 1) * point.fidelity)
    flops_per_token, estimate = train_flops_per_param_token(spec), spec.resources.estimate
    train_full = flops_per_token * params * tokens / (gpu_info.bf16_flops * estimate.train_mfu) / 3600
    eval_full = 2 * params * gen_tokens / (gpu_info.bf16_flops * estimate.generate_utilisation) / 3600
    train_h, eval_h = (0.0 if cached["train"] else train_full), (0.0 if cached["eval"] else eval_full)
    memory = (estimate_memory_gb(params / 1e9, spec.train.method, n_gpus, logits_gb(spec, point.family))
              if n_gpus else None)
    return TrialPlan(point, hashes, cached, params / 1e9, tokens, train_h, eval_h, memory), train_full + eval_full, \
        eval_full


def plan_sweep(spec: SweepSpec, gpu: str = "A100-80GB") -> tuple[list[TrialPlan], dict]:
    """Plan every grid point: stage hashes, cache status, tokens, GPU-hours and memory fit.

    Planning spends nothing (see ``_estimate_pool``). For a searched sweep the plans are the corners
    of the search range (for cost and fit), and ``assumptions["search"]`` holds the known points it
    will start from and its GPU-hours per new trial.
    """
    spec = check_search(as_spec(spec))
    store = Store(spec.storage)
    pool, pool_key, labels = _estimate_pool(spec)
    words = [sum(len(t["content"].split()) for t in turns) for turns in pool.column("turns").to_pylist()]
    estimate = spec.resources.estimate
    tokens_per_example = min(spec.train.max_length, estimate.tokens_per_word * sum(words) / max(len(words), 1))
    infeasible = [f"mix.total = {spec.mix.total} at proportion {p:g} ({lang}): {err}"
                  for p, lang, err in infeasible_mixes(spec, pool)]
    n_prompts, gen_tokens = _generated_tokens(spec)
    gpu_info = gpu_named(gpu)
    n_gpus = spec.resources.num_workers * max(spec.resources.gpus_per_worker, 0)
    plans, per_trial, per_eval = [], [], []
    for point in grid_points(spec):
        plan, full_cost, eval_cost = _plan_point(spec, point, stage_hashes(spec, point, pool_key), store,
                                                 tokens_per_example, gen_tokens, gpu_info, n_gpus)
        plans.append(plan)
        per_trial.append(full_cost)
        per_eval.append(eval_cost)
    assumptions = {"labels": labels, "pool": len(words), "gpu": gpu_info.name,
                   "gpu_bf16_tflops": gpu_info.bf16_flops / 1e12, "train_mfu": estimate.train_mfu,
                   "generate_utilisation": estimate.generate_utilisation,
                   "tokens_per_example": round(tokens_per_example), "eval_prompts": n_prompts,
                   "gpus_per_trial": n_gpus, "gpu_memory_gb": gpu_info.memory_gb,
                   "infeasible": infeasible}
    if is_searched(spec):
        assumptions["search"] = {"start": start_search(spec, store, pool_key),
                                 "gpu_hours_per_trial": sum(per_trial) / max(len(per_trial), 1),
                                 # what a trial that trains nothing costs (an interpolated model's evaluation)
                                 "gpu_hours_per_eval": sum(per_eval) / max(len(per_eval), 1)}
    return plans, assumptions


def check_fits(plans: list[TrialPlan], assumptions: dict, spec: SweepSpec,
               cluster: dict | None = None) -> list[str]:
    """Problems that would make trials fail on the cluster, found before any GPU is rented.

    ``cluster`` is a Ray cluster-launcher config (cluster.yaml): every training worker must fit
    on one node type, and a trial's workers on the nodes the autoscaler may start.
    """
    problems = []
    if cluster:
        r = spec.resources
        nodes = [(name, t.get("resources", {}), t.get("max_workers", cluster.get("max_workers", 0)))
                 for name, t in cluster.get("available_node_types", {}).items()]
        fits = [(name, res, n) for name, res, n in nodes
                if res.get("GPU", 0) >= r.gpus_per_worker and res.get("CPU", 0) >= r.cpus_per_worker]
        if not fits:
            problems.append(f"no node type in the cluster has {r.gpus_per_worker:g} GPU(s) and "
                            f"{r.cpus_per_worker:g} CPU(s) for one training worker")
        else:
            per_node = [min(res.get("GPU", 0) // max(r.gpus_per_worker, 1e-9) if r.gpus_per_worker else 10**6,
                            res.get("CPU", 0) // r.cpus_per_worker) * n for _, res, n in fits]
            if sum(per_node) < r.num_workers:
                problems.append(f"a trial needs {r.num_workers} workers of {r.gpus_per_worker:g} GPU(s); the "
                                f"cluster's node types can hold at most {int(sum(per_node))}")
    if assumptions["gpus_per_trial"] == 0 and any(p.params_b >= 1.0 for p in plans):
        problems.append(f"model.size {spec.model.size!r} with resources.gpus_per_worker = 0: models of a billion "
                        "parameters or more need GPUs")
    for p in plans:
        if p.memory_per_gpu_gb and p.memory_per_gpu_gb > assumptions["gpu_memory_gb"]:
            problems.append(
                f"{p.point.family} ({p.params_b:g}B, {spec.train.method}): ~{p.memory_per_gpu_gb:.0f} GB per GPU on "
                f"{assumptions['gpus_per_trial']:g} GPU(s) exceeds {assumptions['gpu_memory_gb']} GB; raise "
                f"resources.num_workers or use train.method: lora")
    return sorted(set(problems))
