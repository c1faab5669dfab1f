"""Helpers for the sweep tests: a small spec, and `codemix` drivers run in their own process group.

Each sweep runs in a subprocess in its own process group (its local Ray cluster included), which
the failure-injection hooks in codemix.sweep.trial SIGKILL at the chosen point.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def small_spec(storage: Path, name: str = "resume", **search) -> Path:
    """Two trials (llama x proportion {0, 1}), one cheap task per domain; ``search`` overrides that section."""
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec.update(name=name, storage=str(storage))
    spec["search"].update({"family": ["llama"], "proportion": [0.0, 1.0], **search})
    spec["train"].update(epochs=1, checkpoint_every=2)
    spec["eval"].update(suite="smoke3", limit=2, sampling={"max_new_tokens": 8})
    path = storage / f"{name}.yaml"
    storage.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec))
    return path


def driver(args: list[str], kill_at: str | None = None, fail_at: str | None = None, timeout: float = 600) -> int:
    """Run `codemix ARGS` in a new process group; with kill_at, the hook SIGKILLs that group."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEMIX_TEST_")}
    if kill_at:
        env["CODEMIX_TEST_KILL_AT"] = kill_at
    if fail_at:
        env["CODEMIX_TEST_FAIL_AT"] = fail_at
    proc = subprocess.Popen([sys.executable, "-m", "codemix.cli", *args], cwd=REPO, env=env,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    finally:
        _reap_group(proc.pid)
    if proc.returncode not in (0, 3, -signal.SIGKILL):
        print(out.decode()[-5000:])
    return proc.returncode


def _reap_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)  # leave no Ray process of that driver behind
    except ProcessLookupError:
        pass
    time.sleep(1)


def attempts(experiment: Path) -> dict[str, int]:
    """Trial key -> how many times that trial started (attempt records)."""
    return {d.name: len(list(d.glob("*.json"))) for d in (experiment / "attempts").iterdir()}
