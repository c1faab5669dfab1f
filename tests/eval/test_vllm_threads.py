"""Where a CPU vLLM engine's threads compute (``codemix.eval.backends.vllm.bind_cpu_threads``): every core this process
may use, one thread per physical core; a user's own binding and multi-NUMA machines are left to vLLM. The real engine's
threads are checked in test_vllm.py; here the machine's layout is a folder laid out as Linux's /sys/devices/system."""

from __future__ import annotations

import os

import pytest

from codemix.eval.backends import vllm

VARS = ("VLLM_CPU_OMP_THREADS_BIND", "VLLM_CPU_NUM_OF_RESERVED_CPU")


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


def test_every_core_one_thread_each_and_no_core_kept_for_the_scheduler(machine):
    machine({0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"})  # two cores with two hardware threads each
    vllm.bind_cpu_threads()
    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "0,1"
    assert os.environ["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"


def test_a_binding_the_user_set_is_kept(machine, monkeypatch):
    machine({0: "0", 1: "1"})
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "auto")
    vllm.bind_cpu_threads()
    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "auto" and "VLLM_CPU_NUM_OF_RESERVED_CPU" not in os.environ


def test_several_numa_nodes_keep_vllms_own_rule(machine):
    machine({0: "0", 1: "1", 2: "2", 3: "3"}, numa_nodes=2)
    vllm.bind_cpu_threads()
    assert not any(name in os.environ for name in VARS)
