"""Where a CPU vLLM engine computes (``codemix.eval.backends.vllm.place_cpu_engine``): in this process on every core
this process may use, one thread per physical core; where the user asks for vLLM's own processes, their worker bound
to those cores; a user's own binding and multi-NUMA machines are left to vLLM. The real engine is checked in
test_vllm.py; here the machine's layout is a folder laid out as Linux's /sys/devices/system."""

from __future__ import annotations

import os

import pytest

from codemix.eval.backends import vllm

VARS = ("VLLM_CPU_OMP_THREADS_BIND", "VLLM_CPU_NUM_OF_RESERVED_CPU", "VLLM_ENABLE_V1_MULTIPROCESSING")


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A fake sysfs; ``lay_out(siblings, numa_nodes)``: the CPUs' sibling lists (cpu -> "0,2") and node count."""
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(vllm, "SYSFS", tmp_path)

    def lay_out(siblings: dict[int, str], numa_nodes: int = 1):
        for cpu, group in siblings.items():
            topology = tmp_path / "cpu" / f"cpu{cpu}" / "topology"
            topology.mkdir(parents=True)
            (topology / "thread_siblings_list").write_text(group + "\n")
        for node in range(numa_nodes):
            (tmp_path / "node" / f"node{node}").mkdir(parents=True)
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(siblings))

    return lay_out


def test_the_engine_runs_here_one_thread_per_core(machine):
    machine({0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"})  # two cores with two hardware threads each
    assert vllm.place_cpu_engine() == 2
    assert os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
    assert "VLLM_CPU_OMP_THREADS_BIND" not in os.environ  # nothing to bind: no worker process


def test_vllms_own_processes_if_asked_have_their_worker_on_every_core(machine, monkeypatch):
    machine({0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"})
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "1")
    assert vllm.place_cpu_engine() is None
    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "0,1"
    assert os.environ["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"


def test_a_binding_the_user_set_is_kept(machine, monkeypatch):
    machine({0: "0", 1: "1"})
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "auto")
    assert vllm.place_cpu_engine() is None
    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "auto"
    assert not any(name in os.environ for name in VARS[1:])


def test_several_numa_nodes_keep_vllms_own_rule(machine):
    machine({0: "0", 1: "1", 2: "2", 3: "3"}, numa_nodes=2)
    assert vllm.place_cpu_engine() is None
    assert not any(name in os.environ for name in VARS)
