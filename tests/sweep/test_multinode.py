"""A sweep on a Ray cluster of several nodes, all on this machine (Ray's own `ray.cluster_utils.Cluster`).

The head holds the driver; trials and their training workers are forced onto a second node by a
custom resource (``resources.trial_resources`` / ``worker_resources``); storage is a local S3 server.
Each added node has its own Ray session folder, model cache (``CODEMIX_HOME``) and temp folder, so
nothing may pass between nodes but storage. The node running the trial is killed mid-training, and
the sweep must still finish with the tables of the same trial run uninterrupted on one node (the
sweep tests' grid); and a local storage folder is refused.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from sweep_helpers import (
    bucket_key,
    copy_from_bucket,
    free_port,
    moto_bucket,
    run_codemix,
    small_spec,
    tables,
    with_prefix,
)

pytestmark = [pytest.mark.slow(seconds=155), pytest.mark.timeout(900)]
POOL = "pool_b"  # the custom resource that only the "second node" declares
ON_SECOND_NODE = {"trial_resources": {POOL: 0.01}, "worker_resources": {POOL: 0.01}}
ONE_TRIAL = {"proportion": [1.0]}  # CI time: one trial per sweep; checkpoints every 2 of its 6 steps


@dataclass
class MultiNode:
    """A head node (1 CPU, dashboard on the loopback) plus named worker nodes."""

    cluster: object
    root: Path
    dashboard: str
    nodes: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.cluster.address

    def add(self, name: str, hang_at_step: int | None = None):
        """A 2-CPU node that declares POOL; ``hang_at_step``: its training worker stops at that step's
        checkpoint (and touches ``<root>/<name>.hung``), as if the machine froze there."""
        own = self.root / name
        env = {"CODEMIX_HOME": str(own / "home"), "TMPDIR": str(own / "tmp")}
        (own / "tmp").mkdir(parents=True)
        if hang_at_step:
            env["CODEMIX_TEST_HANG_AT"] = f"{hang_at_step}:{self.root / f'{name}.hung'}"
        self.nodes[name] = self.cluster.add_node(num_cpus=2, resources={POOL: 1}, temp_dir=str(own / "ray"),
                                                 env_vars=env)
        return self.nodes[name]

    def remove(self, name: str, graceful: bool = True) -> None:
        self.cluster.remove_node(self.nodes.pop(name), allow_graceful=graceful)

    def node_id(self, name: str) -> str:
        return self.nodes[name].node_id

    def actor_nodes(self, class_name: str) -> list[str]:
        """Node ids of every actor of that class this cluster has run (dead ones included)."""
        from ray.util.state import list_actors

        return [a.node_id for a in list_actors(address=self.dashboard, filters=[("class_name", "=", class_name)],
                                               limit=10_000, raise_on_missing_output=False)]


@pytest.fixture(scope="module")
def multinode():
    from ray.cluster_utils import Cluster

    # A short root: Ray's socket paths must fit in 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="cmx", dir="/tmp"))
    (root / "ray").mkdir()
    port = free_port()
    cluster = Cluster(shutdown_at_exit=True)
    with pytest.MonkeyPatch.context() as mp:
        # Cluster writes its address to $RAY_TMPDIR/ray/ray_current_cluster: keep it out of /tmp/ray,
        # where any other `ray.init()` on this machine would find and join it.
        mp.setenv("RAY_TMPDIR", str(root))
        mp.setenv("RAY_API_SERVER_ADDRESS", f"http://127.0.0.1:{port}")  # this cluster's State API
        try:
            cluster.add_node(num_cpus=1, include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=port,
                             temp_dir=str(root / "head"),
                             # a killed node is declared dead within seconds, not the default ~30 s
                             _system_config={"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000,
                                             "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3})
            yield MultiNode(cluster, root, f"http://127.0.0.1:{port}")
        finally:
            cluster.shutdown()
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def bucket(multinode):
    with moto_bucket() as b:
        yield b


def _driver_nodes(multinode) -> list[str]:
    """Node ids of every driver that connected to the cluster."""
    from ray.util.state import list_workers

    return [w.node_id for w in list_workers(address=multinode.dashboard, filters=[("worker_type", "=", "DRIVER")],
                                            limit=10_000, raise_on_missing_output=False)]


SAME_STAGES = frozenset({"storage", "name", "search", "resources"})  # spec fields that differ from the grid's


@pytest.fixture(scope="module")
def reference(grid_storage):
    """The grid's proportion-1 trial (one node, local storage, uninterrupted): the same stages as the
    multi-node sweep's one trial, so the same tables."""
    return tables(grid_storage / "resume", keep=lambda r: r["proportion"] == 1.0, config_ignore=SAME_STAGES)


# ~25 s setup + ~60 s: a 3-node cluster_utils cluster on 2 cores, one node killed mid-training, its trial restarted
# on another node (Tune's restart and Ray Train's resume are what is tested; nothing here can be mocked away).
def test_node_killed_mid_training_its_trial_restarts_on_a_new_node_and_the_tables_are_identical(
        multinode, bucket, reference, tmp_path):
    """Also: trials and their workers run only on the nodes that declare the pool, the driver on the
    head, and the driver reads every result back from storage."""
    uri, fs = bucket
    multinode.add("c", hang_at_step=2)
    storage = with_prefix(uri, "killed")
    spec = small_spec(storage, "mn", folder=tmp_path, resources=ON_SECOND_NODE, search=ONE_TRIAL)
    started = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(run_codemix, ["run", str(spec), "--address", multinode.address], timeout=800)
        hung = multinode.root / "c.hung"  # the first trial's worker checkpointed step 2 and stopped there
        while not hung.exists():
            assert not run.done(), run.result()[1][-5000:]
            assert time.perf_counter() - started < 600, "training never reached step 2"
            time.sleep(0.5)
        hung_at = time.perf_counter() - started
        node_c = multinode.node_id("c")
        multinode.remove("c", graceful=False)  # SIGKILL: the trial's driver and worker die with the node
        multinode.add("d")  # the replacement an autoscaler would start
        killed_at = time.perf_counter() - started
        code, out = run.result(timeout=900)
    print(f"node-kill test sweep: {time.perf_counter() - started:.0f} s (step 2 reached at {hung_at:.0f} s, "
          f"node killed and replaced by {killed_at:.0f} s)")
    assert code == 0, out[-5000:]
    local = copy_from_bucket(fs, bucket_key(storage, "mn", "results"), tmp_path / "got" / "results").parent
    assert tables(local, config_ignore=SAME_STAGES) == reference
    assert "results.parquet (3 rows)" in " ".join(out.split())  # the driver read the trial back: 1 trial x 3 tasks
    attempts = _attempts(fs, storage, "mn")
    assert list(attempts.values()) == [2]  # started on node c, restarted on node d
    [killed] = pq.read_table(local / "results" / "trials").to_pylist()
    with fs.open_input_stream(bucket_key(storage, "_cache", "checkpoints", killed["train_hash"],
                                         "train_metrics.json")) as f:
        assert json.loads(f.read())["resumed_from"] == 2  # training continued from its checkpoint on node d
    node_d = multinode.node_id("d")
    placed = {cls: multinode.actor_nodes(cls) for cls in ("ImplicitFunc", "RayTrainWorker")}
    assert set(placed["ImplicitFunc"]) == set(placed["RayTrainWorker"]) == {node_c, node_d}, placed
    assert set(_driver_nodes(multinode)) == {multinode.cluster.head_node.node_id}


def _attempts(fs, uri: str, name: str) -> dict[str, int]:
    import pyarrow.fs as pafs

    counts: dict[str, int] = {}
    for info in fs.get_file_info(pafs.FileSelector(bucket_key(uri, name, "attempts"), recursive=True)):
        if info.type == pafs.FileType.File:
            trial = info.path.rsplit("/", 2)[-2]
            counts[trial] = counts.get(trial, 0) + 1
    return counts


def test_local_storage_folder_is_refused_on_this_cluster_by_run_resume_and_plan(multinode, tmp_path):
    if not multinode.nodes:
        multinode.add("e")
    assert len(multinode.nodes) == 1  # head + one node
    spec = small_spec(tmp_path / "runs", "local", folder=tmp_path, resources=ON_SECOND_NODE)
    address = ["--address", multinode.address]

    code, out = run_codemix(["run", str(spec), *address])
    message = " ".join(out.split())
    print(f"guard message: {message}")
    assert code == 2 and "Traceback" not in message
    assert f"storage '{tmp_path / 'runs'}' is a local folder, but this Ray cluster has 2 nodes" in message
    assert "s3://bucket/prefix" in message and "storage_shared: true" in message
    assert not (tmp_path / "runs" / "local").exists()  # stopped before the experiment was created

    experiment = tmp_path / "runs" / "old"  # an experiment started elsewhere, resumed on this cluster
    experiment.mkdir(parents=True)
    (experiment / "spec.yaml").write_text(yaml.safe_dump({**yaml.safe_load(spec.read_text()), "name": "old"}))
    code, out = run_codemix(["resume", str(experiment), *address])
    assert code == 2 and f"storage_shared: true in {experiment}/spec.yaml" in " ".join(out.split())

    code, out = run_codemix(["plan", str(spec), *address])  # the nodes and outputs first, then the refusal
    assert code == 2 and "is a local folder, but this Ray cluster has 2 nodes" in " ".join(out.split())
    assert "Ray cluster: 2 node(s)" in out
    lines = out.splitlines()
    head = next(line for line in lines if "(head)" in line)
    worker = next(line for line in lines if next(iter(multinode.nodes.values())).node_id[:8] in line)
    assert POOL not in head and "trials" not in head and "workers" not in head  # no pool_b: holds neither
    assert f"{POOL} 1" in worker and "trials, workers" in worker
    assert "seen by the node that writes it (a local folder)" in out
    assert f"fine-tuned models: {tmp_path / 'runs'}/_cache/checkpoints/<train hash>" in " ".join(out.split())
