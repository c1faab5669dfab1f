"""What the ray.data.llm route hands Ray, without starting an engine: model sources every node can open, the
adapter by its storage folder, LoRA only for an adapter, the placement, and the spec rules of eval.engine_placement.
(tests/eval/test_ray_llm.py runs the route itself.)"""

from __future__ import annotations

import json

import pytest
from helpers import moto_bucket

from codemix.eval.backends import runs_in_process, uses_ray_data_llm
from codemix.eval.backends.ray_llm import (
    ServedModel,
    engine_source,
    processor_config,
    served_model,
    storage_env,
    tokenizer_folder,
)
from codemix.models.loading import ADAPTER_BASE_FILE
from codemix.spec import EvalConfig, ModelConfig, SpecError, parse_spec
from codemix.storage import Store

ON_CPU = {"bundles": [{"CPU": 1}]}


def test_storage_uri_options_become_the_variables_of_rays_downloader():
    uri = "s3://bucket/runs/_cache/checkpoints/abc?endpoint_override=127.0.0.1:9000&scheme=http&region=eu-west-1"
    assert storage_env(uri) == {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert storage_env("s3://bucket/runs?endpoint_override=minio.lan:9000") == {
        "AWS_ENDPOINT_URL_S3": "https://minio.lan:9000"}
    assert storage_env("s3://bucket/runs") == storage_env("gs://bucket/runs?x=1") == {}


def test_engine_sources_are_what_every_node_can_open(tmp_path):
    assert engine_source("s3://bucket/runs/_cache/checkpoints/abc/?endpoint_override=h:1") == \
        "s3://bucket/runs/_cache/checkpoints/abc"
    assert engine_source("gs://bucket/model") == "gs://bucket/model"
    assert engine_source("meta-llama/Llama-2-7b-hf") == "meta-llama/Llama-2-7b-hf"  # each node asks the hub
    assert engine_source(str(tmp_path)) == str(tmp_path.resolve())  # a folder on a disk the nodes share
    with pytest.raises(ValueError, match="hdfs://nn/model.*not this scheme"):
        engine_source("hdfs://nn/model")


def test_a_local_adapter_is_served_on_its_base_with_lora_up_to_its_rank(tmp_path):
    (tmp_path / ADAPTER_BASE_FILE).write_text(json.dumps({"base": "mistralai/Mistral-7B-v0.1"}))
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 32}))
    served = served_model(str(tmp_path))
    assert served == ServedModel("mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", adapter=str(tmp_path),
                                 lora_rank=32)
    config = processor_config(served, EvalConfig(backend="vllm", num_gpus=1, dtype="bf16"), ModelConfig())
    assert config.engine_kwargs["enable_lora"] and config.engine_kwargs["max_lora_rank"] == 32
    assert config.engine_kwargs["dtype"] == "bfloat16" and not config.engine_kwargs["enforce_eager"]
    assert config.placement_group_config is None  # ray.data.llm's default: a GPU per worker
    full = processor_config(served_model("mistralai/Mistral-7B-v0.1"), EvalConfig(backend="vllm", num_gpus=1),
                            ModelConfig())
    assert "enable_lora" not in full.engine_kwargs and full.dynamic_lora_loading_path is None


def test_an_adapter_in_storage_is_named_under_its_folder_and_only_its_tokenizer_is_downloaded(tmp_path,
                                                                                          monkeypatch):
    monkeypatch.setenv("CODEMIX_HOME", str(tmp_path / "home"))
    with moto_bucket() as (uri, _):
        store = Store(uri)
        base, adapter = tmp_path / "base", tmp_path / "adapter"
        for folder, files in ((base, {"config.json": "{}", "tokenizer_config.json": "{}", "model.safetensors": "w"}),
                              (adapter, {"adapter_config.json": json.dumps({"r": 8}),
                                         ADAPTER_BASE_FILE: json.dumps({"base": store.url("models", "base")}),
                                         "adapter_model.safetensors": "w"})):
            folder.mkdir()
            for name, text in files.items():
                (folder / name).write_text(text)
        store.put_dir(base, "models/base")
        store.put_dir(adapter, "_cache/checkpoints/abc")
        served = served_model(store.url("_cache", "checkpoints", "abc"))
        host = uri.partition("endpoint_override=")[2].partition("&")[0]
        assert served == ServedModel("s3://codemix-test/sweeps/models/base", store.url("models", "base"),
                                     adapter="abc", lora_root="s3://codemix-test/sweeps/_cache/checkpoints",
                                     lora_rank=8, env={"AWS_ENDPOINT_URL_S3": f"http://{host}",
                                                       "AWS_DEFAULT_REGION": "us-east-1"})
        tokenizer = tokenizer_folder(served.tokenizer_source)
    assert sorted(p.name for p in (tmp_path / "home" / "tokenizers").rglob("*")) == sorted(
        ["_COMPLETE", "config.json", "tokenizer_config.json", tokenizer.rsplit("/", 1)[1]])


def test_the_processor_puts_the_engine_where_the_placement_says_with_rays_prompt_stages_off(monkeypatch):
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # a user's, for an in-process engine of their own
    cfg = EvalConfig(backend="vllm", engine_placement={"bundles": [{"CPU": 1, "engine_node": 1}]}, dtype="fp32",
                     vllm_engine_args={"max_num_seqs": 32})
    config = processor_config(ServedModel("/models/m", "/models/m"), cfg, ModelConfig(trust_remote_code=True))
    assert config.placement_group_config["bundles"] == [{"CPU": 1.0, "GPU": 0.0, "engine_node": 1.0}]
    assert config.engine_kwargs["enforce_eager"] and config.engine_kwargs["dtype"] == "float32"  # a CPU engine
    assert config.engine_kwargs["max_num_seqs"] == 32 and config.engine_kwargs["trust_remote_code"]
    assert not (config.chat_template_stage or config.tokenize_stage or config.detokenize_stage)
    assert "VLLM_CPU_KVCACHE_SPACE" in config.runtime_env["env_vars"]
    assert config.runtime_env["env_vars"]["VLLM_ENABLE_V1_MULTIPROCESSING"] == "1"  # vLLM's async engine needs it


def test_engine_placement_sends_vllm_through_ray_data_llm_and_the_spec_rules_name_the_field():
    on_cpu = EvalConfig(backend="vllm", engine_placement=ON_CPU, prompt="two_stage_cot")
    assert uses_ray_data_llm("vllm", on_cpu) and not runs_in_process("auto", on_cpu)
    assert not uses_ray_data_llm("vllm", EvalConfig(backend="vllm"))  # a laptop: vLLM in the trial's process
    assert runs_in_process("auto", EvalConfig(backend="vllm"))
    for eval_section, message in (
            ({"backend": "hf", "engine_placement": ON_CPU}, "set backend: vllm"),
            ({"backend": "vllm", "engine_placement": ON_CPU, "vllm_lora": "merged"}, "vllm_lora 'merged'"),
            ({"backend": "vllm", "engine_placement": ON_CPU, "num_gpus": 1}, "asks for 0 GPUs per engine but "
                                                                               "num_gpus is 1"),
            ({"backend": "vllm", "engine_placement": {"bundles": [{"GPU": 1}]}}, "asks for 1 GPUs"),
            ({"backend": "vllm", "engine_placement": {"strategy": "PACK"}}, "either bundles")):
        with pytest.raises(SpecError, match=message):
            parse_spec({"name": "x", "eval": eval_section})
    with pytest.raises(SpecError, match="eval_launcher 'in_process'"):
        parse_spec({"name": "x", "eval": {"backend": "vllm", "engine_placement": ON_CPU},
                    "resources": {"eval_launcher": "in_process"}})
