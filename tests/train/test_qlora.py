"""QLoRA (train.lora.quantize_4bit) is refused when the spec is loaded, with every reason, or builds a load that
runs on GPU workers: the 4-bit config, each worker's own device, and ZeRO-2 at most.

No GPU here: the GPU side is checked as far as CPU allows, on the objects codemix builds and hands to
transformers (the quantization config and ``from_pretrained``'s arguments), with CUDA and bitsandbytes declared
present where their absence would stop codemix before it builds anything.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import yaml

from codemix.config import ModelConfig, SpecError, TrainConfig, parse_spec
from codemix.models import get_family
from codemix.models.loading import resolve_model_source
from codemix.train import deepspeed as ds
from codemix.train import qlora
from codemix.train.loop import build_model

REPO = Path(__file__).resolve().parents[2]


def _spec(**sections) -> dict:
    spec = yaml.safe_load((REPO / "sweeps" / "fine_grained.yaml").read_text())  # LoRA on 1 GPU per worker
    for key, value in sections.items():
        spec.setdefault(key, {}).update(value)
    spec["train"].setdefault("lora", {})["quantize_4bit"] = True
    return spec


@pytest.fixture
def bitsandbytes_installed(monkeypatch):
    """Declare bitsandbytes importable (it is the gpu extra's, not installed on this CPU machine)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: real("json") if name == "bitsandbytes" else real(name, *a))


def test_on_cpu_qlora_is_refused_at_spec_load_with_the_device_the_stage_and_the_extra():
    assert importlib.util.find_spec("bitsandbytes") is None  # this machine: the gpu extra is not installed
    with pytest.raises(SpecError) as err:
        parse_spec(_spec(resources={"gpus_per_worker": 0}, train={"deepspeed_stage": 3}), "qlora.yaml")
    message = " ".join(str(err.value).split())
    print(message)
    assert message.startswith("qlora.yaml: invalid sweep spec")
    assert "train.lora.quantize_4bit (QLoRA) cannot run" in message
    assert "set resources.gpus_per_worker: 1" in message  # the device
    assert "set train.deepspeed_stage to 2 or less" in message  # the stage
    assert "bitsandbytes is not installed: pip install 'codemix[gpu]'" in message  # the extra
    with pytest.raises(SpecError, match="set train.method: lora"):
        parse_spec(_spec(train={"method": "full"}), "qlora.yaml")


def test_on_gpu_qlora_loads_and_builds_a_4bit_nf4_base_on_the_workers_own_gpu_under_zero_2(
        bitsandbytes_installed, monkeypatch):
    spec = parse_spec(_spec(), "qlora.yaml")  # 1 GPU per worker, stage unset: it runs
    assert spec.train.lora.quantize_4bit and spec.resources.gpus_per_worker == 1

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    llama = get_family("llama")
    assert llama.deepspeed_stage == 3 and ds.resolve_stage(spec.train, llama) == 2  # a family's ZeRO-3 -> 2
    assert ds.zero_config(spec.train, 2, 8, 4, 4, True)["zero_optimization"]["stage"] == 2
    assert ds.resolve_stage(TrainConfig(method="lora"), llama) == 3  # plain LoRA keeps the family's stage

    config = qlora.quantization_config()
    assert (config.load_in_4bit, config.bnb_4bit_quant_type, config.bnb_4bit_use_double_quant,
            config.bnb_4bit_compute_dtype) == (True, "nf4", True, torch.bfloat16)
    # the device Ray Train gave the worker's local rank, not GPU 0 for every worker of a node
    assert qlora.device_map(torch.device("cuda", 3)) == {"": 3}
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 5)
    assert qlora.device_map(None) == {"": 5}

    # what the worker hands from_pretrained (stopped there: loading in 4 bit needs the GPU)
    from transformers import AutoModelForCausalLM

    asked = {}

    def from_pretrained(source, **kwargs):
        asked.update(kwargs)
        raise RuntimeError("stop: no GPU here")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", from_pretrained)
    with pytest.raises(RuntimeError, match="stop: no GPU here"):
        build_model(resolve_model_source("llama", ModelConfig()), spec.train, ["q_proj"], torch.bfloat16, False,
                    torch.device("cuda", 6))
    assert asked["device_map"] == {"": 6} and asked["quantization_config"].load_in_4bit
    assert asked["dtype"] == torch.bfloat16 and asked["use_safetensors"] is True
