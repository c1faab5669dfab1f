"""codemix's decoding loop (codemix.eval.generate): the same greedy tokens as transformers' generate,
rows leave the batch when they end, stop strings cut the text."""

from __future__ import annotations

import json

import pytest
import torch

from codemix.config import EvalConfig, ModelConfig
from codemix.eval.generate import end_of_turn_ids, generate_texts, left_pad
from codemix.eval.runner import build_prompts
from codemix.models.encoding import prompt_ids
from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source


@pytest.fixture(scope="module")
def twin():
    source = resolve_model_source("llama", ModelConfig())
    tok = load_tokenizer(source)
    tok.padding_side = "left"
    rows = build_prompts(EvalConfig(suite="paper12", limit=1))
    prompts = [prompt_ids(json.loads(r["messages"]), tok) for r in rows]
    model = load_causal_lm(source).eval()
    # the twin's initial weights repeat one token; larger random weights give varied continuations,
    # which is what exercises rows ending at different steps
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return model, tok, prompts


def reference(model, tok, prompts, max_new, eos_ids):
    """generate's texts, each cut before its first end-of-turn token (which a reader does not receive)."""
    ids, mask = left_pad(prompts, tok.pad_token_id)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new, do_sample=False,
                             pad_token_id=tok.pad_token_id, eos_token_id=eos_ids)
    texts = []
    for row in out[:, ids.shape[1]:].tolist():
        end = next((i for i, t in enumerate(row) if t in eos_ids), len(row))
        texts.append(tok.decode(row[:end], skip_special_tokens=True))
    return texts


def test_greedy_tokens_equal_generate(twin):
    model, tok, prompts = twin
    texts, stats = generate_texts(model, tok, prompts, max_new_tokens=24)
    assert texts == reference(model, tok, prompts, 24, sorted(end_of_turn_ids(tok, model)))
    assert stats.new_tokens == sum(stats.row_tokens) and stats.rows == len(prompts)


def test_rows_that_end_leave_the_batch(twin):
    model, tok, prompts = twin
    free, _ = generate_texts(model, tok, prompts, max_new_tokens=24)
    # make a token that some rows emit early an end-of-turn token (as Llama-3 has two)
    ids, mask = left_pad(prompts, tok.pad_token_id)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=4, do_sample=False,
                             pad_token_id=tok.pad_token_id)
    end = out[0, ids.shape[1] + 2].item()
    model.generation_config.eos_token_id = [tok.eos_token_id, end]
    try:
        texts, stats = generate_texts(model, tok, prompts, max_new_tokens=24)
        assert end in end_of_turn_ids(tok, model)
        assert texts == reference(model, tok, prompts, 24, sorted(end_of_turn_ids(tok, model)))
    finally:
        model.generation_config.eos_token_id = tok.eos_token_id
    assert stats.row_steps < len(prompts) * stats.steps  # finished rows were not computed again
    assert min(stats.row_tokens) <= 2


def test_stop_strings_cut_and_stop(twin):
    model, tok, prompts = twin
    free, free_stats = generate_texts(model, tok, prompts, max_new_tokens=24)
    stop = next(t[5:8] for t in free if len(t) > 10 and t[5:8].strip())
    texts, stats = generate_texts(model, tok, prompts, max_new_tokens=24, stop=[stop])
    for full, cut in zip(free, texts):
        assert cut == full[:full.find(stop)] if stop in full else cut == full
    assert stats.new_tokens < free_stats.new_tokens


def test_two_stage_rows_get_a_batched_second_pass_after_their_trigger():
    """generate_batch on a real engine (a tiny twin): two-stage rows end with the trigger and the answer
    the second pass wrote; their token count is both passes'; single-stage rows are left as one pass."""
    import numpy as np

    from codemix.eval.backends.hf import HFEngine
    from codemix.eval.backends.messages import generate_batch
    from codemix.eval.generation_settings import ANSWER_TOKENS

    sampling = {"max_new_tokens": 8, "temperature": 0.0, "stop": []}
    engine = HFEngine(resolve_model_source("llama", ModelConfig()), sampling)
    staged = build_prompts(EvalConfig(suite=["gsm8k", "coin_flip"], limit=2, prompt="two_stage_cot"))
    plain = build_prompts(EvalConfig(suite=["gsm8k"], limit=2))
    rows = staged + plain
    batch = {k: np.array([r[k] for r in rows], dtype=object) for k in ("messages", "answer_trigger")}
    out = generate_batch(engine, batch)
    single = engine.generate([json.loads(r["messages"]) for r in rows])
    for i, r in enumerate(rows):
        if r["answer_trigger"]:
            reasoning, _, answer = out["output"][i].rpartition("\n" + r["answer_trigger"] + " ")
            assert reasoning == single["output"][i]  # the first pass is the plain generation
            assert single["new_tokens"][i] < out["new_tokens"][i] <= single["new_tokens"][i] + ANSWER_TOKENS
        else:
            assert out["output"][i] == single["output"][i] and out["new_tokens"][i] == single["new_tokens"][i]
    assert {r["answer_trigger"] for r in staged} == {"Therefore, the answer (arabic numerals) is",
                                                    "Therefore, the answer (Yes or No) is"}


def test_auto_dtype_sees_onednn_capped_below_bf16(monkeypatch):
    """eval.dtype 'auto' is bf16 only where oneDNN may use bf16 units: ONEDNN_MAX_CPU_ISA=AVX2 (an AVX2-only CPU,
    or bench/avx2_env.sh emulating one) makes it fp32 even on a CPU that has them."""
    from codemix.eval.backends.hf import cpu_has_bf16_matmul, resolve_dtype_name

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not cpu_has_bf16_matmul() and resolve_dtype_name("auto", "cpu") == "fp32"
    assert resolve_dtype_name("auto", "cuda") == "bf16" and resolve_dtype_name("bf16", "cpu") == "bf16"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    assert cpu_has_bf16_matmul() == (" amx_bf16" in flags or " avx512_bf16" in flags)
