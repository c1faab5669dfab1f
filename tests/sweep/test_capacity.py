"""How many trials a sweep admits at once on a cluster at its largest, where a trial's workers go, and the
refusal, before any compute, of a trial no node type can hold (codemix.sweep.capacity)."""

import os
from pathlib import Path

import pytest
import yaml

from codemix.config import SpecError, load_spec
from codemix.sweep.capacity import NodeType, admit, cluster_shape, node_types_of_config, trials_that_fit
from codemix.sweep.cluster import ClusterNode

REPO = Path(__file__).resolve().parents[2]
CLUSTER = yaml.safe_load((REPO / "cluster.yaml").read_text())


def _spec(name: str, **overrides):
    return load_spec(REPO / "sweeps" / name, {"storage": "/tmp/unused", **overrides})


def _bootstrap(tmp_path, config=CLUSTER) -> Path:
    path = tmp_path / "ray_bootstrap_config.yaml"  # what `ray up` leaves on the head
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_paper_grid_on_cluster_yaml_runs_two_trials_at_once_each_on_one_8_gpu_node(tmp_path):
    spec = _spec("paper.yaml")  # 8 workers x {GPU 1, CPU 4}, max_concurrent_trials: 0 ("as many as fit")
    admission = admit(spec, cluster_shape(spec, nodes=[], bootstrap=_bootstrap(tmp_path)))
    # gpu-8x (p4de, max_workers 2) holds one trial's workers each; the sixteen 1-GPU nodes could hold a third
    # trial's 8 workers only spread over 8 machines, which STRICT_PACK forbids
    assert (admission.fit, admission.trials_at_once, admission.placement_strategy) == (2, 2, "STRICT_PACK")
    assert "ray_bootstrap_config.yaml (the autoscaler's config)" in admission.describe()
    runs = admission.apply(spec)  # what the trials get; spec.yaml keeps the spec as written
    assert runs.resources.max_concurrent_trials == 2 and spec.resources.max_concurrent_trials == 0


def test_a_one_gpu_lora_grid_is_capped_by_the_gpus_and_a_stated_limit_wins_when_lower(tmp_path):
    spec = _spec("fine_grained.yaml")  # 1 worker x 1 GPU per trial
    shape = cluster_shape(spec, nodes=[], bootstrap=_bootstrap(tmp_path))
    # cluster.yaml's global max_workers (16) goes first to the types that hold most trials per node: 2 x gpu-8x
    # (8 each) and 14 x gpu-1x
    assert {t.name: t.count for t in shape.node_types} == {"head": 1, "gpu-8x": 2, "gpu-1x": 14}
    assert admit(spec, shape).fit == 2 * 8 + 14
    stated = _spec("fine_grained.yaml", **{"resources.max_concurrent_trials": 4})
    assert admit(stated, shape).trials_at_once == 4


def test_a_trial_no_node_type_can_hold_is_refused_before_any_compute(tmp_path):
    spec = _spec("paper.yaml", **{"resources.num_workers": 16})  # 16 GPUs: more than any one node has
    shape = cluster_shape(spec, nodes=[], bootstrap=_bootstrap(tmp_path))
    assert {t.name: t.count for t in shape.node_types} == {"head": 1, "gpu-8x": 2, "gpu-1x": 14}
    assert trials_that_fit(spec, shape.node_types) == 1  # spread over both p4de (16 GPUs); 14 g6e hold no second
    assert admit(spec, shape).placement_strategy == "PACK"
    spec = _spec("paper.yaml", **{"resources.gpus_per_worker": 16, "resources.num_workers": 1})
    with pytest.raises(SpecError) as err:
        admit(spec, cluster_shape(spec, nodes=[], bootstrap=_bootstrap(tmp_path)))
    message = str(err.value)
    assert "one trial needs {CPU: 4.1, GPU: 16}" in message and "more than this cluster can ever hold" in message
    assert "2 x gpu-8x {CPU: 96, GPU: 8}" in message


def test_stated_node_types_come_first_and_a_fixed_cluster_is_its_nodes(tmp_path):
    stated = {"late": {"resources": {"CPU": 2, "pool_b": 1}, "max_workers": 1}}
    spec = load_spec(REPO / "sweeps" / "smoke.yaml", {"resources.node_types": stated,
                                                       "resources.worker_resources": {"pool_b": 0.01},
                                                       "resources.max_concurrent_trials": 0})
    shape = cluster_shape(spec, nodes=[], bootstrap=_bootstrap(tmp_path))
    assert shape.source == "resources.node_types" and shape.may_grow
    assert admit(spec, shape).trials_at_once == 3  # 2 CPUs / (0.1 driver + 0.5 worker)

    plain = load_spec(REPO / "sweeps" / "smoke.yaml", {"resources.max_concurrent_trials": 0})
    head = ClusterNode("a" * 56, "127.0.0.1", True, {"CPU": 2.0, "memory": 8e9})
    shape = cluster_shape(plain, nodes=[head], bootstrap=tmp_path / "absent.yaml")
    assert not shape.may_grow and "1 node(s), which no autoscaler grows" in shape.source
    assert admit(plain, shape).trials_at_once == 3 and admit(plain, shape).placement_strategy == "STRICT_PACK"
    needs_pool = plain.model_copy(update={"resources": plain.resources.model_copy(
        update={"worker_resources": {"pool_b": 1.0}})})
    with pytest.raises(SpecError, match="more than this cluster can ever hold"):
        admit(needs_pool, shape)


def test_node_types_of_a_config_count_the_head_once_and_each_worker_type_at_its_max():
    types = {t.name: t for t in node_types_of_config(CLUSTER)}
    assert types["head"].count == 1 and types["head"].resources == {"CPU": 0.0}
    assert (types["gpu-1x"].count, types["gpu-8x"].count) == (16, 2)
    assert trials_that_fit(_spec("paper.yaml"), [NodeType("one", {"CPU": 96, "GPU": 8}, 1)]) == 1


def test_a_ray_up_head_is_known_to_grow_so_local_storage_is_refused_there(tmp_path, monkeypatch):
    from codemix.sweep.cluster import ClusterInfo, autoscaler_may_add_nodes, multi_node_reason

    monkeypatch.setenv("HOME", str(tmp_path))  # where `ray up` leaves the autoscaler's config on the head
    assert not autoscaler_may_add_nodes()  # no bootstrap config, no cluster: nothing says it grows
    _bootstrap(tmp_path)
    assert autoscaler_may_add_nodes()  # Ray 2.60's autoscaler reports no node groups: the file says it
    head = ClusterNode("b" * 56, "10.0.0.1", True, {"CPU": 8.0})
    assert multi_node_reason(_spec("smoke.yaml"), ClusterInfo([head], autoscaler_may_add_nodes())) == (
        "this Ray cluster's autoscaler may add nodes")


def test_on_a_ray_up_head_a_trial_no_node_type_holds_is_refused_before_the_data_stage(tmp_path, monkeypatch):
    import ray

    from codemix.sweep import run_sweep

    monkeypatch.setenv("HOME", str(tmp_path))
    _bootstrap(tmp_path)
    spec = load_spec(REPO / "sweeps" / "smoke.yaml", {"storage": str(tmp_path / "runs"),
                                                       "resources.gpus_per_worker": 16})
    with pytest.raises(SpecError, match="more than this cluster can ever hold"):
        run_sweep(spec)
    assert not ray.is_initialized() and not (tmp_path / "runs").exists()  # no pool, no Ray, no experiment


def test_a_training_run_gets_the_admitted_placement_and_waits_the_spec_s_time_for_its_workers(tmp_path, monkeypatch):
    from ray.train.v2._internal.constants import get_env_vars_to_propagate

    from codemix.config import ModelConfig, ResourcesConfig, TrainConfig
    from codemix.storage import Store
    from codemix.train.trainer import WORKER_GROUP_START_TIMEOUT, TrainRun, _trainer, _worker_start_timeout

    spec = _spec("paper.yaml")
    runs = admit(spec, cluster_shape(spec, nodes=[], bootstrap=_bootstrap(tmp_path))).apply(spec)
    run = TrainRun(store=Store(tmp_path / "store"), mix_key="m", mix_hash="m", family="llama", model_source="x",
                   model_cfg=ModelConfig(), train_cfg=TrainConfig(), resources=runs.resources, seed=0, train_hash="h")
    scaling = _trainer(run, {}, in_tune=False).scaling_config  # what Ray Train places the worker group with
    assert (scaling.placement_strategy, scaling.num_workers, scaling.use_gpu) == ("STRICT_PACK", 8, True)
    plain = run.__class__(**{**run.__dict__, "resources": ResourcesConfig()})  # not admitted by a sweep: Ray's PACK
    assert _trainer(plain, {}, in_tune=False).scaling_config.placement_strategy == "PACK"

    monkeypatch.setenv(WORKER_GROUP_START_TIMEOUT, "3")  # Ray's own setting (60 s unset): the spec's wins in a run
    with _worker_start_timeout(runs.resources.worker_start_timeout):
        assert get_env_vars_to_propagate()[WORKER_GROUP_START_TIMEOUT] == "1800"  # what Train's controller gets
    assert os.environ[WORKER_GROUP_START_TIMEOUT] == "3"
