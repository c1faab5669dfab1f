"""The README's job path, against a cluster started here: `ray start --head` (dashboard on the loopback),
then `ray job submit --working-dir . -- python sweeps/launch.py sweeps/smoke.yaml ...` (reduced with --set).

The uploaded working directory must leave out what .gitignore lists (.venv/, runs/, .cache/), stay far
below Ray's upload limit, and the job must run the sweep to completion.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sweep_helpers import ray_head, submit_job

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow(seconds=30), pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def head():
    """A `ray start --head` cluster of its own (sweep_helpers.ray_head)."""
    with ray_head() as cluster:
        yield cluster


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
    submit = submit_job(address, env, ["--working-dir", ".", "--", "python", "sweeps/launch.py", "sweeps/smoke.yaml",
                                       "--address", "auto", *[arg for s in sets for arg in ("--set", s)]])
    output = submit.stdout + submit.stderr
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
