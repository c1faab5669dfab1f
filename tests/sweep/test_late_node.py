"""A sweep on a cluster that grows: the only node that can hold a trial's training workers joins long after the
sweep has started, as a GPU node of `ray up` does (min_workers 0: instance boot, image pull, installs).

The cluster is Ray's own `ray.cluster_utils.Cluster` on this machine: a head (the driver and the trials' drivers)
and, later, node "late", the only one that declares the custom resource the training workers ask for. The driver
finds what the cluster can grow to where a `ray up` head keeps it (`~/ray_bootstrap_config.yaml`, here in a
private HOME). Every trial must finish: none may give up while the node is coming.

Timers, scaled down 20x so that CI pays under a minute of waiting, with the behaviour kept: Ray Train's
worker-group start timeout (60 s) is 3 s in this cluster. Before codemix set its own (resources.
worker_start_timeout), a run gave up after 4 tries of 3 s (resources.controller_failure_limit = 3 retries)
plus the controller's restarts, 30-50 s on a loaded 2-core machine, and the trials failed (measured on the
code before). The node joins 45 s after the first worker group started waiting: 15 minutes at Ray's own
scale, what a GPU node of `ray up` may take to boot, pull its image and install.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from sweep_helpers import free_port, run_codemix, small_spec

pytestmark = [pytest.mark.slow(seconds=95), pytest.mark.timeout(600)]
POOL = "pool_b"  # declared only by the late node
RAY_START_TIMEOUT_S = 3  # Ray Train's worker-group start timeout in this cluster (Ray's default: 60 s)
JOINS_AFTER_S = 45  # from the first worker group waiting to the node joining


@pytest.fixture
def growing_cluster():
    """A head node (1 CPU, dashboard on the loopback) that a node can join later; its own RAY_TMPDIR."""
    from ray.cluster_utils import Cluster

    root = Path(tempfile.mkdtemp(prefix="cml", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    (root / "ray").mkdir()  # where Cluster writes its address (RAY_TMPDIR/ray), out of other clusters' way
    port = free_port()
    cluster = Cluster(shutdown_at_exit=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_TMPDIR", str(root))
        mp.setenv("RAY_API_SERVER_ADDRESS", f"http://127.0.0.1:{port}")
        mp.setenv("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", str(RAY_START_TIMEOUT_S))  # what the trials inherit
        try:
            cluster.add_node(num_cpus=1, include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=port,
                             temp_dir=str(root / "head"))
            yield cluster, root, f"http://127.0.0.1:{port}"
        finally:
            cluster.shutdown()
            shutil.rmtree(root, ignore_errors=True)


def _waiting_worker_groups(dashboard: str) -> int:
    """Placement groups still pending that ask for the late node's resource (training worker groups)."""
    from ray.util.state import list_placement_groups

    groups = list_placement_groups(address=dashboard, filters=[("state", "=", "PENDING")], detail=True,
                                   raise_on_missing_output=False)
    return sum(any(POOL in b.get("unit_resources", {}) for b in g.bundles) for g in groups)


# ~2.5 min on 2 cores (a cluster start, 45 s of waiting for the node, which is the point, and two tiny trials).
def test_worker_groups_wait_for_a_node_that_joins_late_and_no_trial_fails(growing_cluster, tmp_path, monkeypatch):
    cluster, root, dashboard = growing_cluster
    home = tmp_path / "head-home"
    home.mkdir()
    (home / "ray_bootstrap_config.yaml").write_text(yaml.safe_dump({  # as `ray up` leaves it on the head
        "max_workers": 1, "head_node_type": "head",
        "available_node_types": {"head": {"resources": {"CPU": 1}, "node_config": {}},
                                 "late": {"resources": {"CPU": 2, POOL: 1}, "node_config": {}, "min_workers": 0,
                                          "max_workers": 1}}}))
    monkeypatch.setenv("HOME", str(home))  # the driver's home: where it finds the bootstrap config
    storage = tmp_path / "runs"
    spec = small_spec(storage, "late", resources={"train_launcher": "ray_train", "worker_resources": {POOL: 0.01},
                                                  "max_concurrent_trials": 0})  # "as many as fit", as paper.yaml
    spec.write_text(yaml.safe_dump({**yaml.safe_load(spec.read_text()), "storage_shared": True}))  # one disk here
    started = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(run_codemix, ["run", str(spec), "--address", cluster.address], timeout=500)
        while _waiting_worker_groups(dashboard) == 0:
            assert not run.done(), run.result()[1][-5000:]
            assert time.perf_counter() - started < 300, "no training worker group ever waited for the node"
            time.sleep(1)
        waiting_at = time.perf_counter() - started
        while time.perf_counter() - started < waiting_at + JOINS_AFTER_S:  # the sweep must still be waiting
            assert not run.done(), (f"the sweep ended {time.perf_counter() - started - waiting_at:.0f} s after its "
                                    f"worker groups began waiting: {run.result()[1][-5000:]}")
            time.sleep(1)
        waiting_then = _waiting_worker_groups(dashboard)
        cluster.add_node(num_cpus=2, resources={POOL: 1}, temp_dir=str(root / "late"))
        joined_at = time.perf_counter() - started
        code, out = run.result(timeout=500)
    wall = time.perf_counter() - started
    trials = pq.read_table(storage / "late" / "results" / "trials").to_pylist()
    print(f"late-node sweep: worker groups waiting from {waiting_at:.0f} s, {waiting_then} still waiting when the "
          f"node joined at {joined_at:.0f} s; trials {[(t['proportion'], t['status']) for t in trials]}; "
          f"wall {wall:.0f} s")
    assert code == 0, "\n".join(str(t["error"])[-3000:] for t in trials) + out[-3000:]
    assert waiting_then >= 1  # the node was really awaited: a worker group was still pending when it joined
    assert sorted((t["proportion"], t["status"]) for t in trials) == [(0.0, "ok"), (1.0, "ok")]
    assert "the cluster holds 4 trial(s) at once at its largest" in out  # 4 workers fit the late node
    assert "ray_bootstrap_config.yaml (the autoscaler's config)" in out
