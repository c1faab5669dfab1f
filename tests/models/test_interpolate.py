"""Models interpolated between fine-tunes (codemix.models.interpolate): the weights are piecewise linear between the
anchors around p; two LoRA adapters give one stacked adapter whose merged model is W + sum_i w_i dW_i (what the
evaluation backends load: hf attaches it, vLLM merges it); full fine-tunes give every tensor's weighted sum;
anchors that cannot interpolate are refused with the reason."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from codemix.models.interpolate import INTERPOLATION_FILE, interpolation_weights, write_interpolated
from codemix.models.loading import ADAPTER_BASE_FILE, load_causal_lm, load_tokenizer, resolve_model_source
from codemix.spec import ModelConfig

IDS = torch.tensor([[1, 5, 9, 42, 7, 3]])


def test_weights_are_linear_between_the_two_anchors_around_p():
    assert interpolation_weights([0.0, 1.0], 0.25) == [0.75, 0.25]
    assert interpolation_weights([1.0, 0.0], 0.25) == [0.25, 0.75]  # in the order given
    assert interpolation_weights([0.0, 0.5, 1.0], 0.75) == [0.0, 0.5, 0.5]
    assert interpolation_weights([0.0, 0.5, 1.0], 0.5) == [0.0, 1.0, 0.0]  # at an anchor: that anchor
    assert interpolation_weights([0.0, 1.0], 1.0) == [0.0, 1.0]
    with pytest.raises(ValueError, match="outside the anchors' range"):
        interpolation_weights([0.25, 0.75], 0.9)
    with pytest.raises(ValueError, match="two or more distinct"):
        interpolation_weights([0.5, 0.5], 0.5)


def _adapter(base: str, folder, seed: int, r: int = 4):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    model = get_peft_model(load_causal_lm(base), LoraConfig(r=r, lora_alpha=2 * r, init_lora_weights=False,
                                                            target_modules=["q_proj", "v_proj", "down_proj"]))
    model.save_pretrained(folder)
    load_tokenizer(base).save_pretrained(folder)
    (folder / ADAPTER_BASE_FILE).write_text(json.dumps({"base": base}))
    return folder


def _logits(source) -> torch.Tensor:
    with torch.no_grad():
        return load_causal_lm(str(source)).eval()(input_ids=IDS).logits


def test_two_lora_anchors_make_one_stacked_adapter_equal_to_the_interpolated_deltas(tmp_path):
    base = resolve_model_source("llama", ModelConfig())
    a, b = _adapter(base, tmp_path / "a", 0), _adapter(base, tmp_path / "b", 1)
    out = tmp_path / "p25"
    write_interpolated(out, [a, b], [0.75, 0.25])

    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["lora_alpha"] == 8  # the anchors' ranks stacked, scaling 1
    assert json.loads((out / ADAPTER_BASE_FILE).read_text())["base"] == base  # served on the anchors' base
    assert json.loads((out / INTERPOLATION_FILE).read_text())["weights"] == [0.75, 0.25]

    # the merged interpolated model is W + 0.75 dW_a + 0.25 dW_b, tensor by tensor
    plain = load_causal_lm(base).state_dict()
    merged = {k: load_causal_lm(str(f)).state_dict() for k, f in (("a", a), ("b", b), ("p", out))}
    changed = 0
    for name, w in plain.items():
        want = w + 0.75 * (merged["a"][name] - w) + 0.25 * (merged["b"][name] - w)
        assert torch.allclose(merged["p"][name], want, atol=1e-5), name
        changed += not torch.equal(merged["a"][name], w)
    assert changed == 3 * 2  # q, v and down projections of the twin's two layers
    assert not torch.allclose(_logits(out), _logits(a), atol=1e-4)  # between the anchors, not one of them

    # at the first anchor's end (its weight 1) the interpolation is that anchor's model
    write_interpolated(tmp_path / "p0", [a, b], [1.0, 0.0])
    assert torch.allclose(_logits(tmp_path / "p0"), _logits(a), atol=1e-5)


def test_full_fine_tunes_interpolate_tensor_by_tensor(tmp_path):
    base = load_causal_lm(resolve_model_source("qwen", ModelConfig()))
    anchors = []
    for i in range(2):
        torch.manual_seed(i)
        with torch.no_grad():
            for p in base.parameters():
                p.add_(torch.randn_like(p) * 0.01)
        base.save_pretrained(tmp_path / f"full{i}")
        anchors.append(tmp_path / f"full{i}")
    write_interpolated(tmp_path / "mid", anchors, [0.3, 0.7])
    got, a, b = (load_file(str(f / "model.safetensors")) for f in (tmp_path / "mid", *anchors))
    assert got.keys() == a.keys()
    assert all(torch.allclose(got[k], 0.3 * a[k] + 0.7 * b[k], atol=1e-6) for k in got)
    assert (tmp_path / "mid" / "config.json").exists()  # loadable as the anchors are
    load_causal_lm(str(tmp_path / "mid"))


def test_anchors_that_do_not_interpolate_are_refused_with_the_reason(tmp_path):
    base = resolve_model_source("llama", ModelConfig())
    a, b = _adapter(base, tmp_path / "a", 0, r=4), _adapter(base, tmp_path / "b", 1, r=8)
    with pytest.raises(ValueError, match="differs from .* in r"):
        write_interpolated(tmp_path / "out", [a, b], [0.5, 0.5])
    full = tmp_path / "full"
    full.mkdir()
    save_file({"w": torch.zeros(2)}, str(full / "model.safetensors"))
    with pytest.raises(ValueError, match="LoRA adapters and full weights do not interpolate"):
        write_interpolated(tmp_path / "out2", [a, full], [0.5, 0.5])
