"""Kill -9 the sweep driver at many points, resume, and get the same tables with no finished stage redone.

Each sweep runs in a subprocess in its own process group (its local Ray cluster included), which
the failure-injection hooks in codemix.sweep.trial SIGKILL at the chosen point.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
VOLATILE = {"trial_id", "finished_at", "started_at"}


def small_spec(storage: Path, name: str = "resume") -> Path:
    """Two trials (llama x proportion {0, 1}), one cheap task per domain."""
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec.update(name=name, storage=str(storage))
    spec["search"].update(family=["llama"], proportion=[0.0, 1.0])
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


def tables(experiment: Path) -> dict:
    out = {}
    for level in ("scores", "predictions", "trials"):
        rows = pq.read_table(experiment / "results" / level).to_pylist()
        drop = VOLATILE | ({"stages"} if level == "trials" else set()) | (
            {"train_seconds", "eval_seconds", "train_tokens_per_s"} if level == "trials" else set())
        for r in rows:
            if "config" in r:  # the runs live in different folders; everything else must match
                r["config"] = {k: v for k, v in json.loads(r["config"]).items() if k != "storage"}
        out[level] = sorted(json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True, default=str)
                            for r in rows)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the small sweep: the tables every resumed run must reproduce."""
    storage = tmp_path_factory.mktemp("reference")
    assert driver(["run", str(small_spec(storage))]) == 0
    return tables(storage / "resume")


def attempts(experiment: Path) -> dict[str, int]:
    return {d.name: len(list(d.glob("*.json"))) for d in (experiment / "attempts").iterdir()}


@pytest.mark.parametrize("kill_at", ["mix@2", "train_step@1:2", "eval@2"])
def test_kill_anywhere_then_resume_gives_identical_tables_without_redoing_stages(tmp_path, reference, kill_at):
    spec = small_spec(tmp_path)
    experiment = tmp_path / "resume"
    assert driver(["run", str(spec)], kill_at=kill_at) == -signal.SIGKILL
    finished_before = {p.stem: p.stat().st_mtime_ns for p in (experiment / "results" / "trials").glob("*.parquet")}
    checkpoints_before = set(os.listdir(tmp_path / "_cache" / "checkpoints")) if (
        tmp_path / "_cache" / "checkpoints").exists() else set()

    assert driver(["resume", str(experiment)]) == 0

    assert tables(experiment) == reference
    final = pq.read_table(experiment / "results.parquet").to_pylist()
    assert len({(r["trial_key"], r["task"]) for r in final}) == len(final) == 2 * 3
    # a trial that had finished is not run again: same file, one attempt
    runs = attempts(experiment)
    for key, mtime in finished_before.items():
        assert (experiment / "results" / "trials" / f"{key}.parquet").stat().st_mtime_ns == mtime
        assert runs[key] == 1
    # no finished stage is redone: checkpoints that existed are reused, never rebuilt
    trials = pq.read_table(experiment / "results" / "trials").to_pylist()
    stages = {t["trial_key"]: json.loads(t["stages"]) for t in trials}
    for t in trials:
        if t["trial_key"] not in finished_before and t["train_hash"] in checkpoints_before:
            assert stages[t["trial_key"]]["train"] == "cached"
    if kill_at.startswith("train_step"):
        interrupted = [t for t in trials if runs[t["trial_key"]] == 2]
        assert len(interrupted) == 1
        metrics = json.loads((tmp_path / "_cache" / "checkpoints" / interrupted[0]["train_hash"]
                              / "train_metrics.json").read_text())
        assert metrics["resumed_from"] == 2  # training continued from its checkpoint, not from step 0
    if kill_at == "eval@2":
        interrupted = [t for t in trials if runs[t["trial_key"]] == 2]
        assert [stages[t["trial_key"]] for t in interrupted] == [{"mix": "cached", "train": "cached",
                                                                  "eval": "computed"}]


def test_failed_trial_is_recorded_sweep_continues_and_retry_failed_reruns_it(tmp_path, reference):
    spec = small_spec(tmp_path)
    experiment = tmp_path / "resume"
    assert driver(["run", str(spec)], fail_at="eval@1") == 3  # finished, with a failed trial
    trials = pq.read_table(experiment / "results" / "trials").to_pylist()
    assert sorted(t["status"] for t in trials) == ["error", "ok"]  # the sweep went on to the next trial
    failed = next(t for t in trials if t["status"] == "error")
    assert "RuntimeError: injected failure at eval@1" in failed["error"]
    assert len(pq.read_table(experiment / "results.parquet")) == 3  # only the finished trial's tasks

    assert driver(["resume", str(experiment)]) == 3  # a plain resume leaves failed trials alone
    assert attempts(experiment)[failed["trial_key"]] == 1

    assert driver(["resume", str(experiment), "--retry-failed"]) == 0
    assert tables(experiment) == reference
    retried = next(t for t in pq.read_table(experiment / "results" / "trials").to_pylist()
                   if t["trial_key"] == failed["trial_key"])
    assert json.loads(retried["stages"]) == {"mix": "cached", "train": "cached", "eval": "computed"}


def test_smoke_sweep_killed_after_first_trial_resumes_without_rerunning_it(tmp_path):
    """The README's demo sweep (6 trials), SIGKILLed right after its first trial finished."""
    experiment = tmp_path / "smoke"
    args = ["run", str(REPO / "sweeps" / "smoke.yaml"), "--storage", str(tmp_path), "--set", "eval.limit=1"]
    assert driver(args, kill_at="between@1") == -signal.SIGKILL
    first = {p.stem: p.stat().st_mtime_ns for p in (experiment / "results" / "trials").glob("*.parquet")}
    assert len(first) == 1

    assert driver(["resume", str(experiment)]) == 0

    results = pq.read_table(experiment / "results.parquet").to_pylist()
    trials = {(r["family"], r["proportion"]) for r in results}
    assert trials == {(f, p) for f in ("llama", "mistral") for p in (0.0, 0.5, 1.0)}
    assert len({(r["trial_key"], r["task"]) for r in results}) == len(results) == 6 * 12  # each trial once
    runs = attempts(experiment)
    assert len(runs) == 6 and all(n == 1 for n in runs.values())  # nothing started twice
    for key, mtime in first.items():
        assert (experiment / "results" / "trials" / f"{key}.parquet").stat().st_mtime_ns == mtime


@pytest.fixture
def s3_bucket(monkeypatch):
    """A local S3-compatible server (moto) on the loopback, with one bucket; yields its URI prefix."""
    from moto.server import ThreadedMotoServer
    import pyarrow.fs as pafs

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    query = f"?endpoint_override={host}:{port}&scheme=http&region=us-east-1"
    fs = pafs.S3FileSystem(endpoint_override=f"{host}:{port}", scheme="http", region="us-east-1",
                           allow_bucket_creation=True)
    fs.create_dir("codemix-test")
    yield f"s3://codemix-test/sweeps{query}", fs
    server.stop()


def test_sweep_on_s3_storage_resumes_from_the_bucket(tmp_path, reference, s3_bucket):
    """Storage by URI: results, stage cache and Tune state live in the bucket; resume reads them back."""
    uri, fs = s3_bucket
    spec = small_spec(tmp_path)
    assert driver(["run", str(spec), "--storage", uri], kill_at="eval@2") == -signal.SIGKILL
    base, _, query = uri.partition("?")
    assert driver(["resume", f"{base}/resume?{query}"]) == 0

    local = tmp_path / "from_s3"
    import pyarrow.fs as pafs
    pafs.copy_files("codemix-test/sweeps/resume/results", str(local / "results"), source_filesystem=fs,
                    destination_filesystem=pafs.LocalFileSystem())
    got = tables(local)
    for level in ("scores", "predictions", "trials"):  # the spec's storage differs from the reference
        assert got[level] == reference[level]
    names = {i.base_name for i in fs.get_file_info(pafs.FileSelector("codemix-test/sweeps/_cache"))}
    assert {"pools", "mixes", "checkpoints", "predictions", "train_runs"} <= names
    assert fs.get_file_info("codemix-test/sweeps/resume/results.parquet").type == pafs.FileType.File
