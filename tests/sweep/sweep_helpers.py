"""Helpers of the sweep tests: a small spec, a `codemix` driver in its own process group, the result
tables to compare, and a local S3-compatible server (import as `from sweep_helpers import ...`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from helpers import moto_bucket  # noqa: F401 - re-exported for the sweep tests

from codemix.storage import Store, attempt_counts, attempt_trials

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
    return attempt_counts(Store(experiment))


def tear_tunes_saved_trial_list(experiment: Path) -> str | None:
    """Remove the unfinished trials from Tune's newest saved trial list, its search algorithm's files keeping them:
    what Tune's background upload leaves when the driver dies mid-copy (CI saw it). Says how the list now lacks a
    trial that started (its attempt record names its Tune id), None if it lacks none:

    - ``"removed"``: removed here, so the search algorithm's state runs a trial the list lacks (torn);
    - ``"cut"``: the kill cut the file itself (it does not parse; torn too);
    - ``"not saved yet"``: the kill came before Tune saved the started trial (CI saw it, under load). The search
      algorithm's state may be as far behind (not torn) or one save ahead (torn)."""
    path, state = newest_saved_trial_list(experiment)
    if state is None:
        return "cut"
    kept = [t for t in state["trial_data"] if json.loads(t[0])["status"] in ("TERMINATED", "ERROR")]
    removed, state["trial_data"] = len(state["trial_data"]) > len(kept), kept
    path.write_text(json.dumps(state))
    if removed:
        return "removed"
    listed = {json.loads(t[0])["trial_id"] for t in kept}
    return "not saved yet" if set(attempt_trials(Store(experiment))) - listed else None


def saved_trial_list_is_cut(experiment: Path) -> bool:
    """Whether Tune's newest saved trial list in a local experiment folder does not parse: the kill came while Tune
    copied it to storage (CI saw an empty one)."""
    return newest_saved_trial_list(experiment)[1] is None


def newest_saved_trial_list(experiment: Path) -> tuple[Path, dict | None]:
    """Tune's newest saved trial list in a local experiment folder: its path and its state, None if it does not
    parse."""
    path = max(experiment.glob("experiment_state-*.json"))
    try:
        return path, json.loads(path.read_text())
    except ValueError:
        return path, None


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
    from codemix.runtime.ray_cluster import _free_port

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


@contextlib.contextmanager
def ray_head(num_cpus: int = 2, drop_env: tuple[str, ...] = ()):
    """`ray start --head --block` in its own process group (its address file and sessions in a private temp
    folder, so no other `ray.init()` here joins it; dashboard, job agent and GCS on free loopback ports); stopped by
    signalling that group, never by `ray stop`, which would stop every Ray instance on the machine. ``drop_env``:
    variables its processes must not inherit. Yields (dashboard address, the environment to run `ray` with, root)."""
    bin_dir = Path(sys.executable).parent  # the venv whose `ray` and `python` the cluster and its jobs use
    root = Path(tempfile.mkdtemp(prefix="cmj", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    dashboard = free_port()
    env = {**{k: v for k, v in os.environ.items() if k not in drop_env}, "RAY_TMPDIR": str(root),
           "RAY_AUTH_MODE": "disabled", "RAY_API_SERVER_ADDRESS": f"http://127.0.0.1:{dashboard}",
           "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen([str(bin_dir / "ray"), "start", "--head", "--block", f"--port={free_port()}",
                             f"--num-cpus={num_cpus}", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
                             f"--dashboard-port={dashboard}", f"--temp-dir={root / 'ray'}", "--disable-usage-stats",
                             # the default 52365 is taken by any other Ray on this machine: no job agent then
                             f"--dashboard-agent-listen-port={free_port()}"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([str(bin_dir / "ray"), "job", "list", "--address", address], env=env,
                             capture_output=True).returncode != 0:
            assert proc.poll() is None, "ray start --head exited"
            assert time.monotonic() < deadline, "the dashboard never answered"
            time.sleep(2)
        yield address, env, root
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # --block: ray stops the processes it started...
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # ... but its raylet drains for up to 30 s: no need here
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # every process of this cluster is in this group
        except ProcessLookupError:
            pass
        proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def submit_job(address: str, env: dict, args: list[str], cwd: Path = REPO, timeout: float = 800):
    """`ray job submit --address ADDRESS ARGS`, retried while the head's job agent has not registered yet
    (it does a little after the dashboard answers); returns the CompletedProcess."""
    ray = Path(sys.executable).parent / "ray"
    for _ in range(10):
        done = subprocess.run([str(ray), "job", "submit", "--address", address, *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
        if "No available agent to submit job" not in done.stdout + done.stderr:
            break
        time.sleep(2)
    return done
