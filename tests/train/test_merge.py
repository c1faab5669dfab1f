"""A LoRA checkpoint (adapter + base id) merges into a plain weight folder with identical outputs (what the vllm
backend loads when it serves a checkpoint merged, ``eval.vllm_lora``)."""

import json

import torch

from codemix.eval.backends.vllm import merge_adapter
from codemix.models.loading import ADAPTER_BASE_FILE, load_causal_lm, load_tokenizer, resolve_model_source
from codemix.spec import ModelConfig


def test_a_lora_adapter_merged_into_its_base_gives_the_same_logits(tmp_path):
    from peft import LoraConfig, get_peft_model

    base = resolve_model_source("qwen", ModelConfig())
    model = get_peft_model(load_causal_lm(base), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                            init_lora_weights=False))  # non-zero adapter
    adapter = tmp_path / "adapter"
    model.save_pretrained(adapter)
    load_tokenizer(base).save_pretrained(adapter)
    (adapter / ADAPTER_BASE_FILE).write_text(json.dumps({"base": base}))

    merged = tmp_path / "merged"
    merge_adapter(str(adapter), str(merged))
    assert (tmp_path / "merged" / "model.safetensors").exists()
    assert not (tmp_path / "merged" / ADAPTER_BASE_FILE).exists()
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.no_grad():
        want = model.eval()(input_ids=ids).logits
        got = load_causal_lm(merged).eval()(input_ids=ids).logits
        plain = load_causal_lm(base).eval()(input_ids=ids).logits
    assert torch.allclose(want, got, atol=1e-4)
    assert not torch.allclose(plain, got, atol=1e-4)  # the adapter did change the model
    assert load_tokenizer(str(merged)).get_vocab() == load_tokenizer(base).get_vocab()  # the checkpoint's tokenizer
