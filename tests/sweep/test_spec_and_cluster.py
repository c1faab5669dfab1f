"""Bad sweep specs fail before Ray starts, naming the field; cluster.yaml passes Ray's own schema."""

from pathlib import Path

import pytest
import yaml

from codemix.config import SpecError, load_spec, parse_spec
from codemix.eval import get_task, resolve_suite
from codemix.search import check_search
from codemix.sweep.hashes import stage_hashes
from codemix.sweep.space import grid_points

REPO = Path(__file__).resolve().parents[2]


def spec_with(**sections):
    base = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    for key, value in sections.items():
        base.setdefault(key, {}).update(value)
    return base


SPECS = sorted((REPO / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_shipped_spec_passes_what_a_run_checks_before_any_compute(path):
    spec = check_search(load_spec(path))  # the schema, then the searcher, its budget and the metric
    points = grid_points(spec)
    assert points and {p.family for p in points} == set(spec.search.family)
    tasks = resolve_suite(spec.eval.suite)  # every task of its suite is registered
    assert tasks and all(get_task(t).domain for t in tasks)
    hashes = stage_hashes(spec, points[-1], "pool")  # what `codemix plan` computes first
    assert hashes["eval"] and hashes["trial"] and (hashes["train"] or spec.train.method == "none")


def test_shipped_specs_sharing_a_storage_do_not_share_an_experiment_folder():
    specs = [load_spec(p) for p in SPECS]
    folders = [(s.storage, s.name) for s in specs]
    assert len(set(folders)) == len(folders), folders


def test_fine_grained_grid_has_eleven_exact_proportions_and_reuses_paper_points():
    spec = load_spec(REPO / "sweeps" / "fine_grained.yaml")
    assert spec.search.proportions() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert len(grid_points(spec)) == 11 * 2 * 3


@pytest.mark.parametrize("sections,field", [
    ({"search": {"family": ["llama", "falcon"]}}, "search.family: [1] = 'falcon' is not registered"),
    ({"search": {"proportion": [0.0, 1.5]}}, "search.proportion"),
    ({"search": {"proportion": {"min": 0.0, "max": 1.0}}}, "set searcher: optuna"),
    ({"mix": {"total": 0}}, "mix.total"),
    ({"train": {"method": "qlora-ish"}}, "train.method"),
    ({"train": {"learning_rate": 1e-4}}, "train.learning_rate"),
])
def test_bad_spec_names_the_field(sections, field):
    with pytest.raises(SpecError) as err:
        parse_spec(spec_with(**sections), "smoke.yaml")
    message = str(err.value)
    assert "smoke.yaml" in message
    assert field.split(" ")[0] in message and field.split(" ")[-1] in message


def test_mix_larger_than_pool_fails_before_ray_starts(tmp_path):
    import ray

    from codemix.sweep import run_sweep

    spec = spec_with(mix={"total": 5000}, data={"demo_size": 100})
    spec["storage"] = str(tmp_path)
    with pytest.raises(SpecError, match=r"mix.total = 5000.*infeasible"):
        run_sweep(spec)
    assert not ray.is_initialized()
    assert not (tmp_path / "smoke" / "spec.yaml").exists()


def test_cluster_yaml_passes_rays_cluster_config_schema():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(yaml.safe_load((REPO / "cluster.yaml").read_text()))
    validate_config(config)  # raises jsonschema.ValidationError on a bad config
    types = config["available_node_types"]
    assert types["head"]["resources"].get("GPU", 0) == 0
    assert {t["resources"]["GPU"] for n, t in types.items() if n != "head"} == {1, 8}
    assert any("codemix" in c and "[gpu]" in c for c in config["setup_commands"])
    # GPU nodes check that torch sees their GPU before the first trial (the wheels' CUDA 13.0 needs driver R580+)
    assert any("torch.cuda.is_available()" in c for c in config["worker_setup_commands"])
    assert not config.get("initialization_commands")  # host shell files: credentials go with the job instead
    text = (REPO / "cluster.yaml").read_text()
    assert "--runtime-env-json" in text and "iam:PassRole" in text and "ec2:RunInstances" in text


def test_relative_input_paths_are_read_from_the_spec_files_folder_from_any_working_directory(tmp_path, monkeypatch):
    from codemix.sweep.plan import plan_sweep

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "sweeps").mkdir()
    records = [{"conversations": [{"from": "human", "value": f"Write a python function number {i} please"},
                                  {"from": "gpt", "value": f"def f{i}():\n    return {i}\nThis returns {i}."}]}
               for i in range(40)] + [{"conversations": [{"from": "human", "value": f"Tell me about cats {i} times"},
                                                         {"from": "gpt", "value": f"Cats are nice, {i} times."}]}
                                      for i in range(40)]
    import json

    (project / "data" / "sharegpt.json").write_text(json.dumps(records))
    spec = spec_with(data={"source": "../data/sharegpt.json"}, mix={"total": 10},
                     eval={"data_dir": "builtin", "suite": "tasks.yaml"}, model={"path": {"llama": "meta-llama/x"}})
    (project / "sweeps" / "tasks.yaml").write_text("tasks: [coin_flip]\n")
    (project / "sweeps" / "spec.yaml").write_text(yaml.safe_dump({**spec, "storage": str(tmp_path / "runs")}))
    elsewhere = tmp_path / "home"  # `ray exec cluster.yaml "codemix plan ..."` runs in the home folder
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    loaded = load_spec(project / "sweeps" / "spec.yaml", {"eval.limit": 1})
    assert loaded.data.source == str(project / "data" / "sharegpt.json")  # normalised, absolute
    assert loaded.eval.suite == str(project / "sweeps" / "tasks.yaml")
    assert loaded.eval.data_dir == "builtin" and loaded.model.path == {"llama": "meta-llama/x"}  # not paths
    plans, assumptions = plan_sweep(loaded)  # reads the data: from the spec's folder, not from here
    assert assumptions["pool"] > 0 and len(plans) == len(grid_points(loaded))
    overridden = load_spec(project / "sweeps" / "spec.yaml", {"data.source": "mine.json"})
    assert overridden.data.source == "mine.json"  # a path typed on the command line is the shell's
    for name in ("paper", "fine_grained", "bayes", "ablation25"):  # the checkout's data/, from any folder
        shipped = load_spec(REPO / "sweeps" / f"{name}.yaml")
        assert (shipped.data.source, shipped.eval.data_dir) == (str(REPO / "data" / "sharegpt"),
                                                                str(REPO / "data" / "reasoning"))
