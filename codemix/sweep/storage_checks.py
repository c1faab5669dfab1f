"""Storage every node sees: a local folder refused on a cluster of more than one node, and where each output goes.

Every node writes the stage outputs of the trials it runs (mixes, Ray Train checkpoints, final
models, predictions, result tables) under ``storage``. A local folder is each node's own disk
unless it is mounted at the same path on every node, so on a cluster that has, or may get, more
than one node a local ``storage`` is refused before any compute unless the spec declares it
shared (``storage_shared: true``): the driver, ``codemix resume`` and ``codemix report`` would
otherwise see only part of a sweep. ``s3://`` and ``gs://`` storage is seen by every node.
"""

from __future__ import annotations

import logging
import os

from codemix.spec import SpecError, SweepSpec
from codemix.storage import LAYOUT, Store
from codemix.sweep.cluster import ClusterInfo, cluster_info, multi_node_reason

log = logging.getLogger("codemix")


class StorageNotShared(SpecError):
    """A local storage folder on a cluster whose other nodes would not see it."""


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

    return [*((what, at(key)) for what, key in LAYOUT),
            ("result tables", at(spec.name, "results/{trials,scores,predictions}/<trial key>.parquet")),
            ("results.parquet, spec.yaml, Tune state", at(spec.name))]
