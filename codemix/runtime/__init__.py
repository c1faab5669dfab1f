"""What the pipeline runs on: the Ray cluster, the accelerators, and the fault hooks the crash tests switch on.

    ray_cluster.py  start or join a Ray cluster (init_ray), hold resources for in-process work
    gpus.py         the one accelerator table (dense bf16 peak, memory) behind MFU and ``codemix plan``
    faults.py       fault injection for the crash and resume tests, off unless CODEMIX_TEST_* variables say
"""

from codemix.runtime.faults import FAIL_AT, FAIL_AT_STEP, HANG_AT, KILL_AT, KILL_PGID, TrainFaults, at_stage
from codemix.runtime.gpus import GPU, GPUS, gpu_for_device, gpu_named
from codemix.runtime.ray_cluster import cluster_address, init_ray, reserved_resources, running_cluster_address

__all__ = ["FAIL_AT", "FAIL_AT_STEP", "GPU", "GPUS", "HANG_AT", "KILL_AT", "KILL_PGID", "TrainFaults", "at_stage",
           "cluster_address", "gpu_for_device", "gpu_named", "init_ray", "reserved_resources",
           "running_cluster_address"]
