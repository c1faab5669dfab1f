"""The training loop (in a Ray Train worker or in the trial's process): plain PyTorch, resumable at any checkpoint.

The order of examples is a pure function of (seed, epoch), and optimizer step ``s`` always uses
micro-batches ``s*accum .. s*accum+accum-1``. A worker group restarted after a failure loads the
last checkpoint (weights, optimizer, scheduler, step) and continues at exactly the next step.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from codemix.config import TrainConfig
from codemix.faults import TrainFaults
from codemix.train.tokenize import IGNORE_INDEX

DIVERGED_FILE = "diverged.json"  # in a checkpoint: the loss went non-finite at this step


def stop_step(total_steps: int, fidelity: float) -> int:
    """Where a run at ``fidelity`` (a share of the full run's steps) stops: at least one step."""
    return max(1, math.ceil(round(fidelity * total_steps, 9)))


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


def build_scheduler(optimizer, cfg: TrainConfig, total_steps: int):
    """The learning-rate schedule: ``transformers.get_scheduler`` with linear warm-up over
    ``ceil(warmup_ratio * total_steps)`` steps (the HF Trainer's count), then cosine, linear or constant."""
    from transformers import get_scheduler

    name = "constant_with_warmup" if cfg.lr_scheduler == "constant" else cfg.lr_scheduler
    return get_scheduler(name, optimizer, num_warmup_steps=math.ceil(cfg.warmup_ratio * total_steps),
                         num_training_steps=total_steps)


def build_model(source: str, cfg: TrainConfig, lora_targets: list[str], dtype, trust_remote_code: bool,
                device=None):
    """Load the base model (QLoRA: quantized, on this worker's ``device``) and wrap it for LoRA when asked."""
    from codemix.models.loading import load_causal_lm

    quantization = device_map = None
    if cfg.method == "lora" and cfg.lora.quantize_4bit:  # QLoRA: a 4-bit NF4 base under bf16 adapters
        import torch

        from codemix.train import qlora

        if not torch.cuda.is_available():
            raise RuntimeError("train.lora.quantize_4bit (QLoRA) needs a CUDA GPU and bitsandbytes")
        quantization, device_map = qlora.quantization_config(), qlora.device_map(device)
    model = load_causal_lm(source, dtype=dtype, trust_remote_code=trust_remote_code, quantization=quantization,
                           device_map=device_map)
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


@dataclass
class Worker:
    """One Ray Train worker's run: its place in the group, its data, and its engine."""

    cfg: TrainConfig
    rank: int
    world: int
    device: object
    seed: int
    examples: list[dict]
    pad_id: int
    accum: int
    total_steps: int
    engine: object  # engine.TorchEngine or engine.DeepSpeedEngine
    flops_per_token: float
    peak_flops: float | None
    faults: TrainFaults
    heldout: list[dict] = field(default_factory=list)  # conversations of the mix kept out of training
    session: object = None  # codemix.train.session: where checkpoints and metrics go
    steps_seconds: float = 0.0  # wall time of this process's optimiser steps (checkpoints not included)


def train_loop_per_worker(config: dict) -> dict:
    """Ray Train entry point. ``config``: train (TrainConfig dict), model_source, examples_path, seed, ..."""
    from codemix.train.session import RayTrainSession

    return run_loop(config, RayTrainSession())


def run_loop(config: dict, session) -> dict:
    """Train from the session's last checkpoint (or from scratch) to the run's last step, or to the share of it
    that ``config["fidelity"]`` asks for (the full run's schedule, stopped early: a successive-halving rung).

    ``session``: a ``codemix.train.session`` session (Ray Train worker or this process).
    """
    w = setup_worker(config, session)
    stop = stop_step(w.total_steps, config.get("fidelity", 1.0))
    checkpoint = session.get_checkpoint(max_step=stop)
    state = restore(w.engine, checkpoint)
    if "diverged_at" in state:  # this run already diverged: stay failed, do not retrain
        return {"losses": [], **state}
    if state["step"] > stop:  # the run went further before (a higher fidelity ran first): train this one afresh
        w, checkpoint, state = setup_worker(config, session), None, {"step": 0, "losses": []}
    step = start_step = state["step"]
    losses = state["losses"]
    # the held-out loss before the first step (a resumed run keeps the one its first start measured)
    heldout_before = state.get("heldout_before") if checkpoint else heldout_loss(w)
    w.engine.model.train()

    throughput, window = Throughput(), []
    if step == stop and not _exported(checkpoint):  # stopped here by a checkpoint that holds no model: export it
        _finish(w, step, losses[-1] if losses else float("nan"), throughput, start_step, stop, losses, heldout_before,
                checkpoint)
    while step < stop:
        t_step = time.perf_counter()
        step_loss, step_tokens = train_step(w, step)
        if not _finite_on_every_rank(step_loss, w.world, w.device):
            # A diverged run would diverge again after a restart: report it and stop, so that
            # FailureConfig does not spend max_failures retries on it.
            _report_divergence({"step": step + 1, "total_steps": w.total_steps, "loss": step_loss,
                                "diverged": True, "resumed_from": start_step}, w.rank, w.session)
            return {"losses": losses, "diverged_at": step + 1}
        w.engine.step()
        step += 1
        throughput.add(step_tokens * w.world, time.perf_counter() - t_step)
        w.steps_seconds += time.perf_counter() - t_step
        losses.append(step_loss)
        window.append(step_loss)
        if step == stop or (w.cfg.checkpoint_every and step % w.cfg.checkpoint_every == 0):
            _finish(w, step, sum(window) / len(window), throughput, start_step, stop, losses, heldout_before,
                    checkpoint)
            window = []
    return {"losses": losses, "resumed_from": start_step, "tokens": throughput.tokens, "seconds": throughput.seconds,
            "stop_step": stop}


def _finish(w: Worker, step: int, loss: float, throughput, start_step: int, stop: int, losses: list,
            heldout_before, checkpoint) -> None:
    """Report a checkpoint at ``step``: at ``stop`` the final one, with the exported model, its metrics and the
    held-out loss after training."""
    metrics = _metrics(w, step, loss, throughput.tokens_per_s(), start_step, stop)
    if step == stop and w.heldout:
        metrics.update(heldout_loss_before=heldout_before, heldout_loss_after=heldout_loss(w))
        w.engine.model.train()
    _report_with_checkpoint(w.engine, step, losses, metrics, w.rank, step == stop,
                            {"heldout_before": heldout_before}, w.session)
    w.faults.after_checkpoint(step, w.rank, resumed=checkpoint is not None, collected=w.session.in_process)


def _exported(checkpoint) -> bool:
    """Whether a checkpoint holds the exported model and its metrics (a run's final one does)."""
    if checkpoint is None:
        return False
    import pyarrow.fs as pafs

    fs, root = checkpoint.filesystem, checkpoint.path.rstrip("/")  # looked up in storage, not downloaded
    return (fs.get_file_info(f"{root}/model").type == pafs.FileType.Directory
            and fs.get_file_info(f"{root}/metrics.json").type == pafs.FileType.File)


def setup_worker(config: dict, session) -> Worker:
    """Seed, read the examples, build the model, optimizer, schedule and engine of this worker."""
    import pyarrow.parquet as pq
    import torch

    from codemix.models import get_family
    from codemix.train.engine import create_engine
    from codemix.train.flops import flops_per_token, peak_flops

    cfg = TrainConfig.model_validate(config["train"])
    if config.get("torch_threads"):  # Ray's default is the CPUs the worker reserved (1 at cpus_per_worker < 2)
        torch.set_num_threads(config["torch_threads"])
    rank, world, device = session.rank, session.world, session.device
    use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    seed = config["seed"] + cfg.seed_offset
    torch.manual_seed(seed)

    examples = pq.read_table(config["examples_path"]).to_pylist()
    accum, total_steps = schedule(len(examples), cfg, world)
    trust_remote_code = config.get("trust_remote_code", False)
    model = build_model(config["model_source"], cfg, config.get("lora_targets", []),
                        weights_dtype(cfg, use_bf16, get_family(config["family"])), trust_remote_code, device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    fpt = flops_per_token(model.config, seq_len=cfg.max_length, trust_remote_code=trust_remote_code,
                          lora_params=sum(p.numel() for p in trainable) if cfg.method == "lora" else None)
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = build_scheduler(optimizer, cfg, total_steps)
    engine = create_engine(model, optimizer, scheduler, cfg, get_family(config["family"]), world, accum,
                           use_bf16, device, distributed=not session.in_process)
    return Worker(cfg=cfg, rank=rank, world=world, device=device, seed=seed, examples=examples, session=session,
                  pad_id=config["pad_token_id"], accum=accum, total_steps=total_steps, engine=engine,
                  flops_per_token=fpt, peak_flops=peak_flops(device, config.get("peak_flops")),
                  faults=TrainFaults(**config.get("faults", {})),
                  heldout=pq.read_table(config["heldout_path"]).to_pylist() if config.get("heldout_path") else [])


def weights_dtype(cfg: TrainConfig, use_bf16: bool, family):
    """The dtype the model is loaded in. bf16 for a bf16 run, except a full fine-tune under plain DDP: DeepSpeed
    keeps fp32 master weights of its own, DDP does not, so there the weights stay fp32 and compute runs in bf16
    under autocast (``engine.TorchEngine``): an AdamW update at lr 2e-5 is far below a bf16 weight's precision
    (8 bits of mantissa) and would round away. LoRA's adapters are fp32 already (peft keeps them so)."""
    import torch

    from codemix.train.deepspeed import resolve_stage

    if not use_bf16 or (cfg.method == "full" and resolve_stage(cfg, family) is None):
        return torch.float32
    return torch.bfloat16


def restore(engine, checkpoint) -> dict:
    """The loop state to continue from: ``{"step", "losses"}`` (step 0 without a checkpoint), or
    ``{"diverged_at": step}`` when the run's last checkpoint is a divergence marker."""
    if not checkpoint:
        return {"step": 0, "losses": []}
    with checkpoint.as_directory() as d:
        if (Path(d) / DIVERGED_FILE).exists():
            return {"diverged_at": json.loads((Path(d) / DIVERGED_FILE).read_text())["step"]}
        return engine.load(Path(d))


def train_step(w: Worker, step: int) -> tuple[float, int]:
    """Forward and backward the micro-batches of optimizer step ``step`` (the update is the
    engine's ``step``); returns this rank's loss and its non-padding token count."""
    loss, tokens = 0.0, 0
    for a in range(w.accum):
        idx = micro_batch_indices(step * w.accum + a, len(w.examples), w.cfg.micro_batch_size, w.world, w.rank,
                                  w.seed)
        batch = collate([w.examples[i] for i in idx], w.pad_id)
        tokens += batch.pop("n_tokens")
        loss += w.engine.micro_step({k: v.to(w.device) for k, v in batch.items()})
    return loss, tokens


def heldout_loss(w: Worker) -> float | None:
    """Mean loss per label token on the held-out examples (every rank computes it on all of them, so
    sharded engines take part in every forward), or None without any."""
    if not w.heldout:
        return None
    import torch

    w.engine.model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(w.heldout), w.cfg.micro_batch_size):
            batch = collate(w.heldout[i:i + w.cfg.micro_batch_size], w.pad_id)
            batch.pop("n_tokens")
            n = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())  # the tokens the shifted loss averages over
            total += w.engine.forward_loss({k: v.to(w.device) for k, v in batch.items()}) * n
            tokens += n
    return total / max(tokens, 1)


def _metrics(w: Worker, step: int, loss: float, tokens_per_s: float, start_step: int, stop: int) -> dict:
    import torch

    from codemix.train.flops import mfu

    return {"step": step, "total_steps": w.total_steps, "stop_step": stop, "loss": loss, "tokens_per_s": tokens_per_s,
            "flops_per_token": w.flops_per_token, "mfu": mfu(tokens_per_s, w.flops_per_token, w.world, w.peak_flops),
            "resumed_from": start_step, "threads": torch.get_num_threads(), "steps_seconds": w.steps_seconds}


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


def _report_divergence(metrics: dict, rank: int, session) -> None:
    """Report a non-finite loss as the run's latest checkpoint (Ray Train's result carries only
    checkpointed metrics): a marker file and no model state, so nothing can resume from it."""
    with tempfile.TemporaryDirectory() as d:
        if rank == 0:
            (Path(d) / DIVERGED_FILE).write_text(json.dumps(metrics))
        session.report(metrics, d if rank == 0 else None)


def _report_with_checkpoint(engine, step, losses, metrics, rank, final, extra_state, session):
    """Every rank reports; rank 0 (every rank when state is sharded) attaches its checkpoint files."""
    with tempfile.TemporaryDirectory() as d:
        engine.save(Path(d), rank, {"step": step, "losses": losses, **(extra_state or {})})
        if final:
            engine.export(Path(d) / "model", rank)
            if rank == 0:
                (Path(d) / "metrics.json").write_text(json.dumps({**metrics, "losses": losses}))
        session.report(metrics, d if rank == 0 or engine.sharded else None)
