"""Starting or joining a Ray cluster with the settings codemix relies on."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time

from codemix import faults

log = logging.getLogger(__name__)


def init_ray(address: str | None = None, num_cpus: int | None = None, credentials: tuple[str, ...] = ()) -> None:
    """Connect to a cluster (``address`` or ``$RAY_ADDRESS``) or start a local one.

    ``credentials``: names of environment variables every task of the job needs (API keys, HF_TOKEN). A local
    cluster started here inherits this process's environment; on a cluster joined here, those set here and not
    already in the job's runtime environment (``ray job submit --runtime-env-json``) are added to it, so that
    trials and workers on every node get them. Their values go nowhere else (no log, no file).
    """
    import ray

    if ray.is_initialized():
        return
    # Save Tune's experiment state after every trial event: a driver killed right after a trial
    # finished must not rerun it (the default saves at most every ~10 s).
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "0")
    # Train's controller polls workers at this interval and each report waits for a poll.
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.5")
    faults.note_driver_group()  # crash tests: the process group their hooks kill
    # A cluster `ray start` runs here is joined as ray.init() would, but without the private dashboard below.
    address = cluster_address(address, join_running=num_cpus is None)
    if address:
        missing = {k: os.environ[k] for k in credentials if os.environ.get(k) and k not in _job_env_vars()}
        ray.init(address=address, runtime_env={"env_vars": missing} if missing else None)
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local cluster, started by this process
    port = _free_port()
    os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{port}"  # our dashboard, not another local Ray's
    ray.init(num_cpus=num_cpus, include_dashboard=True, dashboard_port=port, log_to_driver=False)


def _job_env_vars() -> dict:
    """The environment variables of a submitted job's runtime environment ({} for a driver started by hand)."""
    import json

    from ray._private.runtime_env.constants import RAY_JOB_CONFIG_JSON_ENV_VAR  # private: Ray is pinned

    config = json.loads(os.environ.get(RAY_JOB_CONFIG_JSON_ENV_VAR) or "{}")
    return (config.get("runtime_env") or {}).get("env_vars") or {}


def cluster_address(address: str | None = None, join_running: bool = True) -> str | None:
    """The Ray cluster to join: ``address``, else ``$RAY_ADDRESS``, else (``join_running``) the one ``ray start``
    started on this machine; None = start a private local one. The one place codemix reads RAY_ADDRESS."""
    return address or os.environ.get("RAY_ADDRESS") or (running_cluster_address() if join_running else None)


def running_cluster_address() -> str | None:
    """The cluster `ray start` last started on this machine (what a bare ``ray.init()`` would join), if any."""
    from ray._private.utils import read_ray_address  # private API: Ray is pinned in pyproject

    return read_ray_address()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def reserved_resources(bundle: dict[str, float], purpose: str, wait_note_s: float = 10.0):
    """Hold ``bundle`` (e.g. ``{"CPU": 1}``) in a placement group of its own while work runs in this process.

    Work done in the calling process (a Tune trial's in-process training) reserves its CPUs here for its
    duration only, as a Ray Train worker group would, so that trials queue for CPUs instead of piling up,
    and the trial's later stages (evaluation's Ray Data actors) find them free again. Outside Ray, or for an
    empty bundle, nothing is reserved. The group dies with this process if it is killed.
    """
    import ray

    bundle = {k: v for k, v in bundle.items() if v}
    if not ray.is_initialized() or not bundle:
        yield
        return
    from ray.util.placement_group import placement_group, remove_placement_group

    group = placement_group([bundle], strategy="PACK")
    start = time.monotonic()
    try:
        ready, _ = ray.wait([group.ready()], timeout=wait_note_s)
        if not ready:
            log.warning("%s waits for %s to be free on the cluster", purpose, bundle)
            ray.get(group.ready())
            log.warning("%s got %s after %.0f s", purpose, bundle, time.monotonic() - start)
        yield
    finally:
        remove_placement_group(group)
