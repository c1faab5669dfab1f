"""Generation throughput: the `hf` backend through Ray Data (batched) vs a per-prompt generate loop.

    python bench/bench_generate.py [--family llama] [--limit 16] [--max-new-tokens 32]

Same tiny model, same prompts (the offline paper12 suite), same run. Both timings include
loading the model once; the Ray Data figure also includes starting its actor.
"""

import argparse
import json
import os
import time

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import torch  # noqa: E402

from codemix.config import EvalConfig, ModelConfig, SamplingConfig  # noqa: E402
from codemix.eval import build_prompts, generate  # noqa: E402
from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source  # noqa: E402
from codemix.ray_runtime import init_ray  # noqa: E402


def per_prompt_loop(source, rows, max_new_tokens):
    """The baseline: one generate() call per prompt, as a quick evaluation script would do."""
    t0 = time.perf_counter()
    tok, model = load_tokenizer(source), load_causal_lm(source).eval()
    outputs = []
    with torch.inference_mode():
        for r in rows:
            text = tok.apply_chat_template(json.loads(r["messages"]), tokenize=False, add_generation_prompt=True)
            enc = tok(text, return_tensors="pt", add_special_tokens=False)
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            outputs.append(tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True))
    return len(rows) / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--family", default="llama")
    p.add_argument("--limit", type=int, default=16, help="examples per task (12 tasks)")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()

    torch.set_num_threads(2)
    source = resolve_model_source(args.family, ModelConfig())
    cfg = EvalConfig(suite="paper12", limit=args.limit, batch_size=args.batch_size,
                     sampling=SamplingConfig(max_new_tokens=args.max_new_tokens))
    rows = build_prompts(cfg)
    loop = per_prompt_loop(source, rows, args.max_new_tokens)

    init_ray(num_cpus=2)
    t0 = time.perf_counter()
    out = generate(rows, source, cfg, ModelConfig())
    batched = len(out) / (time.perf_counter() - t0)
    assert len(out) == len(rows) and all("output" in r for r in out)
    print(f"{len(rows)} prompts, {args.family} tiny twin, max_new_tokens={args.max_new_tokens}, 2 CPU cores")
    print(f"per-prompt generate loop        : {loop:7.1f} prompts/s")
    print(f"hf backend, Ray Data, batch {args.batch_size:<3d} : {batched:7.1f} prompts/s   ratio {batched / loop:.1f}x")


if __name__ == "__main__":
    main()
