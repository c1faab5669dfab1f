"""What changes on a Ray cluster of more than one node: storage every node sees, and trials lost with a node.

Every node writes the stage outputs of the trials it runs (mixes, Ray Train checkpoints, final
models, predictions, result tables) under ``storage``. A local folder is each node's own disk
unless it is mounted at the same path on every node, so on a cluster that has, or may get, more
than one node a local ``storage`` is refused before any compute unless the spec declares it
shared (``storage_shared: true``): the driver, ``codemix resume`` and ``codemix report`` would
otherwise see only part of a sweep. ``s3://`` and ``gs://`` storage is seen by every node.

A trial whose node dies (spot preemption, a crash) is restarted by Tune up to
``resources.trial_retries`` times; its finished stages come from the cache and its training
continues from the last checkpoint in storage. A trial that *raised* is different: its error is
recorded in the trials table, and Tune's restart replays it instead of running it again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from codemix import cache
from codemix.attempts import attempt_starts, attempt_trials
from codemix.config import SpecError, SweepSpec
from codemix.results import results_key
from codemix.storage import Store

log = logging.getLogger("codemix")
BOOTSTRAP_CONFIG = "~/ray_bootstrap_config.yaml"  # written by `ray up` on the head, read by its autoscaler
# Errors that come from Ray losing a node or worker under a stage, not from the trial's own work.
RAY_INFRASTRUCTURE_ERRORS = ("ActorDiedError", "ActorUnavailableError", "NodeDiedError", "ObjectLostError",
                             "OwnerDiedError", "RaySystemError", "WorkerCrashedError")


class StorageNotShared(SpecError):
    """A local storage folder on a cluster whose other nodes would not see it."""


class RecordedTrialFailure(RuntimeError):
    """A restarted trial whose latest attempt raised: its recorded error, not a new run."""


@dataclass(frozen=True)
class ClusterNode:
    """One alive node of the connected Ray cluster."""

    node_id: str
    address: str
    is_head: bool
    resources: dict[str, float] = field(default_factory=dict)  # CPU, GPU, memory (bytes), custom


@dataclass(frozen=True)
class ClusterInfo:
    """The connected Ray cluster: its alive nodes (head first) and whether it may grow."""

    nodes: list[ClusterNode]
    autoscaling: bool


def cluster_info() -> ClusterInfo:
    """The Ray cluster this process is connected to."""
    import ray

    nodes = [ClusterNode(n["NodeID"], n["NodeManagerAddress"], "node:__internal_head__" in n["Resources"],
                         {k: v for k, v in n["Resources"].items() if not k.startswith("node:")})
             for n in ray.nodes() if n["Alive"]]
    return ClusterInfo(sorted(nodes, key=lambda n: (not n.is_head, n.node_id)), autoscaler_may_add_nodes())


def cluster_info_at(address: str | None = None) -> ClusterInfo | None:
    """The cluster ``codemix run`` would use (``address``, ``$RAY_ADDRESS``, or the one ``ray start``
    started on this machine); None when there is none, i.e. a run would start a private one-node
    cluster. Connects only for the question, unless already connected."""
    import ray

    from codemix.ray_runtime import cluster_address

    if ray.is_initialized():
        return cluster_info()
    address = cluster_address(address)
    if not address:
        return None
    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    try:
        return cluster_info()
    finally:
        ray.shutdown()


def trial_demand(spec: SweepSpec) -> dict[str, float]:
    """Everything one trial holds at once: its driver plus all its training workers."""
    r = spec.resources
    demand = {"CPU": r.trial_cpus + r.num_workers * r.cpus_per_worker, "GPU": r.num_workers * r.gpus_per_worker}
    for extra, times in ((r.trial_resources, 1), (r.worker_resources, r.num_workers)):
        for key, amount in extra.items():
            demand[key] = demand.get(key, 0) + amount * times
    return {k: v for k, v in demand.items() if v}


def fits(demand: dict[str, float], node: ClusterNode) -> bool:
    """Whether a node has (in total) every resource of a demand."""
    return all(node.resources.get(k, 0) >= v - 1e-9 for k, v in demand.items())


def bootstrap_config(path: str | Path = BOOTSTRAP_CONFIG) -> dict | None:
    """The autoscaler config `ray up` left on this head (with node types), or None."""
    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        return None
    config = yaml.safe_load(path.read_text()) or {}
    return config if isinstance(config, dict) and config.get("available_node_types") else None


def autoscaler_may_add_nodes() -> bool:
    """Whether the cluster's autoscaler may start more nodes (best effort): a `ray up` head's autoscaler config
    (Ray 2.60's default autoscaler reports none to the cluster), else the cluster config Ray's v2 autoscaler
    reported (the same private state Ray Data reads); False for a `ray start` cluster."""
    config = bootstrap_config()
    if config:
        return any(t.get("max_workers", config.get("max_workers", 0)) > t.get("min_workers", 0)
                   for name, t in config["available_node_types"].items() if name != config.get("head_node_type"))
    try:
        import ray._private.state

        config = ray._private.state.state.get_cluster_config()
    except Exception:  # noqa: BLE001 - an older/newer Ray without it: rely on the other signals
        return False
    return bool(config) and any(g.max_count == -1 or g.max_count > g.min_count
                                for g in config.node_group_configs if g.resources and g.max_count != 0)


def multi_node_reason(spec: SweepSpec, cluster: ClusterInfo) -> str | None:
    """Why this sweep's trials would run on more than one node of the cluster, or None."""
    nodes = cluster.nodes
    if len(nodes) > 1:
        head = next((n for n in nodes if n.is_head), nodes[0])
        return f"this Ray cluster has {len(nodes)} nodes (head {head.address} and {len(nodes) - 1} more)"
    if cluster.autoscaling:
        return "this Ray cluster's autoscaler may add nodes"
    if nodes and not fits(trial_demand(spec), nodes[0]):
        need = ", ".join(f"{k} {v:g}" for k, v in trial_demand(spec).items())
        return f"its only node cannot hold a trial ({need}), so trials would run on nodes added later"
    return None


def check_storage_shared(spec: SweepSpec, cluster: ClusterInfo | None = None, resume_path: str | None = None) -> None:
    """Stop (StorageNotShared, a SpecError) when ``storage`` is a local folder that other nodes of the
    cluster would not see. Without ``cluster``: the one this process is connected to. Call it
    before any trial starts."""
    if spec.storage_shared or not Store(spec.storage).is_local:
        return
    reason = multi_node_reason(spec, cluster or cluster_info())
    if reason is None:
        return
    where = f" in {resume_path}/spec.yaml" if resume_path else " (--set storage_shared=true)"
    raise StorageNotShared(
        f"storage {spec.storage!r} is a local folder, but {reason}: each node would write the mixes, checkpoints "
        f"and results of its trials to its own disk, and the driver, `codemix resume` and `codemix report` would "
        f"see only part of them. Use storage that every node reaches, s3://bucket/prefix or gs://bucket/prefix "
        f"(--storage URI), or a folder mounted at the same path on every node (NFS, EFS, ...) declared with "
        f"storage_shared: true{where}.")


def warn_if_inside_job_copy(storage: str) -> None:
    """Warn when a relative storage folder would land in the copy of the working directory that Ray
    unpacked for a job (`ray job submit --working-dir .`): Ray's temp folder, not the user's checkout."""
    if not os.path.isabs(os.path.expanduser(storage)) and "/runtime_resources/working_dir_files/" in os.getcwd():
        log.warning("storage %r is relative, so it lands in this Ray job's copy of the working directory (%s), "
                    "which Ray deletes with its temp folder; give the job an absolute path or a bucket "
                    "(--set storage=...)", storage, os.getcwd())


def output_locations(spec: SweepSpec) -> list[tuple[str, str]]:
    """(stage output, where it is written) for every output of a sweep; URIs without their ?options."""
    store = Store(spec.storage)

    def at(*parts: str) -> str:
        return store.url(*parts).partition("?")[0]

    return [*((what, at(key)) for what, key in cache.LAYOUT),
            ("result tables", at(spec.name, "results/{trials,scores,predictions}/<trial key>.parquet")),
            ("results.parquet, spec.yaml, Tune state", at(spec.name))]


# ----------------------------------------------------------------------------- trials lost with a node


def replay_recorded_failure(experiment: Store, trial_key: str, retry_failed: bool = False,
                            attempts_before: dict[str, int] | None = None) -> None:
    """When Tune starts a trial again, raise the error its latest attempt recorded instead of rerunning it.

    Not replayed (the trial runs): no recorded error; an error Ray raised (a node or worker lost
    under a stage); a latest attempt that never finished (lost with its node); and, with
    ``retry_failed``, a trial with no attempt since this session began (``attempts_before``).
    """
    key = results_key("trials", trial_key)
    if not experiment.exists(key):
        return
    record = experiment.read_parquet(key).to_pylist()[0]
    if record["status"] != "error" or (record["error"] or "").startswith(RAY_INFRASTRUCTURE_ERRORS):
        return
    starts = attempt_starts(experiment, trial_key)
    if starts and record["finished_at"] < starts[-1]:  # the latest attempt has no record of its own
        return
    if retry_failed and len(starts) <= (attempts_before or {}).get(trial_key, 0):
        return
    raise RecordedTrialFailure(f"trial {trial_key} is not rerun: its last attempt failed, and would fail again "
                               f"(`codemix resume --retry-failed` reruns it): {record['error']}")


def lost_trials(results, experiment: Store) -> list[dict]:
    """Tune trials that ended in an error but left no trials record: lost with their node after every restart.
    ``results`` is Tune's ResultGrid; a trial's key is the one its attempts recorded (``attempt_trials``: the key
    the trial computed, never recomputed here), None for a trial lost before its first attempt began."""
    errored = [r for r in results if r.error is not None]
    keys = attempt_trials(experiment) if errored else {}
    lost = []
    for result in errored:
        key = keys.get((result.metrics or {}).get("trial_id"))
        if key is None or not experiment.exists(results_key("trials", key)):
            cfg = result.config or {}
            lost.append({"trial_key": key, "family": cfg.get("family"), "proportion": cfg.get("proportion"),
                         "seed": cfg.get("seed"), "error": f"lost without a result: {type(result.error).__name__}: "
                                                          f"{str(result.error).splitlines()[0][:300]}"})
    return lost


# ----------------------------------------------------------------------------- codemix plan


def print_cluster(console, spec: SweepSpec, cluster: ClusterInfo | None) -> None:
    """The cluster's nodes (which can hold trial drivers and training workers) and each output's location."""
    from rich.table import Table

    r = spec.resources
    trial = {"CPU": r.trial_cpus, **r.trial_resources}
    worker = {"CPU": r.cpus_per_worker, "GPU": r.gpus_per_worker, **r.worker_resources}
    if cluster is None:
        console.print("Ray: no cluster here or at $RAY_ADDRESS; `codemix run` starts a one-node local cluster "
                      "(--address joins one)")
    else:
        grows = "; the autoscaler may add more" if cluster.autoscaling else ""
        table = Table(title=f"Ray cluster: {len(cluster.nodes)} node(s){grows}")
        for col in ["node", "address", "CPU", "GPU", "memory GB", "custom resources", "holds"]:
            table.add_column(col, no_wrap=True)
        for n in cluster.nodes:
            res = n.resources
            custom = {k: v for k, v in res.items() if k not in {"CPU", "GPU", "memory", "object_store_memory"}}
            holds = [name for name, demand in (("trials", trial), ("workers", worker))
                     if fits({k: v for k, v in demand.items() if v}, n)]
            table.add_row(f"{n.node_id[:8]}{' (head)' if n.is_head else ''}", n.address, f"{res.get('CPU', 0):g}",
                          f"{res.get('GPU', 0):g}", f"{res.get('memory', 0) / 2**30:.1f}",
                          ", ".join(f"{k} {v:g}" for k, v in sorted(custom.items())) or "-",
                          ", ".join(holds) or "-")
        console.print(table)
    seen = ("every node (object store)" if not Store(spec.storage).is_local else "every node (storage_shared: true)"
            if spec.storage_shared else "the node that writes it (a local folder)")
    console.print(f"stage outputs (seen by {seen}):")
    for name, where in output_locations(spec):
        console.print(f"  {name + ':':<40} {where}", soft_wrap=True)
