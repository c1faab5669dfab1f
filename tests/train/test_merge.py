"""A LoRA checkpoint (adapter + base id) merges into a plain weight folder with identical outputs."""

import json

import torch

from codemix.config import ModelConfig
from codemix.models.loading import ADAPTER_BASE_FILE, load_causal_lm, load_tokenizer, merged_copy, resolve_model_source


def test_merged_copy_of_a_lora_adapter_gives_the_same_logits(tmp_path):
    from peft import LoraConfig, get_peft_model

    base = resolve_model_source("qwen", ModelConfig())
    model = get_peft_model(load_causal_lm(base), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                            init_lora_weights=False))  # non-zero adapter
    adapter = tmp_path / "adapter"
    model.save_pretrained(adapter)
    load_tokenizer(base).save_pretrained(adapter)
    (adapter / ADAPTER_BASE_FILE).write_text(json.dumps({"base": base}))

    merged = merged_copy(str(adapter), tmp_path / "merged")
    assert (tmp_path / "merged" / "model.safetensors").exists()
    assert not (tmp_path / "merged" / ADAPTER_BASE_FILE).exists()
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.no_grad():
        want = model.eval()(input_ids=ids).logits
        got = load_causal_lm(merged).eval()(input_ids=ids).logits
        plain = load_causal_lm(base).eval()(input_ids=ids).logits
    assert torch.allclose(want, got, atol=1e-4)
    assert not torch.allclose(plain, got, atol=1e-4)  # the adapter did change the model
    assert merged_copy(base, tmp_path / "unused") == base  # full weights are used as they are
