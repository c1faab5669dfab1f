"""The Ray cluster a sweep runs on: its alive nodes, whether it may grow, what one trial demands of a node, and
why a sweep's trials would run on more than one node (``multi_node_reason``: what refuses a local storage,
``storage_checks``; the node types a sweep can admit: ``capacity``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from codemix.runtime import cluster_address
from codemix.spec import SweepSpec

BOOTSTRAP_CONFIG = "~/ray_bootstrap_config.yaml"  # written by `ray up` on the head, read by its autoscaler


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
    import ray  # Ray (1 s) only when asking a cluster: the plan and the CLI import this module

    nodes = [ClusterNode(n["NodeID"], n["NodeManagerAddress"], "node:__internal_head__" in n["Resources"],
                         {k: v for k, v in n["Resources"].items() if not k.startswith("node:")})
             for n in ray.nodes() if n["Alive"]]
    return ClusterInfo(sorted(nodes, key=lambda n: (not n.is_head, n.node_id)), autoscaler_may_add_nodes())


def cluster_info_at(address: str | None = None) -> ClusterInfo | None:
    """The cluster ``codemix run`` would use (``address``, ``$RAY_ADDRESS``, or the one ``ray start``
    started on this machine); None when there is none, i.e. a run would start a private one-node
    cluster. Connects only for the question, unless already connected."""
    import ray

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
