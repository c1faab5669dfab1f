"""Kill -9 the sweep driver at many points, resume, and get the same tables with no finished stage redone
(on local storage and on S3).

Each sweep runs in a subprocess in its own process group (its local Ray cluster included), which
the failure-injection hooks in codemix.sweep.trial SIGKILL at the chosen point.
"""

import json
import signal
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sweep_helpers import (
    attempts,
    bucket_key,
    copy_from_bucket,
    driver,
    moto_bucket,
    run_codemix,
    saved_trial_list_is_cut,
    small_spec,
    tables,
    tear_tunes_saved_trial_list,
    with_prefix,
)

pytestmark = [pytest.mark.slow(seconds=290), pytest.mark.timeout(900)]


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
# The kill during evaluation runs on S3 storage (a local moto server): results, stage cache and Tune
# state live in the bucket, and the resume reads them back from there.
STORAGE = {"mix@2": "local", "train_step@1:2": "local", "eval@2": "s3"}
# The kill before a mix leaves Tune's state torn too (see tear_tunes_saved_trial_list): the resume
# starts the sweep again in Tune rather than wait for a trial Tune's trial list lost.
TORN = {"mix@2"}


@dataclass
class LocalStorage:
    root: Path

    @property
    def uri(self) -> str:
        return str(self.root)

    def experiment(self, name: str) -> str:
        return str(self.root / name)

    def files(self, folder: str) -> dict[str, int]:
        """Name (without suffix) -> modification time of each entry of a folder; {} if it is missing."""
        path = self.root / folder
        return {p.stem: p.stat().st_mtime_ns for p in path.iterdir()} if path.exists() else {}

    def snapshot(self, name: str) -> Path:
        """The experiment folder, readable as a local path."""
        return self.root / name


@dataclass
class BucketStorage:
    uri: str
    fs: object
    local: Path

    def experiment(self, name: str) -> str:
        return with_prefix(self.uri, name)

    def files(self, folder: str) -> dict[str, int]:
        import pyarrow.fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(bucket_key(self.uri, folder), allow_not_found=True))
        return {Path(i.path).stem: i.mtime_ns for i in infos}

    def snapshot(self, name: str) -> Path:
        return copy_from_bucket(self.fs, bucket_key(self.uri, name), self.local / f"{name}-from-s3")


@pytest.fixture
def storage(request, tmp_path):
    if request.param == "local":
        yield LocalStorage(tmp_path)
        return
    with moto_bucket() as (uri, fs):
        yield BucketStorage(uri, fs, tmp_path)


# 50-65 s each: a sweep in a subprocess, SIGKILLed at the hook, then resumed to the end (two driver starts);
# the s3 case runs against a moto server.
@pytest.mark.parametrize("kill_at,storage", list(STORAGE.items()), indirect=["storage"])
def test_kill_anywhere_then_resume_gives_identical_tables_without_redoing_stages(tmp_path, reference, kill_at,
                                                                                 storage):
    spec = small_spec(tmp_path)
    assert driver(["run", str(spec), "--storage", storage.uri], kill_at=kill_at) == -signal.SIGKILL
    finished_before = storage.files("resume/results/trials")
    checkpoints_before = set(storage.files("_cache/checkpoints"))
    torn: bool | None = False  # whether the resume must find Tune's state torn (None: either may be)
    if kill_at in TORN:  # Tune's trial list saved a step behind its grid generator, which runs the killed trial
        tear = tear_tunes_saved_trial_list(tmp_path / "resume")
        assert tear, "the killed trial is in Tune's saved trial list, finished"
        torn = None if tear == "not saved yet" else True
    elif isinstance(storage, LocalStorage):  # the kill may also have cut the trial list Tune was copying
        torn = saved_trial_list_is_cut(tmp_path / "resume")

    code, out = run_codemix(["resume", storage.experiment("resume")])
    assert code == 0, out[-5000:]  # restarted in Tune when torn, not hung waiting for the trial the list lost
    if torn is not None:
        assert ("Tune's saved state is torn" in out) == torn

    experiment = storage.snapshot("resume")
    assert tables(experiment) == reference
    final = pq.read_table(experiment / "results.parquet").to_pylist()
    assert len({(r["trial_key"], r["task"]) for r in final}) == len(final) == 2 * 3
    # a trial that had finished is not run again: same file, one attempt
    runs = attempts(experiment)
    after = storage.files("resume/results/trials")
    for key, mtime in finished_before.items():
        assert after[key] == mtime and runs[key] == 1
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
        metrics = json.loads((tmp_path / "_cache" / "checkpoints" / interrupted[0]["train_hash"] /
                              "train_metrics.json").read_text())
        assert metrics["resumed_from"] == 2  # training continued from its checkpoint, not from step 0
    if isinstance(storage, BucketStorage):  # every stage's output went to the bucket
        assert {"pools", "mixes", "checkpoints", "predictions", "train_runs"} <= set(storage.files("_cache"))
        assert not (tmp_path / "resume").exists()  # and nothing of the experiment on the local disk


# ~65 s: three sweep runs (the failing one, a plain resume that replays the error, --retry-failed)
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
