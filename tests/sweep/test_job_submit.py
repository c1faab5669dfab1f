"""The README's job path, against a cluster started here: `ray start --head` (dashboard on the loopback),
then `ray job submit --working-dir . -- python sweeps/launch.py sweeps/smoke.yaml ...` (reduced with --set).

The uploaded working directory must leave out what .gitignore lists (.venv/, runs/, .cache/), stay far
below Ray's upload limit, and the job must run the sweep to completion.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sweep_helpers import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv whose `ray` and `python` the cluster and the job use
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def head():
    """`ray start --head --block` in its own process group (its address file and sessions in a private
    temp folder, so no other `ray.init()` here joins it); stopped by signalling that group, never by
    `ray stop`, which would stop every Ray instance on the machine."""
    root = Path(tempfile.mkdtemp(prefix="cmj", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    dashboard = free_port()
    env = {**os.environ, "RAY_TMPDIR": str(root), "RAY_AUTH_MODE": "disabled",
           "RAY_API_SERVER_ADDRESS": f"http://127.0.0.1:{dashboard}", "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen([str(BIN / "ray"), "start", "--head", "--block", f"--port={free_port()}",
                             "--num-cpus=2", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
                             f"--dashboard-port={dashboard}", f"--temp-dir={root / 'ray'}", "--disable-usage-stats",
                             # the default 52365 is taken by any other Ray on this machine: no job agent then
                             f"--dashboard-agent-listen-port={free_port()}"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([str(BIN / "ray"), "job", "list", "--address", address], env=env,
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


@pytest.fixture
def ignored_runs_folder():
    """A runs/ folder in the checkout, as after `make demo` (ignored by git, so it must not be uploaded)."""
    runs = REPO / "runs"
    existed = runs.exists()
    probe = runs / "upload-probe" / "big.bin"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_bytes(os.urandom(1 << 20))
    yield runs
    shutil.rmtree(probe.parent) if existed else shutil.rmtree(runs)


def test_job_submitted_with_the_working_dir_runs_the_smoke_sweep_without_venv_or_runs(head, ignored_runs_folder,
                                                                                      tmp_path):
    from ray._private.runtime_env.packaging import GCS_STORAGE_MAX_SIZE

    address, env, root = head
    storage = tmp_path / "jobruns"  # absolute: a relative storage would land inside the job's unpacked copy
    sets = ["search.family=[llama]", "search.proportion=[0.5]", "train.epochs=1", "eval.limit=1",
            f"storage={storage}"]
    started = time.perf_counter()
    for _ in range(10):  # the head's job agent registers a little after the dashboard answers
        submit = subprocess.run(
            [str(BIN / "ray"), "job", "submit", "--address", address, "--working-dir", ".", "--",
             "python", "sweeps/launch.py", "sweeps/smoke.yaml", "--address", "auto",
             *[arg for s in sets for arg in ("--set", s)]],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=800)
        output = submit.stdout + submit.stderr
        if "No available agent to submit job" not in output:
            break
        time.sleep(2)
    print(f"job submit: {time.perf_counter() - started:.0f} s")
    assert submit.returncode == 0, output[-5000:]
    assert re.search(r"Job 'raysubmit_\w+' succeeded", output), output[-3000:]

    # what Ray uploaded: the package its CLI named (a content hash of the files it takes), rebuilt
    # here with Ray's own packaging code, and the copy it unpacked for the job
    from ray._private.ray_constants import get_runtime_env_default_excludes
    from ray._private.runtime_env.packaging import create_package, get_uri_for_directory

    excludes = get_runtime_env_default_excludes()  # .git, .venv, venv, __pycache__; the rest is .gitignore's
    uri = get_uri_for_directory(str(REPO), include_gitignore=True, excludes=excludes)
    assert f"Uploading package {uri}" in output, output[-3000:]
    create_package(str(REPO), tmp_path / "package.zip", include_gitignore=True, excludes=excludes)
    zipped_mib = (tmp_path / "package.zip").stat().st_size / 2**20
    unpacked = next((root / "ray").glob(f"session_*/runtime_resources/working_dir_files/{uri.split('/')[-1][:-4]}"))
    names = {p.relative_to(unpacked).parts[0] for p in unpacked.rglob("*")}
    print(f"uploaded working directory: {zipped_mib:.2f} MiB zipped (Ray's limit "
          f"{GCS_STORAGE_MAX_SIZE / 2**20:.0f} MiB), "
          f"{sum(p.stat().st_size for p in unpacked.rglob('*') if p.is_file()) / 2**20:.2f} MiB unpacked: "
          f"{sorted(names)}")
    assert {"codemix", "sweeps", "pyproject.toml"} <= names
    assert not names & {".venv", "runs", ".cache", ".pytest_cache"}
    assert zipped_mib < 5 < GCS_STORAGE_MAX_SIZE / 2**20  # the sources only: far below the limit

    # the sweep ran to the end, into the storage the job was given
    results = pq.read_table(next(storage.glob("smoke/results.parquet"))).to_pylist()
    assert len(results) == 12 and {r["family"] for r in results} == {"llama"}  # 1 trial x paper12
