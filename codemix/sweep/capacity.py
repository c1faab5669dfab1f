"""How many trials a Ray cluster holds at once at its largest, and where a trial's training workers go.

Ray Tune admits a trial as soon as its driver's CPU is free; the trial's training workers ask
for their GPUs later. On a cluster that grows (``ray up``: GPU node types with ``min_workers: 0``)
a sweep that admitted every trial at once would leave most worker groups waiting for nodes the
cluster can never have. So a sweep admits at most as many trials as the cluster holds at its
largest, and refuses, before any compute, a trial that no node type can hold.

What the cluster can grow to, the first source that says: the spec's ``resources.node_types``;
the autoscaler config ``ray up`` leaves on the head (``~/ray_bootstrap_config.yaml``, where a
``ray job submit`` driver runs); the node groups Ray's v2 autoscaler reports to the cluster
(KubeRay); else the cluster's nodes as they are, which cannot grow.
(Ray 2.60's default autoscaler, the one ``ray up`` starts, reports no node groups to the cluster:
measured on a ``ray start --head --autoscaling-config`` cluster here.)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from codemix.config import SpecError, SweepSpec
from codemix.sweep.cluster import BOOTSTRAP_CONFIG, bootstrap_config, cluster_info


@dataclass(frozen=True)
class NodeType:
    """Nodes of one kind the cluster may have at once (``count`` of them, at most)."""

    name: str
    resources: dict[str, float]
    count: int


@dataclass(frozen=True)
class ClusterShape:
    """The cluster at its largest, and where that was read."""

    node_types: list[NodeType]
    source: str
    may_grow: bool  # nodes may still join (an autoscaler, or stated node types)


@dataclass(frozen=True)
class Admission:
    """What a sweep may run at once on a cluster: trials, and the placement of a trial's training workers."""

    trials_at_once: int  # at most this many trials run at once (Tune's max_concurrent_trials)
    fit: int  # trials the cluster holds at its largest
    placement_strategy: str
    shape: ClusterShape

    def apply(self, spec: SweepSpec) -> SweepSpec:
        """The spec the trials run: the concurrency admitted and the placement resolved."""
        res = spec.resources.model_copy(update={"max_concurrent_trials": self.trials_at_once,
                                                "placement_strategy": self.placement_strategy})
        return spec.model_copy(update={"resources": res})

    def describe(self) -> str:
        """One line for the log."""
        types = ", ".join(f"{t.count} x {t.name} {_fmt(t.resources)}" for t in self.shape.node_types)
        return (f"the cluster holds {self.fit} trial(s) at once at its largest ({types}; from {self.shape.source}); "
                f"running at most {self.trials_at_once} at once, training workers placed {self.placement_strategy}")


# ----------------------------------------------------------------------------- demand


def worker(spec: SweepSpec) -> dict[str, float]:
    """What one training worker holds (one bundle: on one node)."""
    r = spec.resources
    return {k: v for k, v in {"CPU": r.cpus_per_worker, "GPU": r.gpus_per_worker, **r.worker_resources}.items() if v}


def worker_group(spec: SweepSpec) -> dict[str, float]:
    """What a trial's training workers hold together."""
    return {k: v * spec.resources.num_workers for k, v in worker(spec).items()}


def trial_driver(spec: SweepSpec) -> dict[str, float]:
    """What a trial's driver (the Tune trial) holds for its whole life."""
    r = spec.resources
    return {k: v for k, v in {"CPU": r.trial_cpus, **r.trial_resources}.items() if v}


def _times(holder: dict[str, float], demand: dict[str, float]) -> int:
    """How many whole ``demand`` fit in ``holder``."""
    return min((math.floor(holder.get(k, 0) / v + 1e-9) for k, v in demand.items()), default=10**9)


def _one_node_holds(spec: SweepSpec, node_types: list[NodeType]) -> bool:
    return any(t.count > 0 and _times(t.resources, worker_group(spec)) >= 1 for t in node_types)


def trials_that_fit(spec: SweepSpec, node_types: list[NodeType]) -> int:
    """Trials the node types hold at once: their drivers and worker groups together, every worker on one node,
    and every worker group on one node when a node type holds one (STRICT_PACK), else spread over several."""
    group, driver = worker_group(spec), trial_driver(spec)
    total: dict[str, float] = {}
    for t in node_types:
        for k, v in t.resources.items():
            total[k] = total.get(k, 0) + v * t.count
    both = {k: group.get(k, 0) + driver.get(k, 0) for k in {*group, *driver}}
    if _one_node_holds(spec, node_types):
        groups = sum(t.count * _times(t.resources, group) for t in node_types)
    else:
        groups = sum(t.count * _times(t.resources, worker(spec)) for t in node_types) // spec.resources.num_workers
    return min(_times(total, both), groups)


# ----------------------------------------------------------------------------- the cluster's shape


def node_types_of_config(config: dict) -> list[NodeType]:
    """The node types of a cluster-launcher config (cluster.yaml, or the head's bootstrap copy of it): each
    worker type at its ``max_workers``, the head once, the workers together at most the global ``max_workers``."""
    head = config.get("head_node_type")
    limit = config.get("max_workers")
    out = []
    for name, t in (config.get("available_node_types") or {}).items():
        count = 1 if name == head else int(t.get("max_workers", limit if limit is not None else 0))
        out.append(NodeType(name, {k: float(v) for k, v in (t.get("resources") or {}).items()}, count))
    return out


def _cap_workers(node_types: list[NodeType], head: str | None, limit: int | None, spec: SweepSpec) -> list[NodeType]:
    """Within a global cap on worker nodes, the types that hold the most trials per node get the nodes first."""
    if limit is None:
        return node_types
    left, out = limit, []
    group = worker_group(spec)
    share = lambda t: min((t.resources.get(k, 0) / v for k, v in group.items()), default=0)  # noqa: E731
    for t in sorted(node_types, key=lambda t: (t.name != head, -share(t))):
        count = t.count if t.name == head else min(t.count, left)
        left -= 0 if t.name == head else count
        out.append(replace(t, count=count))
    return out


def config_shape(config: dict, spec: SweepSpec, source: str) -> ClusterShape:
    """The cluster a cluster-launcher config (cluster.yaml) describes, at its largest."""
    types = _cap_workers(node_types_of_config(config), config.get("head_node_type"), config.get("max_workers"), spec)
    return ClusterShape(types, source, True)


def _reported_node_groups() -> list[NodeType] | None:
    """The node groups an autoscaler reported to the connected cluster (Ray's v2 autoscaler, KubeRay), or None."""
    try:
        import ray._private.state

        config = ray._private.state.state.get_cluster_config()
    except Exception:  # noqa: BLE001 - private API (Ray is pinned); without it, the other sources
        return None
    if not config or not config.node_group_configs:
        return None
    return [NodeType(g.name or f"group{i}", dict(g.resources), 10**6 if g.max_count == -1 else g.max_count)
            for i, g in enumerate(config.node_group_configs)]


def check_fits_before_any_compute(spec: SweepSpec) -> None:
    """Refuse (SpecError) a trial that no node type can hold when that is known without Ray: the spec states the
    node types, or this is a `ray up` head; before the data stage labels anything. (On other clusters
    ``admit`` refuses it once Ray is up, before any trial starts.)"""
    if spec.resources.node_types or bootstrap_config():
        admit(spec, cluster_shape(spec, nodes=[]))


def cluster_shape(spec: SweepSpec, nodes: list | None = None, bootstrap: str | Path = BOOTSTRAP_CONFIG) -> ClusterShape:
    """The cluster this process is connected to, at its largest (see the module docstring for the sources).

    ``nodes``: its alive nodes (``codemix.sweep.cluster.ClusterNode``), by default read from Ray."""
    if spec.resources.node_types:
        types = [NodeType(n, t.resources, t.max_workers) for n, t in spec.resources.node_types.items()]
        return ClusterShape(types, "resources.node_types", True)
    config = bootstrap_config(bootstrap)
    if config:
        return config_shape(config, spec, f"{Path(os.path.expanduser(str(bootstrap)))} (the autoscaler's config)")
    reported = _reported_node_groups()
    if reported:
        return ClusterShape(reported, "the node groups the cluster's autoscaler reports", True)
    if nodes is None:
        nodes = cluster_info().nodes
    types = [NodeType(f"node {n.node_id[:8]}{' (head)' if n.is_head else ''}", dict(n.resources), 1) for n in nodes]
    return ClusterShape(types, f"the cluster's {len(types)} node(s), which no autoscaler grows", False)


# ----------------------------------------------------------------------------- admission


def admit(spec: SweepSpec, shape: ClusterShape) -> Admission:
    """How many trials of the sweep run at once, and where their workers go; SpecError when none fits."""
    fit = trials_that_fit(spec, shape.node_types)
    if fit < 1:
        need = _fmt({k: worker_group(spec).get(k, 0) + trial_driver(spec).get(k, 0)
                     for k in {*worker_group(spec), *trial_driver(spec)}})
        largest = ", ".join(f"{t.count} x {t.name} {_fmt(t.resources)}" for t in shape.node_types) or "no nodes"
        raise SpecError(f"sweep {spec.name!r}: one trial needs {need} (its driver and {spec.resources.num_workers} "
                        f"training worker(s)), more than this cluster can ever hold ({largest}; from {shape.source}). "
                        "Lower resources.num_workers / gpus_per_worker / cpus_per_worker, or give the cluster node "
                        "types that hold a trial (cluster.yaml, or resources.node_types).")
    wanted = spec.resources.max_concurrent_trials
    strategy = spec.resources.placement_strategy
    if strategy == "auto":
        strategy = "STRICT_PACK" if _one_node_holds(spec, shape.node_types) else "PACK"
    return Admission(min(wanted, fit) if wanted else fit, fit, strategy, shape)


def _fmt(resources: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(resources.items())
                           if k not in ("memory", "object_store_memory") and not k.startswith("accelerator_type")) + "}"
