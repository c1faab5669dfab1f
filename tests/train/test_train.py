"""Fine-tuning on a real local Ray cluster: 2 gloo workers, full and LoRA, resume after a crash."""

import json
from pathlib import Path

import pytest
from helpers import store_with_mix

from codemix.config import ModelConfig, ResourcesConfig, TrainConfig
from codemix.faults import TrainFaults
from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source
from codemix.train import TrainingDiverged, TrainRun, fine_tune
from codemix.train.flops import flops_per_token

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return store_with_mix(tmp_path_factory.mktemp("store"), 48)


def train(store, name, family="llama", workers=1, faults=None, peak_flops=None, **train_overrides):
    cfg = TrainConfig(**{"lr": 3e-3, "micro_batch_size": 8, "max_length": 128, **train_overrides})
    run = TrainRun(store=store, mix_key="_cache/mixes/m1", mix_hash="m1", family=family,
                   model_source=resolve_model_source(family, ModelConfig()), model_cfg=ModelConfig(), train_cfg=cfg,
                   resources=ResourcesConfig(num_workers=workers, cpus_per_worker=0.5, peak_flops=peak_flops), seed=0,
                   train_hash=name)
    return fine_tune(run, faults=faults)


def test_loss_decreases_with_two_gloo_workers_and_checkpoint_loads(ray_cluster, store):
    # a peak for the CPU (resources.peak_flops), so that the run reports its MFU
    key, metrics = train(store, "full2w", workers=2, epochs=4, peak_flops=2e11)
    losses = metrics["losses"]
    assert len(losses) == metrics["total_steps"] == 12  # 48 examples / (8 x 2 workers) x 4 epochs
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3
    path = store.local_dir(key)
    model, tok = load_causal_lm(str(path)), load_tokenizer(str(path))
    assert model.config.model_type == "llama" and tok.chat_template
    # MFU of the measured steps: tokens/s of both workers x FLOPs per token / (2 devices x peak)
    assert metrics["flops_per_token"] == flops_per_token(model.config, seq_len=128)
    assert metrics["mfu"] == pytest.approx(metrics["tokens_per_s"] * metrics["flops_per_token"] / (2 * 2e11))
    # a second call with the same hash is a cache hit: no new training
    again_key, again = train(store, "full2w", workers=2, epochs=4)
    assert again_key == key and again["losses"] == losses


def test_lora_checkpoint_is_an_adapter_that_eval_loading_merges(ray_cluster, store):
    key, metrics = train(store, "lora1", family="mistral", method="lora", epochs=1)
    path = Path(store.local_dir(key))
    assert (path / "adapter_config.json").exists() and (path / "codemix_base.json").exists()
    assert not (path / "model.safetensors").exists()
    model = load_causal_lm(str(path))  # merged into the base on load
    assert not hasattr(model, "peft_config") and model.config.model_type == "mistral"


def test_worker_killed_mid_training_resumes_from_its_last_checkpoint(ray_cluster, store):
    key, metrics = train(store, "crash", family="qwen", faults=TrainFaults(fail_at_step=4), epochs=3,
                         checkpoint_every=2, max_failures=2)
    assert metrics["resumed_from"] == 4  # the restarted worker group continued at step 4, not 0
    assert metrics["step"] == metrics["total_steps"] == 18
    assert len(metrics["losses"]) == 18  # the history from before the crash came back with the checkpoint
    state = json.loads((Path(store.local_dir(key)) / "train_metrics.json").read_text())
    assert state["resumed_from"] == 4


def test_diverged_loss_fails_at_once_without_retries(ray_cluster, store):
    # A huge learning rate makes the loss non-finite within a few steps. Restarting from the last
    # checkpoint would diverge again, so the run must stop with TrainingDiverged, not be retried
    # max_failures times (which would end in Ray's own worker-group error instead); with two
    # workers, both ranks must agree to stop or the next all-reduce would hang.
    with pytest.raises(TrainingDiverged, match=r"loss is (nan|inf|-inf) at step \d+ of 6"):
        train(store, "diverged", workers=2, lr=1e12, epochs=2, max_failures=3)
    assert not store.is_complete("_cache/checkpoints/diverged")
