"""Fine-tune one model on one mix with Ray Train, and publish the result as a HF-loadable folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from codemix import cache
from codemix.config import ModelConfig, ResourcesConfig, TrainConfig
from codemix.faults import TrainFaults
from codemix.models import get_family
from codemix.models.loading import ADAPTER_BASE_FILE, load_tokenizer, local_model_dir
from codemix.models.tiny import TINY_MARKER
from codemix.ray_runtime import reserved_resources
from codemix.storage import Store, stable_hash
from codemix.train.deepspeed import resolve_stage
from codemix.train.loop import DIVERGED_FILE, run_loop, train_loop_per_worker
from codemix.train.session import InProcessSession
from codemix.train.tokenize import pack_examples, tokenize_mix, turns_to_messages

TOKENIZE_VERSION = "tok-v3"
# Part of every run's train_hash: bump it when a change to the recipe changes what training
# produces, so checkpoints of the old recipe are not reused. v2: transformers.get_scheduler.
TRAIN_VERSION = "train-v2"
WORKER_GROUP_START_TIMEOUT = "RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"  # read by Ray Train's controller


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the trial fails without Ray Train's retries."""


def tokenized_examples(store: Store, mix_key: str, mix_hash: str, tokenizer, tokenizer_id: str,
                       cfg: TrainConfig) -> tuple[str, str | None, dict]:
    """Tokenise the mix once per (mix, tokenizer, max length, overlong policy, held-out count), cached as
    Parquet. Returns the URLs of the training examples and of the held-out ones (None without
    ``train.heldout``), and the tokenisation report."""
    key = cache.tokenized_key(stable_hash([TOKENIZE_VERSION, mix_hash, tokenizer_id, tokenizer.chat_template,
                                           cfg.max_length, cfg.overlong, cfg.packing, cfg.heldout]))

    def write(d: Path) -> None:
        mix = store.read_parquet(f"{mix_key}/mix.parquet")
        conversations = [turns_to_messages(t) for t in mix.column("turns").to_pylist()]
        train, heldout = split_heldout(conversations, cfg.heldout, mix_hash)
        examples, report = tokenize_mix(train, tokenizer, cfg.max_length, cfg.overlong)
        report = report.as_dict()
        if cfg.packing:
            examples = pack_examples(examples, cfg.max_length)
            report["packed_rows"] = len(examples)
        pq.write_table(pa.Table.from_pylist(examples), d / "examples.parquet")
        if heldout:
            held, held_report = tokenize_mix(heldout, tokenizer, cfg.max_length, "truncate")
            pq.write_table(pa.Table.from_pylist(held), d / "heldout.parquet")
            report["heldout"] = held_report.as_dict()
        (d / "report.json").write_text(json.dumps(report))

    cache.publish(store, key, write)
    report = json.loads(store.read_bytes(f"{key}/report.json"))
    heldout_url = store.url(key, "heldout.parquet") if "heldout" in report else None
    return store.url(key, "examples.parquet"), heldout_url, report


def split_heldout(conversations: list, n: int, seed: str) -> tuple[list, list]:
    """(training, held-out) conversations: ``n`` drawn with a fixed seed, the rest kept in order."""
    if n <= 0:
        return conversations, []
    if n >= len(conversations):
        raise ValueError(f"train.heldout = {n} leaves no training conversation in a mix of {len(conversations)}")
    import random

    held = set(random.Random(f"heldout:{seed}").sample(range(len(conversations)), n))
    return ([c for i, c in enumerate(conversations) if i not in held],
            [c for i, c in enumerate(conversations) if i in held])


@dataclass(frozen=True)
class TrainRun:
    """What one fine-tuning run is: everything ``train_hash`` stands for, and where it is stored."""

    store: Store
    mix_key: str  # the mix's folder in the store (``mix.parquet``)
    mix_hash: str
    family: str
    model_source: str  # a Hugging Face id or local folder of the starting weights
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    resources: ResourcesConfig
    seed: int
    train_hash: str  # the content address of the run's output (see sweep.trial.stage_hashes)
    run_hash: str | None = None  # the full-fidelity run whose checkpoints this one shares (None: train_hash)
    fidelity: float = 1.0  # the share of the full run's steps to train (the model published is the one there)

    @property
    def checkpoint_key(self) -> str:
        """Where the finished model is published (a HF-loadable folder)."""
        return cache.checkpoint_key(self.train_hash)

    @property
    def run_name(self) -> str:
        """The Ray Train run name: a rerun after a crash continues from this run's last checkpoint, and a higher
        fidelity of the same run from the lower one's."""
        return cache.train_run_name(self.run_hash or self.train_hash)

    @property
    def run_key(self) -> str:
        """The run's folder in the store (its checkpoints, shared by its fidelities)."""
        return cache.train_run_key(self.run_hash or self.train_hash)


def fine_tune(run: TrainRun, *, in_tune: bool = False, faults: TrainFaults | None = None) -> tuple[str, dict]:
    """Train (or resume training) and publish the final model at ``run.checkpoint_key``.

    Returns the checkpoint key and the training metrics; a published checkpoint is reused as is.
    ``in_tune``: forward metrics to the Ray Tune trial this runs in. ``faults``: test hooks.
    """
    if run.store.is_complete(run.checkpoint_key):
        return run.checkpoint_key, run.store.read_json(f"{run.checkpoint_key}/train_metrics.json")

    tokenizer = load_tokenizer(run.model_source, run.model_cfg.chat_template, run.model_cfg.trust_remote_code)
    examples_url, heldout_url, tok_report = tokenized_examples(run.store, run.mix_key, run.mix_hash, tokenizer,
                                                               run.model_source, run.train_cfg)
    if tok_report["examples"] == 0:
        raise ValueError(f"mix {run.mix_hash}: no example has assistant tokens after tokenisation ({tok_report})")
    loop_config = {"train": run.train_cfg.model_dump(), "model_source": run.model_source, "seed": run.seed,
                   "examples_path": examples_url, "heldout_path": heldout_url,
                   "pad_token_id": tokenizer.pad_token_id, "family": run.family,
                   "torch_threads": run.resources.torch_threads, "peak_flops": run.resources.peak_flops,
                   "lora_targets": get_family(run.family).lora_targets,
                   "trust_remote_code": run.model_cfg.trust_remote_code, "fidelity": run.fidelity,
                   "faults": (faults or TrainFaults()).as_dict()}
    if trains_in_process(run.resources, run.train_cfg, run.family):
        checkpoint = _train_in_process(run, loop_config, in_tune)
    else:
        with _worker_start_timeout(run.resources.worker_start_timeout):
            checkpoint = _trainer(run, loop_config, in_tune).fit().checkpoint
    if checkpoint is None:
        raise RuntimeError(f"training run {run.run_name} finished without a checkpoint")
    return run.checkpoint_key, _publish(run, checkpoint, tokenizer, tok_report)


def trains_in_process(res: ResourcesConfig, train_cfg: TrainConfig, family: str) -> bool:
    """Whether a run's loop runs in the calling process (``resources.train_launcher``; 'auto': one CPU
    worker, no DeepSpeed) rather than in a Ray Train worker group."""
    if res.train_launcher != "auto":
        return res.train_launcher == "in_process"
    return (res.num_workers == 1 and res.gpus_per_worker == 0 and not res.worker_resources
            and resolve_stage(train_cfg, get_family(family)) is None)


def _train_in_process(run: TrainRun, loop_config: dict, in_tune: bool):
    """Run the loop here, holding the worker's CPUs while it runs; returns the newest checkpoint up to the step the
    run stopped at (the final one of its fidelity, or the divergence marker)."""
    session = InProcessSession(run.store, run.run_key, keep=run.train_cfg.checkpoints_kept, report_to_tune=in_tune)
    with reserved_resources({"CPU": run.resources.cpus_per_worker}, f"training run {run.run_name}"):
        out = run_loop(loop_config, session)
    return session.get_checkpoint(max_step=out.get("stop_step"))


def _trainer(run: TrainRun, loop_config: dict, in_tune: bool):
    """The Ray Train TorchTrainer of the run: its workers, restarts, and checkpoint storage."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    callbacks = []
    if in_tune:
        from ray.tune.integration.ray_train import TuneReportCallback

        callbacks.append(TuneReportCallback())
    res = run.resources
    use_gpu = res.gpus_per_worker > 0
    per_worker = {"CPU": res.cpus_per_worker, **({"GPU": res.gpus_per_worker} if use_gpu else {}),
                  **res.worker_resources}
    return TorchTrainer(
        train_loop_per_worker,
        train_loop_config=loop_config,
        scaling_config=ScalingConfig(num_workers=res.num_workers, use_gpu=use_gpu, resources_per_worker=per_worker,
                                     placement_strategy="PACK" if res.placement_strategy == "auto"
                                     else res.placement_strategy),
        run_config=RunConfig(
            name=run.run_name, storage_path=run.store.path(cache.TRAIN_RUNS),
            storage_filesystem=None if run.store.is_local else run.store.fs,
            failure_config=FailureConfig(max_failures=run.train_cfg.max_failures,
                                         controller_failure_limit=res.controller_failure_limit),
            checkpoint_config=CheckpointConfig(num_to_keep=run.train_cfg.checkpoints_kept), callbacks=callbacks),
    )


@contextlib.contextmanager
def _worker_start_timeout(seconds: float):
    """Ray Train's worker-group start timeout for the runs fit() starts here: Train passes the variable on to its
    controller (``get_env_vars_to_propagate``), which waits that long for the group's placement group."""
    old = os.environ.get(WORKER_GROUP_START_TIMEOUT)
    os.environ[WORKER_GROUP_START_TIMEOUT] = f"{seconds:g}"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(WORKER_GROUP_START_TIMEOUT, None)
        else:
            os.environ[WORKER_GROUP_START_TIMEOUT] = old


def _publish(run: TrainRun, checkpoint, tokenizer, tok_report: dict) -> dict:
    """Publish the final checkpoint's model with its tokenizer and metrics; returns the metrics.

    Only what evaluation needs leaves the checkpoint (``model/`` and ``metrics.json``), copied storage to storage:
    never the optimizer state or ZeRO shards beside them (~12 bytes per parameter), never onto this node's disk.
    Raises TrainingDiverged when the run ended on a non-finite loss instead.
    """
    fs, final = checkpoint.filesystem, checkpoint.path.rstrip("/")
    if fs.get_file_info(f"{final}/{DIVERGED_FILE}").type == pafs.FileType.File:
        m = json.loads(_read(fs, f"{final}/{DIVERGED_FILE}"))
        raise TrainingDiverged(f"training diverged: loss is {m['loss']} at step {m['step']} of "
                               f"{m['total_steps']} (lr {run.train_cfg.lr}); not retried, as a restart from "
                               "the last checkpoint would diverge again. Lower train.lr or check the data.")
    metrics = {**json.loads(_read(fs, f"{final}/metrics.json")), "tokenize": tok_report}

    def write(out: Path) -> None:
        tokenizer.save_pretrained(out)
        local_source = Path(local_model_dir(run.model_source))
        if (local_source / TINY_MARKER).exists():
            shutil.copy(local_source / TINY_MARKER, out)
        if run.train_cfg.method == "lora":
            (out / ADAPTER_BASE_FILE).write_text(json.dumps({"base": run.model_source}))
        (out / "train_metrics.json").write_text(json.dumps(metrics))

    cache.publish(run.store, run.checkpoint_key, write, also=(fs, f"{final}/model"))
    return metrics


def _read(fs, path: str) -> bytes:
    with fs.open_input_stream(path) as f:
        return f.read()
