"""The training loop each Ray Train worker runs: plain PyTorch, resumable at any checkpoint.

The order of examples is a pure function of (seed, epoch), and optimizer step ``s`` always uses
micro-batches ``s*accum .. s*accum+accum-1``. A worker group restarted after a failure loads the
last checkpoint (weights, optimizer, scheduler, step) and continues at exactly the next step.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

from codemix.config import TrainConfig
from codemix.train.tokenize import IGNORE_INDEX

DIVERGED_FILE = "diverged.json"  # in a checkpoint: the loss went non-finite at this step


def schedule(n_examples: int, cfg: TrainConfig, world: int) -> tuple[int, int]:
    """(gradient accumulation steps, total optimizer steps) for a mix of n examples."""
    per_micro = cfg.micro_batch_size * world
    accum = max(1, (cfg.effective_batch_size or per_micro) // per_micro)
    steps_per_epoch = max(1, math.ceil(n_examples / (per_micro * accum)))
    total = cfg.max_steps or max(1, math.ceil(cfg.epochs * steps_per_epoch))
    return accum, total


def micro_batch_indices(k: int, n: int, micro: int, world: int, rank: int, seed: int) -> list[int]:
    """Example indices of this rank's k-th micro-batch (epochs are seeded permutations)."""
    import torch

    per_epoch = max(1, n // (micro * world))  # drop the ragged tail so every rank sees full batches
    epoch, j = divmod(k, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)).tolist()
    start = (j * world + rank) * micro
    return [perm[i % n] for i in range(start, start + micro)]


def collate(examples: list[dict], pad_id: int):
    """Right-pad a micro-batch into tensors.

    Packed rows (with ``position_ids``) get no attention mask: their position ids define the
    attention blocks, and padding forms a block of its own that no label looks at.
    """
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    packed = "position_ids" in examples[0]
    positions = torch.arange(width).repeat(len(examples), 1) if packed else None
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[i, :n] = torch.tensor(e["input_ids"])
        labels[i, :n] = torch.tensor(e["labels"])
        mask[i, :n] = 1
        if packed:
            positions[i, :n] = torch.tensor(e["position_ids"])
            positions[i, n:] = torch.arange(width - n)
    if packed:
        return {"input_ids": ids, "labels": labels, "position_ids": positions, "n_tokens": int(mask.sum())}
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "n_tokens": int(mask.sum())}


def _lr_lambda(cfg: TrainConfig, total: int):
    warmup = int(round(cfg.warmup_ratio * total))

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if cfg.lr_scheduler == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * progress)) if cfg.lr_scheduler == "cosine" else 1 - progress
    return f


def build_model(source: str, cfg: TrainConfig, lora_targets: list[str], dtype, trust_remote_code: bool):
    """Load the base model and wrap it for LoRA when asked."""
    from codemix.models.loading import load_causal_lm

    quantization = None
    if cfg.method == "lora" and cfg.lora.quantize_4bit:  # QLoRA: a 4-bit NF4 base under bf16 adapters
        import torch
        from transformers import BitsAndBytesConfig

        if not torch.cuda.is_available():
            raise RuntimeError("train.lora.quantize_4bit (QLoRA) needs a CUDA GPU and bitsandbytes")
        quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                          bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_use_double_quant=True)
    model = load_causal_lm(source, dtype=dtype, trust_remote_code=trust_remote_code, quantization=quantization)
    if quantization is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if cfg.method == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout, task_type="CAUSAL_LM",
            target_modules=cfg.lora.target_modules or lora_targets))
    return model


def train_loop_per_worker(config: dict) -> dict:
    """Ray Train entry point. ``config``: train (TrainConfig dict), model_source, examples_path, seed, ..."""
    import pyarrow.parquet as pq
    import ray.train
    import torch
    from ray.train.torch import get_device

    from codemix.models import get_family
    from codemix.train.engine import create_engine
    from codemix.train.flops import flops_per_token, mfu, peak_flops

    cfg = TrainConfig.model_validate(config["train"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = get_device()
    use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    seed = config["seed"] + cfg.seed_offset
    torch.manual_seed(seed)

    examples = pq.read_table(config["examples_path"]).to_pylist()
    accum, total_steps = schedule(len(examples), cfg, world)
    model = build_model(config["model_source"], cfg, config.get("lora_targets", []),
                        torch.bfloat16 if use_bf16 else torch.float32, config.get("trust_remote_code", False))
    trainable = [p for p in model.parameters() if p.requires_grad]
    fpt = flops_per_token(model.config, seq_len=cfg.max_length,
                          lora_params=sum(p.numel() for p in trainable) if cfg.method == "lora" else None)
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg, total_steps))
    engine = create_engine(model, optimizer, scheduler, cfg, get_family(config["family"]), world, accum,
                           use_bf16, device)

    step, losses, start_step = 0, [], 0
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as d:
            if (Path(d) / DIVERGED_FILE).exists():  # this run already diverged: stay failed, do not retrain
                return {"losses": [], "diverged_at": json.loads((Path(d) / DIVERGED_FILE).read_text())["step"]}
            state = engine.load(Path(d))
        step = start_step = state["step"]
        losses = state["losses"]
    engine.model.train()

    pad_id, peak = config["pad_token_id"], peak_flops(device)
    throughput, window = Throughput(), []
    while step < total_steps:
        t_step = time.perf_counter()
        step_loss, step_tokens = 0.0, 0
        for a in range(accum):
            idx = micro_batch_indices(step * accum + a, len(examples), cfg.micro_batch_size, world, rank, seed)
            batch = collate([examples[i] for i in idx], pad_id)
            step_tokens += batch.pop("n_tokens")
            step_loss += engine.micro_step({k: v.to(device) for k, v in batch.items()})
        if not _finite_on_every_rank(step_loss, world, device):
            # A diverged run would diverge again after a restart: report it and stop, so that
            # FailureConfig does not spend max_failures retries on it.
            _report_divergence({"step": step + 1, "total_steps": total_steps, "loss": step_loss,
                                "diverged": True, "resumed_from": start_step}, rank)
            return {"losses": losses, "diverged_at": step + 1}
        engine.step()
        step += 1
        throughput.add(step_tokens * world, time.perf_counter() - t_step)
        losses.append(step_loss)
        window.append(step_loss)
        if step == total_steps or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0):
            tokens_per_s = throughput.tokens_per_s()
            metrics = {"step": step, "total_steps": total_steps, "loss": sum(window) / len(window),
                       "tokens_per_s": tokens_per_s, "flops_per_token": fpt,
                       "mfu": mfu(tokens_per_s, fpt, world, peak), "resumed_from": start_step,
                       "threads": torch.get_num_threads()}
            window = []
            _report_with_checkpoint(engine, step, losses, metrics, rank, step == total_steps)
            _test_hooks(config, step, rank, resumed=checkpoint is not None)
    return {"losses": losses, "resumed_from": start_step, "tokens": throughput.tokens, "seconds": throughput.seconds}


class Throughput:
    """Training tokens/s (all ranks; steps only, not checkpoint writes), leaving out the first steps
    of a fresh worker: they pay one-time costs (allocator growth, first kernels, and on a small
    machine the Ray actors still starting beside it) that say nothing about the steady rate."""

    def __init__(self, untimed_steps: int = 5):
        self.untimed_steps, self.steps = untimed_steps, 0
        self.tokens, self.seconds = 0, 0.0
        self.steady_tokens, self.steady_seconds = 0, 0.0

    def add(self, tokens: int, seconds: float) -> None:
        self.steps += 1
        self.tokens += tokens
        self.seconds += seconds
        if self.steps > self.untimed_steps:
            self.steady_tokens += tokens
            self.steady_seconds += seconds

    def tokens_per_s(self) -> float:
        """The steady rate; the whole run's when it was too short to have one."""
        if self.steady_seconds > 0:
            return self.steady_tokens / self.steady_seconds
        return self.tokens / max(self.seconds, 1e-9)


def _finite_on_every_rank(loss: float, world: int, device) -> bool:
    """Whether the step's loss is finite on all ranks (one scalar all-reduce, so all ranks agree)."""
    if world == 1:
        return math.isfinite(loss)
    import torch
    import torch.distributed as dist

    total = torch.tensor([loss], dtype=torch.float64, device=device)
    dist.all_reduce(total)  # a NaN or inf on any rank makes the sum non-finite
    return math.isfinite(total.item())


def _report_divergence(metrics: dict, rank: int) -> None:
    """Report a non-finite loss as the run's latest checkpoint (Ray Train's result carries only
    checkpointed metrics): a marker file and no model state, so nothing can resume from it."""
    import ray.train

    with tempfile.TemporaryDirectory() as d:
        if rank == 0:
            (Path(d) / DIVERGED_FILE).write_text(json.dumps(metrics))
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d) if rank == 0 else None)


def _report_with_checkpoint(engine, step, losses, metrics, rank, final):
    """Every rank reports; rank 0 (every rank when state is sharded) attaches its checkpoint files."""
    import ray.train

    with tempfile.TemporaryDirectory() as d:
        engine.save(Path(d), rank, {"step": step, "losses": losses})
        if final:
            engine.export(Path(d) / "model", rank)
            if rank == 0:
                (Path(d) / "metrics.json").write_text(json.dumps({**metrics, "losses": losses}))
        attach = rank == 0 or engine.sharded
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d) if attach else None)


def _test_hooks(config: dict, step: int, rank: int, resumed: bool) -> None:
    """Failure injection for the resume tests, once the controller has collected this checkpoint
    (it polls workers every RAY_TRAIN_HEALTH_CHECK_INTERVAL_S)."""
    hang = os.environ.get("CODEMIX_TEST_HANG_AT", "")  # "<step>:<marker file>", set on one node of a test cluster
    if hang and not resumed and rank == 0 and int(hang.split(":")[0]) == step:
        time.sleep(5 * float(os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "2")))
        Path(hang.split(":", 1)[1]).touch()  # the test now removes this node; training stays at this step
        time.sleep(3600)
    if resumed or rank != 0 or step not in (config.get("fail_at_step"), config.get("kill_at_step")):
        return
    time.sleep(5 * float(os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "2")))
    if config.get("kill_at_step") == step:  # the whole sweep driver dies mid-training
        os.killpg(int(os.environ["CODEMIX_TEST_KILL_PGID"]), 9)
    os._exit(1)  # this worker dies (Ray workers run in their own process group)
