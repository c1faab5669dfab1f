"""Engines kept for the sweep (codemix.eval.held_engine) and generation in the trial's process: one held engine per
process, reused for the same key and closed for another; a LoRA adapter served on the held base leaves the base
as it was; in-process generation gives the same predictions as the Ray Data stage."""

from __future__ import annotations

import json

import pytest

from codemix.eval import evaluate
from codemix.eval.held_engine import held_engine, holds_engine, release_engine
from codemix.models.loading import ADAPTER_BASE_FILE, resolve_model_source
from codemix.spec import EvalConfig, ModelConfig, SamplingConfig


class Engine:
    def __init__(self, name: str, closed: list):
        self.name, self.closed = name, closed

    def close(self):
        self.closed.append(self.name)


def test_one_engine_held_per_process_reused_for_its_key_closed_for_another():
    closed, built = [], []

    def build(name):
        built.append(name)
        return Engine(name, closed)

    release_engine()
    a = held_engine(("hf", "base-a"), lambda: build("a"))
    assert held_engine(("hf", "base-a"), lambda: build("a again")) is a and built == ["a"]
    b = held_engine(("hf", "base-b"), lambda: build("b"))
    assert b is not a and built == ["a", "b"] and closed == ["a"]  # the old engine is closed before a new build
    release_engine()
    assert closed == ["a", "b"] and not holds_engine()


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A random (non-zero) LoRA adapter on the llama twin, saved as a codemix checkpoint is."""
    import torch
    from peft import LoraConfig, get_peft_model

    from codemix.models.loading import load_causal_lm

    base = resolve_model_source("llama", ModelConfig())
    torch.manual_seed(0)
    model = get_peft_model(load_causal_lm(base), LoraConfig(r=4, lora_alpha=64, init_lora_weights=False,
                                                            target_modules=["q_proj", "v_proj", "down_proj"]))
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    (folder / ADAPTER_BASE_FILE).write_text(json.dumps({"base": base}))
    return str(folder)


EVAL = EvalConfig(suite=["multiarith", "coin_flip"], limit=3, backend="hf", batch_size=4, dtype="fp32",
                  sampling=SamplingConfig(max_new_tokens=12))


def outputs(model_path: str, **kwargs) -> list[str]:
    predictions, _, _ = evaluate(model_path, EVAL, ModelConfig(), **kwargs)
    return [p["output"] for p in predictions]


def test_an_adapter_on_the_held_base_leaves_the_base_as_it_was(adapter):
    """untuned -> adapter -> untuned on one held engine: the base's outputs are the same before and after, the
    adapter's differ from them and equal those of a fresh engine holding the adapter merged into the base."""
    from codemix.eval.backends.hf import HFGenerator

    release_engine()
    base = resolve_model_source("llama", ModelConfig())
    before = outputs(base, in_process=True)
    engine = HFGenerator(base, EVAL.sampling.model_dump(), dtype=EVAL.dtype).engine
    tuned = outputs(adapter, in_process=True)
    served = HFGenerator(adapter, EVAL.sampling.model_dump(), dtype=EVAL.dtype).engine
    assert served is engine  # the same base served the adapter
    after = outputs(base, in_process=True)
    assert after == before
    assert sum(a != b for a, b in zip(tuned, before)) >= len(before) // 2
    release_engine()
    from codemix.eval.backends.vllm import merge_adapter

    merge_adapter(adapter, str(adapter) + "-merged")
    merged = outputs(str(adapter) + "-merged", in_process=True)
    assert sum(a == b for a, b in zip(merged, tuned)) >= len(tuned) - 1  # merging reorders float sums


def test_in_process_generation_equals_the_ray_data_stage(ray_cluster, adapter):
    """The same predictions (outputs, extracted answers, order) whether generation runs in this process or in a
    Ray Data actor pool."""
    release_engine()
    here, scores_here, _ = evaluate(adapter, EVAL, ModelConfig(), in_process=True)
    there, scores_there, _ = evaluate(adapter, EVAL, ModelConfig(), in_process=False)
    keys = ("task", "example_id", "output", "extracted", "correct")
    assert [{k: p[k] for k in keys} for p in here] == [{k: p[k] for k in keys} for p in there]
    assert scores_here == scores_there
    assert len(here) == 6 and all(isinstance(p["output"], str) for p in here)
