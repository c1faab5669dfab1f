"""Where the training loop runs: in a Ray Train worker group, or in the calling process.

The loop (``loop.py``) talks to its session only: its rank and world, the device, the checkpoint
to resume from, and ``report(metrics, checkpoint_dir)``. Two sessions implement that:

- ``RayTrainSession``: inside a Ray Train worker (multi-worker DDP or DeepSpeed, GPUs, worker-group
  restarts after a failure); checkpoints go to Ray Train's run folder.
- ``InProcessSession``: the loop runs in the caller (a Tune trial's own process), one worker on CPU.
  Nothing is started, so a trial pays no worker-group start-up. Checkpoints are published under the
  same run folder as ``checkpoint_<step>`` (atomically, the newest ``keep`` kept) and a rerun of the
  run resumes from the newest, as Ray Train would after a restart.
"""

from __future__ import annotations

import re

import ray.train
import torch

CHECKPOINT_PATTERN = re.compile(r"^checkpoint_(\d{6})$")


class RayTrainSession:
    """The loop inside a Ray Train worker: ``ray.train``'s context, checkpoint and report."""

    in_process = False

    def __init__(self):
        # loaded where used: Ray Train's torch helpers (0.4 s) in its workers only, Tune (2.5 s outside a trial)
        # only when the loop reports to a Tune trial
        from ray.train.torch import get_device

        ctx = ray.train.get_context()
        self.rank, self.world, self.device = ctx.get_world_rank(), ctx.get_world_size(), get_device()

    def get_checkpoint(self, max_step: int | None = None):
        """The checkpoint Ray Train restored this worker group from (None on a fresh start): its newest, whatever
        ``max_step`` (the loop starts afresh when it lies beyond)."""
        return ray.train.get_checkpoint()

    def report(self, metrics: dict, checkpoint_dir: str | None) -> None:
        """Every rank reports; ranks with files attach them as their part of the checkpoint."""
        checkpoint = ray.train.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
        ray.train.report(metrics, checkpoint=checkpoint)


def _step(checkpoint_key: str) -> int:
    return int(CHECKPOINT_PATTERN.match(checkpoint_key.rsplit("/", 1)[-1]).group(1))


class InProcessSession:
    """The loop in this process: rank 0 of 1, checkpoints published to ``store`` under ``run_key``."""

    in_process = True
    rank, world = 0, 1

    def __init__(self, store, run_key: str, keep: int = 2, report_to_tune: bool = False):
        self.store, self.run_key, self.keep, self.report_to_tune = store, run_key, keep, report_to_tune
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def checkpoints(self) -> list[str]:
        """Complete checkpoint keys of the run, oldest first."""
        steps = [n for n in self.store.list_dirs(self.run_key) if CHECKPOINT_PATTERN.match(n)]
        return [f"{self.run_key}/{n}" for n in steps if self.store.is_complete(f"{self.run_key}/{n}")]

    def get_checkpoint(self, max_step: int | None = None):
        """The newest published checkpoint of the run (at ``max_step`` or before, when given: a run stopped at a
        lower fidelity than the run's furthest), as a Ray Train ``Checkpoint`` (None if there is none)."""
        found = [k for k in self.checkpoints() if max_step is None or _step(k) <= max_step]
        if not found:
            return None
        return ray.train.Checkpoint(path=self.store.path(found[-1]), filesystem=self.store.fs)

    def report(self, metrics: dict, checkpoint_dir: str | None) -> None:
        """Publish the checkpoint (then drop the oldest beyond ``keep``, never this one); forward metrics to
        Tune if asked."""
        if checkpoint_dir:
            key = f"{self.run_key}/checkpoint_{int(metrics.get('step', 0)):06d}"
            self.store.put_dir(checkpoint_dir, key)
            for old in [k for k in self.checkpoints() if k != key][:-self.keep + 1 or None]:
                self.store.fs.delete_dir(self.store.path(old))
        if self.report_to_tune:
            from ray import tune

            tune.report(metrics)
