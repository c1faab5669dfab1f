"""Helpers of the sweep tests: a small spec, a `codemix` driver in its own process group, the result
tables to compare, and a local S3-compatible server (import as `from sweep_helpers import ...`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from helpers import moto_bucket  # noqa: F401 - re-exported for the sweep tests

REPO = Path(__file__).resolve().parents[2]
VOLATILE = {"trial_id", "finished_at", "started_at"}


def small_spec(storage: Path, name: str = "resume", folder: Path | None = None, **sections) -> Path:
    """Two trials (llama x proportion {0, 1}), one cheap task per domain; ``sections`` update the spec's.

    ``storage`` may be a URI; the spec file then goes in ``folder``.
    """
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec.update(name=name, storage=str(storage))
    spec["search"].update(family=["llama"], proportion=[0.0, 1.0])
    spec["train"].update(epochs=1, checkpoint_every=2)
    spec["eval"].update(suite="smoke3", limit=2, sampling={"max_new_tokens": 8})
    for key, value in sections.items():
        spec.setdefault(key, {}).update(value)
    folder = Path(folder or storage)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run_codemix(args: list[str], kill_at: str | None = None, fail_at: str | None = None,
                timeout: float = 600) -> tuple[int, str]:
    """Run `codemix ARGS` in a new process group; with kill_at, the hook SIGKILLs that group.
    Returns the exit status and the output; past ``timeout`` the group is killed and the test fails
    with the output so far."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEMIX_TEST_")}
    if kill_at:
        env["CODEMIX_TEST_KILL_AT"] = kill_at
    if fail_at:
        env["CODEMIX_TEST_FAIL_AT"] = fail_at
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "codemix.cli", *args], cwd=REPO, env=env,
                                start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            reap_group(proc.pid)
            proc.wait()
        log.seek(0)
        out = log.read().decode(errors="replace")
    if timed_out:
        raise AssertionError(f"codemix {' '.join(args)} ran past {timeout} s; its output ends:\n{out[-8000:]}")
    return proc.returncode, out


def driver(args: list[str], kill_at: str | None = None, fail_at: str | None = None, timeout: float = 600) -> int:
    """Like run_codemix, returning the exit status; prints the output's tail when it is unexpected."""
    code, out = run_codemix(args, kill_at, fail_at, timeout)
    if code not in (0, 3, -signal.SIGKILL):
        print(out[-5000:])
    return code


def reap_group(pgid: int) -> None:
    """Leave no process of that driver's group behind (its private Ray cluster included)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    time.sleep(1)


def attempts(experiment: Path) -> dict[str, int]:
    """Trial key -> how many times that trial started (attempt records)."""
    return {d.name: len(list(d.glob("*.json"))) for d in (experiment / "attempts").iterdir()}


def tables(experiment: Path, keep=None, config_ignore: frozenset = frozenset({"storage"})) -> dict:
    """The three result levels as sorted JSON rows, without what differs between equal runs.

    ``keep``: a row filter (e.g. one trial's rows); ``config_ignore``: spec fields that may differ
    (the storage always does; another spec with the same stages may differ in its name, search
    space and resources: the stage hashes in each row say whether the same work was done).
    """
    out = {}
    for level in ("scores", "predictions", "trials"):
        rows = [r for r in pq.read_table(experiment / "results" / level).to_pylist() if keep is None or keep(r)]
        drop = VOLATILE | ({"stages"} if level == "trials" else set()) | (
            {"train_seconds", "eval_seconds", "train_tokens_per_s", "timings"} if level == "trials" else set())
        drop |= {"sweep"} if "name" in config_ignore else set()
        for r in rows:
            if "config" in r:  # the runs live in different folders; everything else must match
                r["config"] = {k: v for k, v in json.loads(r["config"]).items() if k not in config_ignore}
        out[level] = sorted(json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True, default=str)
                            for r in rows)
    return out


def free_port() -> int:
    """A TCP port free on the loopback right now."""
    from codemix.ray_runtime import _free_port

    return _free_port()


def with_prefix(uri: str, *parts: str) -> str:
    """``s3://b/p?opts`` + parts -> ``s3://b/p/parts?opts``."""
    base, _, query = uri.partition("?")
    return "/".join([base, *parts]) + (f"?{query}" if query else "")


def bucket_key(uri: str, *parts: str) -> str:
    """``s3://b/p?opts`` + parts -> ``b/p/parts``: the path pyarrow's S3FileSystem takes."""
    return "/".join([uri.partition("?")[0].removeprefix("s3://"), *parts])


def copy_from_bucket(fs, key: str, local: Path) -> Path:
    """Download a folder of the bucket (e.g. an experiment's results) to a local path."""
    import pyarrow.fs as pafs

    pafs.copy_files(key, str(local), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    return local
