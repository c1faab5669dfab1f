"""Kill -9 the sweep driver at many points, resume, and get the same tables with no finished stage redone.

Each sweep runs in a subprocess in its own process group (its local Ray cluster included), which
the failure-injection hooks in codemix.sweep.trial SIGKILL at the chosen point.
"""

import json
import os
import signal

import pyarrow.parquet as pq
import pytest
from sweep_helpers import REPO, attempts, driver, moto_bucket, small_spec, tables

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def reference(grid_storage):
    """An uninterrupted run of the small sweep: the tables every resumed run must reproduce."""
    return tables(grid_storage / "resume")


# The stages of the trial the kill interrupted, as its resumed attempt ran them: what was published
# before the kill is reused, the rest is computed (once).
INTERRUPTED = {
    "mix@2": {"mix": "computed", "train": "computed", "eval": "computed"},  # killed before its mix was built
    "train_step@1:2": {"mix": "cached", "train": "computed", "eval": "computed"},  # training resumed from step 2
    "eval@2": {"mix": "cached", "train": "cached", "eval": "computed"},
}


@pytest.mark.parametrize("kill_at", list(INTERRUPTED))
def test_kill_anywhere_then_resume_gives_identical_tables_without_redoing_stages(tmp_path, reference, kill_at):
    spec = small_spec(tmp_path)
    experiment = tmp_path / "resume"
    assert driver(["run", str(spec)], kill_at=kill_at) == -signal.SIGKILL
    finished_before = {p.stem: p.stat().st_mtime_ns for p in (experiment / "results" / "trials").glob("*.parquet")}
    checkpoints = tmp_path / "_cache" / "checkpoints"
    checkpoints_before = set(os.listdir(checkpoints)) if checkpoints.exists() else set()

    assert driver(["resume", str(experiment)]) == 0

    assert tables(experiment) == reference
    final = pq.read_table(experiment / "results.parquet").to_pylist()
    assert len({(r["trial_key"], r["task"]) for r in final}) == len(final) == 2 * 3
    # a trial that had finished is not run again: same file, one attempt
    runs = attempts(experiment)
    for key, mtime in finished_before.items():
        assert (experiment / "results" / "trials" / f"{key}.parquet").stat().st_mtime_ns == mtime
        assert runs[key] == 1
    # exactly one trial was interrupted; its resumed attempt reused what the killed one had published
    trials = pq.read_table(experiment / "results" / "trials").to_pylist()
    stages = {t["trial_key"]: json.loads(t["stages"]) for t in trials}
    interrupted = [t for t in trials if runs[t["trial_key"]] == 2]
    assert [stages[t["trial_key"]] for t in interrupted] == [INTERRUPTED[kill_at]]
    assert (interrupted[0]["train_hash"] in checkpoints_before) == (INTERRUPTED[kill_at]["train"] == "cached")
    # the others ran once: finished before the kill, or started only after the resume (all computed)
    for t in trials:
        if t["trial_key"] not in finished_before and t is not interrupted[0]:
            assert runs[t["trial_key"]] == 1 and set(stages[t["trial_key"]].values()) == {"computed"}
    if kill_at.startswith("train_step"):
        metrics = json.loads((checkpoints / interrupted[0]["train_hash"] / "train_metrics.json").read_text())
        assert metrics["resumed_from"] == 2  # training continued from its checkpoint, not from step 0


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
def s3_bucket():
    """A local S3-compatible server (moto) on the loopback, with one bucket; yields its URI prefix."""
    with moto_bucket() as bucket:
        yield bucket


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
