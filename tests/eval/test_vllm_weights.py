"""A LoRA checkpoint merged in memory for the vLLM engine (codemix.eval.backends.vllm_weights) gives peft's
merge_and_unload weights, tensor for tensor, on a tiny twin (no vLLM needed); adapters it does not merge are
left to peft."""

from __future__ import annotations

import json

import torch

from codemix.config import ModelConfig
from codemix.eval.backends.vllm_weights import merged_weights, merges_in_memory
from codemix.models.loading import local_model_dir, resolve_model_source


def _adapter(folder, **lora):
    from peft import LoraConfig, get_peft_model

    from codemix.models.loading import ADAPTER_BASE_FILE, load_causal_lm

    source = resolve_model_source("llama", ModelConfig())
    torch.manual_seed(0)
    model = get_peft_model(load_causal_lm(source), LoraConfig(init_lora_weights=False, **lora))
    model.save_pretrained(folder)
    (folder / ADAPTER_BASE_FILE).write_text(json.dumps({"base": source}))
    return source, model


def test_in_memory_merge_equals_peft_merge_and_unload(tmp_path):
    source, model = _adapter(tmp_path, r=4, lora_alpha=16, use_rslora=True,
                             target_modules=["q_proj", "v_proj", "gate_proj", "down_proj"])
    want = model.merge_and_unload().state_dict()
    got = dict(merged_weights(local_model_dir(source), str(tmp_path)))
    changed = [n for n in got if n.endswith(("q_proj.weight", "v_proj.weight", "gate_proj.weight",
                                             "down_proj.weight"))]
    assert changed and set(got) <= set(want)
    for name, tensor in got.items():
        torch.testing.assert_close(tensor, want[name], rtol=1e-5, atol=1e-6, msg=name)
    base = dict(merged_weights(local_model_dir(source), None))
    assert all(not torch.equal(base[n], got[n]) for n in changed)  # the delta is there, and only with the adapter
    assert all(torch.equal(base[n], got[n]) for n in got if n not in changed)
    assert merges_in_memory(str(tmp_path))


def test_adapters_it_does_not_merge_are_left_to_peft(tmp_path):
    _adapter(tmp_path, r=4, target_modules=["q_proj"], use_dora=True)
    assert not merges_in_memory(str(tmp_path))
    assert not merges_in_memory(str(tmp_path / "missing"))
