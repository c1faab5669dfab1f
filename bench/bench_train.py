"""Training throughput: codemix's Ray Train loop vs a bare PyTorch loop, same model and data, same run.

    python bench/bench_train.py [--family llama] [--examples 256] [--steps 60]          # a tiny twin
    python bench/bench_train.py --family smollm2 --size 135m-instruct-q4_1 --method lora \
        --batch 4 --steps 12 --runs padded                                             # the real SmolLM2

Prints steady-state tokens/s of each (non-padding tokens, measured inside the loops after the
same first untimed steps) and the ratio, with and without packing, plus codemix's end-to-end
wall time including Ray start-up.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402

from codemix.data.demo import generate_demo_corpus  # noqa: E402
from codemix.models import get_family  # noqa: E402
from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source  # noqa: E402
from codemix.runtime import init_ray  # noqa: E402
from codemix.spec import ModelConfig, ResourcesConfig, TrainConfig  # noqa: E402
from codemix.storage import Store, stable_hash  # noqa: E402
from codemix.train import TrainRun, fine_tune  # noqa: E402
from codemix.train.loop import Throughput, micro_batch_indices  # noqa: E402
from codemix.train.tokenize import tokenize_mix  # noqa: E402

UNTIMED_STEPS = Throughput().untimed_steps


def conversations(n):
    role = {"human": "user", "gpt": "assistant"}
    return [[{"role": role[t["from"]], "content": t["value"]} for t in r["conversations"]]
            for r in generate_demo_corpus(n, seed=11)]


def bare_loop(source, examples, steps, batch, lr, pad_id, lora=None):
    """The baseline: what a researcher would write by hand (pad_sequence, AdamW, no framework);
    ``lora``: (r, target modules) to wrap the model with peft first, as codemix's LoRA does."""
    torch.manual_seed(0)
    model = load_causal_lm(source).train()
    if lora:
        from peft import LoraConfig, get_peft_model

        r, targets = lora
        model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.0, target_modules=targets))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    tokens, t0 = 0, time.perf_counter()
    for step in range(steps):
        if step == UNTIMED_STEPS:  # the same steady-state window as codemix's Throughput
            tokens, t0 = 0, time.perf_counter()
        # the batches codemix's loop draws (seed 0, one worker): same tokens, same padding
        idx = micro_batch_indices(step, len(examples), batch, 1, 0, 0)
        ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(examples[i]["input_ids"]) for i in idx],
                                              batch_first=True, padding_value=pad_id)
        labels = torch.nn.utils.rnn.pad_sequence([torch.tensor(examples[i]["labels"]) for i in idx],
                                                 batch_first=True, padding_value=-100)
        mask = (torch.nn.utils.rnn.pad_sequence([torch.ones(len(examples[i]["input_ids"])) for i in idx],
                                                batch_first=True)).long()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        tokens += int(mask.sum())
    return tokens / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--family", default="llama")
    p.add_argument("--examples", type=int, default=256)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", default="tiny", help="model.size: tiny (the twin) or a family size id")
    p.add_argument("--method", choices=["full", "lora"], default="full")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lr", type=float, default=None, help="default: 3e-3 full on a twin, 1e-3 LoRA, 2e-5 full real")
    p.add_argument("--runs", default="padded,padded,packed",
                   help="codemix runs in order; the first pays a fresh worker's one-time costs")
    p.add_argument("--skip-bare-without-ray", action="store_true")
    args = p.parse_args()

    torch.set_num_threads(2)
    model_cfg = ModelConfig(size=args.size)
    source = resolve_model_source(args.family, model_cfg)
    lr = args.lr or (1e-3 if args.method == "lora" else 3e-3 if args.size == "tiny" else 2e-5)
    lora = (args.lora_r, get_family(args.family).lora_targets) if args.method == "lora" else None
    tok = load_tokenizer(source)
    convs = conversations(args.examples)
    examples, _ = tokenize_mix(convs, tok, max_length=256)
    bare = None if args.skip_bare_without_ray else bare_loop(source, examples, args.steps, args.batch, lr,
                                                             tok.pad_token_id, lora)

    init_ray(num_cpus=2)
    # the same bare loop while Ray's daemons (raylet, GCS, dashboard) share the 2 cores, as codemix's loop does
    bare_with_ray = bare_loop(source, examples, args.steps, args.batch, lr, tok.pad_token_id, lora)
    store = Store(tempfile.mkdtemp(prefix="bench-train-"))
    with tempfile.TemporaryDirectory() as d:
        pq.write_table(pa.table({"turns": convs}), Path(d) / "mix.parquet")
        store.put_dir(d, "_cache/mixes/bench")
    results = {}
    # The first Ray Train run also pays one-time costs in a fresh worker process (imports, first
    # kernels); with a tiny model run it twice and keep the second, as a warm bare loop is what it
    # is compared with (the steady window leaves the first steps out either way).
    for packing in [run == "packed" for run in args.runs.split(",")]:
        cfg = TrainConfig(method=args.method, lora={"r": args.lora_r, "alpha": 2 * args.lora_r, "dropout": 0.0},
                          lr=lr, micro_batch_size=args.batch, max_length=256, max_steps=args.steps, packing=packing)
        t0 = time.perf_counter()
        _, m = fine_tune(TrainRun(store=store, mix_key="_cache/mixes/bench", mix_hash="bench", family=args.family,
                                  model_source=source, model_cfg=model_cfg, train_cfg=cfg,
                                  resources=ResourcesConfig(num_workers=1, cpus_per_worker=2), seed=0,
                                  train_hash=stable_hash(["bench", packing, time.time()])))
        results[packing] = (m["tokens_per_s"], time.perf_counter() - t0)

    print(f"family={args.family} size={args.size} method={args.method} examples={args.examples} steps={args.steps} "
          f"micro_batch={args.batch} lr={lr} (2 threads)")
    if bare is not None:
        print(f"bare PyTorch loop, no Ray  : {bare:10.0f} tokens/s")
    print(f"bare loop, Ray cluster up  : {bare_with_ray:10.0f} tokens/s  (the baseline for the ratios)")
    for packing, (tps, wall) in results.items():
        label = "codemix Ray Train, packed  " if packing else "codemix Ray Train, padded  "
        versus = f"  vs no-Ray bare {tps / bare:5.2f}x" if bare else ""
        print(f"{label}: {tps:10.0f} tokens/s  ratio {tps / bare_with_ray:5.2f}x{versus}"
              f"  (end-to-end {wall:.1f} s incl. worker start-up)")


if __name__ == "__main__":
    main()
