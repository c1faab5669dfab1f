"""Fault injection for the crash and resume tests: every hook codemix has, in one place.

Hooks are off unless the tests set these environment variables (they read nothing else):

``CODEMIX_TEST_KILL_AT=<stage>@<n>``
    SIGKILL the sweep driver's whole process group (its local Ray cluster included) when the
    n-th trial attempt of the experiment reaches ``<stage>``: ``mix``, ``train``, ``interpolate`` (an interpolated
    model's), ``eval``, or ``between`` (right after the trial wrote its results).
``CODEMIX_TEST_KILL_AT=train_step@<n>:<step>``
    The same, from inside training: once the n-th attempt's checkpoint after ``<step>`` is saved.
``CODEMIX_TEST_FAIL_AT=<stage>@<n>``
    The n-th attempt raises at ``<stage>`` instead (the trial is recorded as failed).
``CODEMIX_TEST_FAIL_AT_STEP=<step>``
    A training worker exits (``os._exit(1)``) once the checkpoint after ``<step>`` is saved, so
    Ray Train restarts the worker group from it. Only in a run that has not resumed yet.
``CODEMIX_TEST_HANG_AT=<step>:<marker file>``
    Rank 0 of a training worker group touches the marker file once the checkpoint after ``<step>``
    is saved, then hangs, so a test can remove its node mid-training. Read by the worker itself: a
    multi-node test sets it in one node's environment only.
``CODEMIX_TEST_KILL_PGID``
    The process group to kill; ``note_driver_group`` sets it to the driver's (tests leave it unset).

Training workers are Ray actors that do not see the driver's later environment changes, so the
driver reads the training hooks once (``TrainFaults.from_env``) and passes them in the loop config.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from codemix.storage import attempt_counts

KILL_AT = "CODEMIX_TEST_KILL_AT"
FAIL_AT = "CODEMIX_TEST_FAIL_AT"
FAIL_AT_STEP = "CODEMIX_TEST_FAIL_AT_STEP"
KILL_PGID = "CODEMIX_TEST_KILL_PGID"
HANG_AT = "CODEMIX_TEST_HANG_AT"
TRAIN_STEP = "train_step"


def note_driver_group() -> None:
    """Remember this process's group as the one ``KILL_AT`` kills (called before Ray starts, so
    that the local cluster's processes, started by this one, belong to it)."""
    if os.environ.get(KILL_AT):
        os.environ.setdefault(KILL_PGID, str(os.getpgid(0)))


def at_stage(experiment, stage: str) -> None:
    """The trial of ``experiment`` (a Store) reaches ``stage``: kill the driver or raise when asked."""
    target = _target(KILL_AT, stage)
    if target is not None and _attempts(experiment) >= target:
        _kill_driver()
    target = _target(FAIL_AT, stage)
    if target is not None and _attempts(experiment) == target:
        raise RuntimeError(f"injected failure at {os.environ[FAIL_AT]}")


@dataclass(frozen=True)
class TrainFaults:
    """The training hooks of one run: after which step's checkpoint a worker exits, or the driver dies."""

    fail_at_step: int | None = None
    kill_at_step: int | None = None

    @classmethod
    def from_env(cls, experiment=None) -> "TrainFaults":
        """The hooks the environment asks for; ``experiment`` (a Store) counts attempts for ``train_step@n``."""
        fail = os.environ.get(FAIL_AT_STEP)
        kill = None
        target = os.environ.get(KILL_AT, "")
        if experiment is not None and target.startswith(TRAIN_STEP + "@"):
            n, step = target.split("@", 1)[1].split(":")
            kill = int(step) if _attempts(experiment) >= int(n) else None
        return cls(fail_at_step=int(fail) if fail else None, kill_at_step=kill)

    def as_dict(self) -> dict:
        """Plain values for the Ray Train loop config."""
        return asdict(self)

    def after_checkpoint(self, step: int, rank: int, resumed: bool, collected: bool = False) -> None:
        """Called by every worker after the checkpoint of ``step`` was reported: act on rank 0.

        ``collected``: the checkpoint is already published (training in the trial's own process), so
        there is no Ray Train controller to wait for."""
        if resumed or rank != 0:
            return
        hang = os.environ.get(HANG_AT, "")
        if hang and int(hang.split(":", 1)[0]) == step:
            _let_controller_collect(collected)
            Path(hang.split(":", 1)[1]).touch()  # the test now removes this node; training stays at this step
            time.sleep(3600)
        if step not in (self.fail_at_step, self.kill_at_step):
            return
        _let_controller_collect(collected)
        if step == self.kill_at_step:  # the whole sweep driver dies mid-training
            _kill_driver()
        os._exit(1)  # this worker dies (Ray workers run in their own process group)


def _let_controller_collect(collected: bool = False) -> None:
    """Wait until Ray Train's controller has collected the last checkpoint: it polls the workers
    every RAY_TRAIN_HEALTH_CHECK_INTERVAL_S."""
    if not collected:
        time.sleep(5 * float(os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "2")))


def _target(variable: str, stage: str) -> int | None:
    value = os.environ.get(variable, "")
    return int(value.split("@", 1)[1]) if value.startswith(stage + "@") else None


def _kill_driver() -> None:
    os.killpg(int(os.environ[KILL_PGID]), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)  # this process too, at once: Ray workers run in their own process group


def _attempts(experiment) -> int:
    """Trial attempts started in the experiment so far (``run_trial`` records each: ``codemix.storage.attempts``)."""
    return sum(attempt_counts(experiment).values())
