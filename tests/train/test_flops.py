"""FLOPs per token against hand-computed values, parameter counts against real models, the GPU table, MFU."""

from __future__ import annotations

from pathlib import Path

import pytest
import transformers

from codemix.runtime import gpu_for_device, gpu_named
from codemix.train.flops import flops_per_token, mfu, param_counts, peak_flops

REPO = Path(__file__).resolve().parents[2]
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": 300}


def llama2_7b():
    return transformers.LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                    num_attention_heads=32, num_key_value_heads=32, vocab_size=32000,
                                    max_position_embeddings=4096, tie_word_embeddings=False)


@pytest.mark.parametrize("cls,extra", [
    ("LlamaConfig", {}), ("MistralConfig", {}), ("Qwen2Config", {}), ("GemmaConfig", {"head_dim": 32}),
    ("LlamaConfig", {"attention_bias": True, "mlp_bias": True}), ("LlamaConfig", {"tie_word_embeddings": True}),
])
def test_param_counts_match_instantiated_models(cls, extra):
    config = getattr(transformers, cls)(**TINY, **extra)
    model = transformers.AutoModelForCausalLM.from_config(config)
    counts = param_counts(config)
    assert counts.total == sum(p.numel() for p in model.parameters())
    embedding, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert counts.embedding == embedding.numel() and counts.lm_head == (0 if head is embedding else head.numel())


def test_tiny_llama_twin_by_hand():
    config = transformers.LlamaConfig(**TINY, tie_word_embeddings=True, max_position_embeddings=2048)
    # per layer: q, o 64x64; k, v 64x32 (2 kv heads of 16); gate, up, down 64x128
    per_layer = 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128
    matmul = 2 * per_layer + 64 * 300  # + the LM head (tied, but still a matmul)
    assert flops_per_token(config, seq_len=256) == 6 * matmul + 12 * 2 * 64 * 256
    assert flops_per_token(config) == 6 * matmul + 12 * 2 * 64 * 2048  # default T: max positions
    lora = 1000
    assert flops_per_token(config, seq_len=256, lora_params=lora) == 4 * matmul + 6 * lora + 12 * 2 * 64 * 256


def test_llama2_7b():
    config = llama2_7b()
    counts = param_counts(config)
    assert counts.total == 6_738_415_616  # the published parameter count of Llama-2-7b-hf
    assert counts.non_embedding == pytest.approx(6.476e9, rel=1e-3)
    attention = 12 * 32 * 4096 * 4096
    # 6 x non-embedding + attention (Kaplan-style N); ours adds the LM head matmul, +1.7%
    assert flops_per_token(config, 4096) == pytest.approx(6 * counts.non_embedding + attention, rel=0.02)
    assert flops_per_token(config, 4096) == 6 * (6_476_005_376 + 4096 * 32000) + attention
    full, lora = flops_per_token(config, 2048), flops_per_token(config, 2048, lora_params=40_000_000)
    assert 0.65 < lora / full < 0.72  # LoRA saves about a third: no weight gradients for the base


def test_gemma_attention_width_is_heads_times_head_dim():
    # Gemma-7B: hidden 3072 but 16 heads x 256 = 4096 wide attention; published 8.54B parameters
    config = transformers.GemmaConfig(hidden_size=3072, intermediate_size=24576, num_hidden_layers=28,
                                      num_attention_heads=16, num_key_value_heads=16, head_dim=256,
                                      vocab_size=256000)
    assert param_counts(config).total == 8_537_680_896  # the tied LM head is counted once
    assert flops_per_token(config, 1000) - flops_per_token(config, 1) == 12 * 28 * 4096 * 999


@pytest.mark.parametrize("device_name,entry", [
    # what torch.cuda.get_device_name() returns on these cards
    ("NVIDIA H100 80GB HBM3", "H100-80GB"), ("NVIDIA H100 PCIe", "H100-PCIe"), ("NVIDIA H100 NVL", "H100-NVL"),
    ("NVIDIA H200", "H200"), ("NVIDIA H200 NVL", "H200-NVL"), ("NVIDIA GH200 480GB", "GH200"),
    ("NVIDIA A100-SXM4-80GB", "A100-80GB"), ("NVIDIA A100 80GB PCIe", "A100-80GB"),
    ("NVIDIA A100-PCIE-40GB", "A100-40GB"), ("NVIDIA L40S", "L40S"), ("NVIDIA L40", "L40"), ("NVIDIA L4", "L4"),
    ("NVIDIA A10G", "A10G"), ("NVIDIA A10", "A10"), ("NVIDIA A40", "A40"), ("NVIDIA RTX A6000", "RTX-A6000"),
    ("NVIDIA GeForce RTX 4090", "RTX-4090"), ("AMD Instinct MI250X", "MI250X"), ("AMD Instinct MI250", "MI250"),
])
def test_device_names_find_their_own_entry(device_name, entry):
    # first match wins: a general pattern placed before a specific one would take its cards
    assert gpu_for_device(device_name).name == entry


def test_unknown_devices_have_no_peak():
    assert gpu_for_device("Tesla V100-SXM2-16GB") is None and peak_flops("Some Future GPU") is None
    with pytest.raises(KeyError, match="known: GH200, H200-NVL"):
        gpu_named("V100")


def test_plan_estimates_divide_by_the_peak_the_trainer_measures_mfu_against(tmp_path):
    # `codemix plan --gpu A10G` once assumed 125 TFLOP/s while the trainer's MFU used 70
    from codemix.spec import load_spec
    from codemix.sweep.plan import plan_sweep

    spec = load_spec(REPO / "sweeps" / "smoke.yaml", {"storage": str(tmp_path), "eval.limit": 1})
    for gpu, device_name in [("A10G", "NVIDIA A10G"), ("H100-PCIe", "NVIDIA H100 PCIe")]:
        _, assumptions = plan_sweep(spec, gpu)
        assert assumptions["gpu_bf16_tflops"] * 1e12 == peak_flops(device_name)


def test_peak_flops_cpu_and_override():
    import torch

    assert peak_flops("Some Future GPU", 1e14) == 1e14  # resources.peak_flops
    assert peak_flops("cpu", 1e14) == 1e14 and peak_flops(torch.device("cpu"), 1e14) == 1e14  # CPU MFU when asked
    assert peak_flops("cpu") is None and peak_flops(torch.device("cpu")) is None  # no MFU on CPU by default


def test_mfu():
    # 8 H100s at 3000 tokens/s each on Llama-2-7B at T=4096: 8*3000*4.608e10 / (8*989e12) = 13.98%
    fpt = flops_per_token(llama2_7b(), 4096)
    assert mfu(8 * 3000, fpt, 8, 989e12) == pytest.approx(3000 * fpt / 989e12)
    assert mfu(8 * 3000, fpt, 8, 989e12) == pytest.approx(0.1398, abs=1e-4)
    assert mfu(1000, fpt, 1, None) is None


def test_throughput_leaves_out_a_fresh_workers_first_steps():
    from codemix.train.loop import Throughput

    t = Throughput(untimed_steps=2)
    for tokens, seconds in [(100, 10.0), (100, 5.0), (300, 1.0), (500, 1.0)]:
        t.add(tokens, seconds)
    assert t.tokens_per_s() == 400.0  # (300 + 500) / 2 s: the slow first two steps are not counted
    assert (t.tokens, t.seconds) == (1000, 17.0)  # the totals still are

    short = Throughput(untimed_steps=5)
    short.add(100, 2.0)
    assert short.tokens_per_s() == 50.0  # too short for a steady window: the whole run's rate
