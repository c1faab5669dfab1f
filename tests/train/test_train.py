"""Fine-tuning on a real local Ray cluster: 2 gloo workers, full and LoRA, resume after a crash."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import store_with_mix

from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source
from codemix.runtime import TrainFaults
from codemix.spec import ModelConfig, ResourcesConfig, TrainConfig
from codemix.storage import stage_cache
from codemix.train import TrainingDiverged, TrainRun, fine_tune, trains_in_process
from codemix.train.flops import flops_per_token

pytestmark = [pytest.mark.slow(seconds=155), pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return store_with_mix(tmp_path_factory.mktemp("store"), 48)


def train_run(store, name, family="llama", workers=1, peak_flops=None, launcher="auto", **train_overrides):
    cfg = TrainConfig(**{"lr": 3e-3, "micro_batch_size": 8, "max_length": 128, **train_overrides})
    resources = ResourcesConfig(num_workers=workers, cpus_per_worker=0.5, peak_flops=peak_flops,
                                train_launcher=launcher)
    return TrainRun(store=store, mix_key="_cache/mixes/m1", mix_hash="m1", family=family,
                    model_source=resolve_model_source(family, ModelConfig()), model_cfg=ModelConfig(), train_cfg=cfg,
                    resources=resources, seed=0, train_hash=name)


def train(store, name, family="llama", workers=1, faults=None, peak_flops=None, launcher="auto", **train_overrides):
    return fine_tune(train_run(store, name, family, workers, peak_flops, launcher, **train_overrides), faults=faults)


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
    # a Ray Train worker group (the worker's exit would end this process if the loop ran in it)
    key, metrics = train(store, "crash", family="qwen", faults=TrainFaults(fail_at_step=4), epochs=3,
                         checkpoint_every=2, max_failures=2, launcher="ray_train")
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


def test_in_process_training_computes_what_a_one_worker_group_computes(ray_cluster, store):
    assert trains_in_process(ResourcesConfig(), TrainConfig(), "llama")  # the default for one CPU worker
    assert not trains_in_process(ResourcesConfig(num_workers=2), TrainConfig(), "llama")
    _, grouped = train(store, "group1", epochs=2, launcher="ray_train")
    _, local = train(store, "local1", epochs=2, launcher="in_process")
    assert local["losses"] == pytest.approx(grouped["losses"], rel=1e-5)  # same seed, same steps, same loss
    assert local["total_steps"] == grouped["total_steps"] == 12


def test_in_process_run_killed_mid_training_resumes_from_its_last_checkpoint(tmp_path):
    # The first run dies (os._exit) in its own process after step 4's checkpoint, as a trial's process
    # would; the rerun continues from that checkpoint, and only the newest checkpoints are kept.
    store = store_with_mix(tmp_path, 48)
    tests = Path(__file__).parent
    script = (f"import sys; sys.path[:0] = [{str(tests)!r}, {str(tests.parent)!r}]\n"
              "from test_train import train_run\nfrom codemix.storage import Store\n"
              "from codemix.runtime import TrainFaults\nfrom codemix.train import fine_tune\n"
              f"run = train_run(Store({str(tmp_path)!r}), 'killed', epochs=3, checkpoint_every=2, "
              "launcher='in_process')\nfine_tune(run, faults=TrainFaults(fail_at_step=4))\n")
    died = subprocess.run([sys.executable, "-c", script], env=os.environ, capture_output=True, text=True)
    assert died.returncode == 1 and "Traceback" not in died.stderr, died.stderr[-3000:]
    run = train_run(store, "killed", epochs=3, checkpoint_every=2, launcher="in_process")
    assert store.list_dirs(stage_cache.train_run_key(run.train_hash)) == ["checkpoint_000002", "checkpoint_000004"]
    assert not store.is_complete(stage_cache.checkpoint_key(run.train_hash))
    _, metrics = fine_tune(run)
    assert metrics["resumed_from"] == 4 and metrics["step"] == 18 and len(metrics["losses"]) == 18
    kept = store.list_dirs(stage_cache.train_run_key(run.train_hash))  # where the stage cache says
    assert kept == ["checkpoint_000016", "checkpoint_000018"]


def test_in_process_training_holds_its_worker_cpus_only_while_it_runs(ray_cluster):
    """A loop in the trial's own process reserves the worker's CPUs for its duration (so trials queue for
    them), and gives them back before evaluation needs them (held for the trial's life, a 2-CPU cluster
    had no CPU left for the evaluation actor and the sweep hung)."""
    import ray

    from codemix.runtime import reserved_resources

    def free_cpus():
        return ray.available_resources().get("CPU", 0)

    def settled(expected: float) -> float:  # actors of earlier tests and group removals free CPUs asynchronously
        deadline = time.monotonic() + 30
        while free_cpus() != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        return free_cpus()

    total = ray.cluster_resources()["CPU"]
    assert settled(total) == total
    with reserved_resources({"CPU": 1}, "test run"):
        assert free_cpus() == pytest.approx(total - 1)
    assert settled(total) == total
