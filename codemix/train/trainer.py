"""Fine-tune one model on one mix with Ray Train, and publish the result as a HF-loadable folder."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa

from codemix.config import ModelConfig, ResourcesConfig, TrainConfig
from codemix.models import get_family
from codemix.models.loading import ADAPTER_BASE_FILE, load_tokenizer, local_model_dir
from codemix.models.tiny import TINY_MARKER
from codemix.storage import Store, stable_hash
from codemix.train.loop import DIVERGED_FILE, train_loop_per_worker
from codemix.train.tokenize import pack_examples, tokenize_mix, turns_to_messages

TOKENIZE_VERSION = "tok-v3"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the trial fails without Ray Train's retries."""


def tokenized_examples(store: Store, mix_key: str, mix_hash: str, tokenizer, tokenizer_id: str,
                       cfg: TrainConfig) -> tuple[str, dict]:
    """Tokenise the mix once per (mix, tokenizer, max length, overlong policy), cached as Parquet."""
    key = "_cache/tokenized/" + stable_hash([TOKENIZE_VERSION, mix_hash, tokenizer_id, tokenizer.chat_template,
                                              cfg.max_length, cfg.overlong, cfg.packing])
    if not store.is_complete(key):
        mix = store.read_parquet(f"{mix_key}/mix.parquet")
        conversations = [turns_to_messages(t) for t in mix.column("turns").to_pylist()]
        examples, report = tokenize_mix(conversations, tokenizer, cfg.max_length, cfg.overlong)
        report = report.as_dict()
        if cfg.packing:
            examples = pack_examples(examples, cfg.max_length)
            report["packed_rows"] = len(examples)
        with tempfile.TemporaryDirectory() as d:
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(examples), Path(d) / "examples.parquet")
            (Path(d) / "report.json").write_text(json.dumps(report))
            store.put_dir(d, key)
    return store.url(key, "examples.parquet"), json.loads(store.read_bytes(f"{key}/report.json"))


def fine_tune(*, store: Store, mix_key: str, mix_hash: str, family: str, model_source: str, model_cfg: ModelConfig,
              train_cfg: TrainConfig, resources: ResourcesConfig, seed: int, train_hash: str,
              in_tune: bool = False, fail_at_step: int | None = None,
              kill_at_step: int | None = None) -> tuple[str, dict]:
    """Train (or resume training) and publish the final model at ``_cache/checkpoints/<train_hash>``.

    Returns the checkpoint key and the training metrics. The Ray Train run is named by the
    content hash, so a rerun after a crash continues from the run's last checkpoint.
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    ckpt_key = f"_cache/checkpoints/{train_hash}"
    if store.is_complete(ckpt_key):
        return ckpt_key, store.read_json(f"{ckpt_key}/train_metrics.json")

    tokenizer = load_tokenizer(model_source, model_cfg.chat_template, model_cfg.trust_remote_code)
    examples_url, tok_report = tokenized_examples(store, mix_key, mix_hash, tokenizer, model_source, train_cfg)
    if tok_report["examples"] == 0:
        raise ValueError(f"mix {mix_hash}: no example has assistant tokens after tokenisation ({tok_report})")

    callbacks = []
    if in_tune:
        from ray.tune.integration.ray_train import TuneReportCallback

        callbacks.append(TuneReportCallback())
    use_gpu = resources.gpus_per_worker > 0
    per_worker = {"CPU": resources.cpus_per_worker, **({"GPU": resources.gpus_per_worker} if use_gpu else {})}
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"train": train_cfg.model_dump(), "model_source": model_source, "seed": seed,
                           "examples_path": examples_url, "pad_token_id": tokenizer.pad_token_id,
                           "family": family, "lora_targets": get_family(family).lora_targets, "fail_at_step": fail_at_step, "kill_at_step": kill_at_step,
                           "trust_remote_code": model_cfg.trust_remote_code},
        scaling_config=ScalingConfig(num_workers=resources.num_workers, use_gpu=use_gpu, resources_per_worker=per_worker),
        run_config=RunConfig(
            name=f"train-{train_hash}", storage_path=store.path("_cache/train_runs"),
            storage_filesystem=None if store.is_local else store.fs,
            failure_config=FailureConfig(max_failures=train_cfg.max_failures, controller_failure_limit=3),
            checkpoint_config=CheckpointConfig(num_to_keep=2), callbacks=callbacks),
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"training run train-{train_hash} finished without a checkpoint")
    with result.checkpoint.as_directory() as d, tempfile.TemporaryDirectory() as out:
        if (Path(d) / DIVERGED_FILE).exists():
            m = json.loads((Path(d) / DIVERGED_FILE).read_text())
            raise TrainingDiverged(f"training diverged: loss is {m['loss']} at step {m['step']} of "
                                   f"{m['total_steps']} (lr {train_cfg.lr}); not retried, as a restart from "
                                   "the last checkpoint would diverge again. Lower train.lr or check the data.")
        metrics = {**json.loads((Path(d) / "metrics.json").read_text()), "tokenize": tok_report}
        shutil.copytree(Path(d) / "model", out, dirs_exist_ok=True)
        tokenizer.save_pretrained(out)
        local_source = Path(local_model_dir(model_source))
        if (local_source / TINY_MARKER).exists():
            shutil.copy(local_source / TINY_MARKER, out)
        if train_cfg.method == "lora":
            (Path(out) / ADAPTER_BASE_FILE).write_text(json.dumps({"base": model_source}))
        (Path(out) / "train_metrics.json").write_text(json.dumps(metrics))
        store.put_dir(out, ckpt_key)
    return ckpt_key, metrics
