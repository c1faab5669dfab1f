"""Without starting Ray: when local storage is refused, and which restarted trials replay their error.

(tests/sweep/test_multinode.py runs the same on a real multi-node Ray cluster.)
"""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from codemix.results.writer import write_trial_results
from codemix.spec import SpecError, parse_spec
from codemix.storage import Store, attempt_counts, attempt_starts, record_attempt
from codemix.sweep.cluster import ClusterInfo, ClusterNode
from codemix.sweep.restarts import RecordedTrialFailure, lost_trials, replay_recorded_failure
from codemix.sweep.storage_checks import check_storage_shared

REPO = Path(__file__).resolve().parents[2]
GPU_NODE = {"CPU": 8, "GPU": 1, "memory": 64 * 2**30}


def spec(storage: str, **changes):
    data = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    data["storage"] = storage
    for key, value in changes.items():
        section, _, field = key.partition(".")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[key] = value
    return parse_spec(data)


def cluster(*resources, autoscaling=False) -> ClusterInfo:
    return ClusterInfo([ClusterNode(f"{i:040x}", "10.0.0.%d" % i, i == 0, dict(r)) for i, r in enumerate(resources)],
                       autoscaling)


def test_local_storage_on_two_nodes_is_refused_with_what_to_use_instead(tmp_path):
    with pytest.raises(SpecError) as err:
        check_storage_shared(spec(str(tmp_path)), cluster({"CPU": 2}, GPU_NODE))
    message = str(err.value)
    assert f"storage '{tmp_path}' is a local folder, but this Ray cluster has 2 nodes (head 10.0.0.0 and 1 more)" \
        in message
    assert "s3://bucket/prefix" in message and "gs://bucket/prefix" in message
    assert "storage_shared: true (--set storage_shared=true)" in message


@pytest.mark.parametrize("resources,autoscaling,refused", [
    ([{"CPU": 2}], False, False),  # one node that holds a trial: a local folder is fine
    ([{"CPU": 2}], True, True),  # ... unless the autoscaler may add nodes
    ([{"CPU": 0}], False, True),  # a head that holds no trial (cluster.yaml): trials run on added nodes
    ([{"CPU": 0}, GPU_NODE, GPU_NODE], False, True),
])
def test_when_a_local_folder_is_refused(tmp_path, resources, autoscaling, refused):
    info = cluster(*resources, autoscaling=autoscaling)
    local = spec(str(tmp_path))
    if refused:
        with pytest.raises(SpecError, match="is a local folder, but"):
            check_storage_shared(local, info)
    else:
        check_storage_shared(local, info)
    check_storage_shared(spec(str(tmp_path), storage_shared=True), info)  # declared mounted on every node
    check_storage_shared(spec("mock:///bucket/codemix"), info)  # an object store every node reaches


def test_a_resume_names_the_spec_file_to_declare_the_folder_shared(tmp_path):
    with pytest.raises(SpecError, match=f"storage_shared: true in {tmp_path}/smoke/spec.yaml"):
        check_storage_shared(spec(str(tmp_path)), cluster({"CPU": 0}), resume_path=f"{tmp_path}/smoke")


def test_custom_resources_are_declared_per_trial_and_per_worker_not_as_cpus(tmp_path):
    with pytest.raises(SpecError, match="resources.worker_resources: .*'GPU'.*gpus_per_worker"):
        spec(str(tmp_path), **{"resources.worker_resources": {"GPU": 1}})
    with pytest.raises(SpecError, match="resources.trial_resources: .*must be positive"):
        spec(str(tmp_path), **{"resources.trial_resources": {"pool_b": 0}})
    # what a trial holds at once decides whether a lone head can run it
    s = spec(str(tmp_path), **{"resources.trial_resources": {"pool_b": 0.01},
                               "resources.worker_resources": {"pool_b": 0.5}, "resources.num_workers": 2})
    check_storage_shared(s, cluster({"CPU": 2, "pool_b": 1.01}))
    with pytest.raises(SpecError, match=r"cannot hold a trial \(CPU 1.1, pool_b 1.01\)"):
        check_storage_shared(s, cluster({"CPU": 2, "pool_b": 1}))


# ----------------------------------------------------------------------------- restarted trials

ERROR = "ValueError: mix has no example with assistant tokens"


def _attempt(experiment: Store, key: str, at: datetime, trial_id: str | None = None) -> None:
    assert record_attempt(experiment, key, trial_id, {"family": "llama"}, started=at) == at


def _record(experiment: Store, key: str, started: datetime, error: str | None) -> None:
    trial = {"status": "error" if error else "ok", "error": error, "started_at": started,
             "finished_at": started + timedelta(seconds=30)}
    write_trial_results(experiment, key, {"sweep": "s", "trial_key": key, "family": "llama", "proportion": 0.0,
                                          "seed": 0}, trial)


def test_restarted_trial_replays_a_recorded_error_but_reruns_a_lost_attempt(tmp_path):
    experiment = Store(tmp_path)
    t0 = datetime(2026, 1, 1, 12, 0, 0, 400_000, tzinfo=timezone.utc)
    replay_recorded_failure(experiment, "k1")  # never ran: run it

    _attempt(experiment, "k1", t0)
    replay_recorded_failure(experiment, "k1")  # started, never recorded (its node died): run it again
    _record(experiment, "k1", t0, ERROR)
    with pytest.raises(RecordedTrialFailure, match=f"trial k1 is not rerun.*{ERROR}"):
        replay_recorded_failure(experiment, "k1")  # Tune's restart after the trial raised

    # --retry-failed: the first start of this session runs; a restart after it failed again replays
    before = attempt_counts(experiment)
    assert before == {"k1": 1}
    replay_recorded_failure(experiment, "k1", retry_failed=True, attempts_before=before)
    t1 = t0 + timedelta(minutes=5)
    _attempt(experiment, "k1", t1)
    replay_recorded_failure(experiment, "k1", retry_failed=True, attempts_before=before)  # that attempt was lost
    _record(experiment, "k1", t1, ERROR)
    with pytest.raises(RecordedTrialFailure):
        replay_recorded_failure(experiment, "k1", retry_failed=True, attempts_before=before)

    # an error Ray raised under a stage (its node died during evaluation) is not the trial's: rerun
    _attempt(experiment, "k2", t0)
    _record(experiment, "k2", t0, "ActorDiedError: The actor died because its node has died.")
    replay_recorded_failure(experiment, "k2")


def test_trials_lost_without_a_record_are_reported_by_the_keys_their_attempts_recorded(tmp_path):
    from ray.tune import Result

    experiment = Store(tmp_path)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for trial_id, key in [("t_ok", "ok"), ("t_lost", "lost"), ("t_failed", "failed")]:
        _attempt(experiment, key, t0, trial_id)
    _attempt(experiment, "lost", t0 + timedelta(minutes=1), "t_lost")  # Tune restarted it: the same trial id
    _record(experiment, "failed", t0, ERROR)
    results = [Result(metrics={"trial_id": trial_id, "config": {"family": "llama", "proportion": p, "seed": 0}},
                      checkpoint=None, error=error, path=str(tmp_path)) for trial_id, p, error in
               [("t_ok", 0.0, None), ("t_lost", 0.5, RuntimeError("ActorDiedError: node died\nmore")),
                ("t_failed", 1.0, RuntimeError("raised")), ("t_early", 0.25, RuntimeError("before any stage"))]]
    lost = lost_trials(results, experiment)
    # t_early died before its first attempt began: lost, under no key
    assert [(t["trial_key"], t["proportion"]) for t in lost] == [("lost", 0.5), (None, 0.25)]
    assert lost[0]["error"] == "lost without a result: RuntimeError: ActorDiedError: node died"


def test_the_attempt_record_counts_and_orders_attempts(tmp_path):
    experiment = Store(tmp_path)
    t0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    for minutes in (5, 0, 9):
        _attempt(experiment, "k1", t0 + timedelta(minutes=minutes))
    _attempt(experiment, "k2", t0)
    experiment.write_bytes("attempts/k2/20260101T120000-x.json.tmp-abc", b"{")  # a write under way
    assert attempt_counts(experiment) == {"k1": 3, "k2": 1}
    assert attempt_starts(experiment, "k1") == [t0, t0 + timedelta(minutes=5), t0 + timedelta(minutes=9)]
    assert attempt_starts(experiment, "k3") == [] and attempt_counts(Store(tmp_path / "none")) == {}


def test_a_relative_storage_inside_a_ray_jobs_working_dir_copy_is_warned_about(tmp_path, monkeypatch, caplog):
    from codemix.sweep.storage_checks import warn_if_inside_job_copy

    copy = tmp_path / "session_x" / "runtime_resources" / "working_dir_files" / "_ray_pkg_0123"
    copy.mkdir(parents=True)
    monkeypatch.chdir(copy)
    with caplog.at_level("WARNING", logger="codemix"):
        warn_if_inside_job_copy(str(tmp_path / "runs"))  # absolute: where the user asked
        assert not caplog.records
        warn_if_inside_job_copy("runs")
    assert f"lands in this Ray job's copy of the working directory ({copy})" in caplog.text
