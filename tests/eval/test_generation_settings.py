"""Every setting outside the spec that changes a generated output is part of the evaluation's hash
(codemix.eval.generation_settings): the backends read it from there, changing it changes the hash, and a new
module-level constant in a generation module must be declared one or the other."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import codemix
from codemix.eval import generation_settings as settings
from codemix.eval.backends import vllm_generator
from codemix.eval.backends.messages import generate_batch
from codemix.eval.backends.vllm import engine_args
from codemix.eval.prompts import TWO_STAGE
from codemix.spec import parse_spec
from codemix.storage import stable_hash
from codemix.sweep import hashes
from codemix.sweep.space import TrialPoint

ROOT = Path(codemix.__file__).parent
# The modules that build prompts and generate: their module-level constants are looked at.
GENERATION_MODULES = ["eval/prompts.py", "eval/generate.py", "eval/runner.py", "eval/held_engine.py",
                      "eval/backends/*.py", "eval/generation_settings.py", "models/encoding.py"]
# The constants of those modules that do not change a generated output, and why.
NOT_OUTPUTS = {
    "PROMPT_VERSION": "the prompt text's version: hashed itself (prompt_version)",
    "TWO_STAGE_VERSION": "the prompt text's version: hashed itself (prompt_version)",
    "COT_TRIGGER": "prompt text: its changes bump PROMPT_VERSION (tests/eval/test_prompts.py fingerprints it)",
    "ANSWER_TRIGGERS": "prompt text: its changes bump TWO_STAGE_VERSION (test_prompts.py fingerprints it)",
    "STYLES": "the names of the prompt styles (eval.prompt, hashed)",
    "TWO_STAGE": "the name of a prompt style (eval.prompt, hashed)",
    "STOP_WINDOW": "when decoding looks for a stop string: the text is cut at the first one whatever the window",
    "BACKENDS": "the backend registry (the resolved backend is hashed)",
    "CPU_KV_CACHE_GIB": "vLLM's CPU KV-cache memory: how many sequences run at once, not what they generate",
    "LORA_RANKS": "the max_lora_rank values vLLM accepts: a limit that must hold the adapter's own rank",
    "SYSFS": "where Linux lists the cores a CPU engine's threads are bound to: how fast it computes, not what",
    "SINCE": "the values earlier evaluations were hashed with",
    "WORKER_EXTENSION": "where vLLM's engine process finds codemix's in-memory LoRA merge: the merged weights equal "
                        "peft's merge_and_unload (tests/eval/test_vllm_weights.py)",
    "ADAPTER_CONFIG": "the file name of a peft adapter's config",
    "ADAPTER_WEIGHTS": "the file name of a peft adapter's weights",
    "_PREFIX": "the key prefix peft gives an adapter's tensors",
    "REMOTE_SCHEMES": "which checkpoint sources Ray's engines download themselves: where, not what, they read",
    "WEIGHT_SUFFIXES": "the files left out when only a remote checkpoint's tokenizer is downloaded",
    "INDEX": "a column that puts ray.data.llm's rows back in their input order",
    "_NO_BF16_ISA": "decides eval.dtype 'auto', whose resolved dtype is hashed (eval_identity)",
}
HASHED = {"ANSWER_TOKENS": "answer_tokens", "VLLM_MAX_MODEL_LEN": "vllm_max_model_len",
          "VLLM_MAX_LORAS": "vllm_max_loras", "VLLM_MIN_BATCH": "vllm_min_batch", "VLLM_CALL_MAX": "vllm_call_max"}


def module_constants() -> dict[str, str]:
    """UPPER_CASE name -> module, for every module-level assignment in the generation modules."""
    found = {}
    for pattern in GENERATION_MODULES:
        for path in sorted(ROOT.glob(pattern)):
            for node in ast.parse(path.read_text()).body:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                    if isinstance(node, ast.AnnAssign) else []
                for t in targets:
                    if isinstance(t, ast.Name) and t.id.isupper():
                        found[t.id] = path.relative_to(ROOT).as_posix()
    return found


def test_every_constant_of_the_generation_modules_is_hashed_or_said_to_change_no_output():
    constants = module_constants()
    undeclared = {name: where for name, where in constants.items() if name not in NOT_OUTPUTS and name not in HASHED}
    assert undeclared == {}, ("a constant that changes what is generated goes in codemix/eval/generation_settings.py "
                              "(and generation_settings()); one that does not goes in NOT_OUTPUTS with the reason")
    assert {n for n, where in constants.items() if n in HASHED} == set(HASHED)
    assert all(constants[n] == "eval/generation_settings.py" for n in HASHED)  # one definition, read from there
    assert set(settings.SINCE) <= set(HASHED.values())  # the others are hashed whatever their value


def spec(**eval_cfg):
    return parse_spec({"name": "s", "model": {"size": "tiny"},
                       "eval": {"backend": "vllm", "prompt": TWO_STAGE, "dtype": "fp32", **eval_cfg}})


def eval_hash(s) -> str:
    return hashes.stage_hashes(s, TrialPoint("llama", 0.5), "pool")["eval"]


@pytest.mark.parametrize("backend", ["vllm", "hf"])
def test_only_the_settings_added_since_the_table_or_changed_move_an_eval_hash(backend):
    # the hash before the settings were part of it: hashed eval fields, backend and dtype, the two versions; the
    # settings in SINCE count only where they differ from it, the others (vLLM's call split) always
    s, point = spec(backend=backend), TrialPoint("llama", 0.5)
    train = hashes.stage_hashes(s, point, "pool")["train"]
    valid = type(s).model_validate_json(s.model_dump_json())  # as stage_hashes hashes it
    added = {"vllm_call_max": settings.VLLM_CALL_MAX} if backend == "vllm" else {}
    before = stable_hash(["eval", train, {**hashes.hashed_dump(valid.eval), "backend": backend, "dtype": "fp32",
                                          **added},
                          hashes.prompt_version(TWO_STAGE), hashes.EXTRACT_VERSION])
    assert eval_hash(s) == before


@pytest.mark.parametrize("name", sorted(HASHED))
def test_changing_a_setting_changes_the_eval_hash(monkeypatch, name):
    before = eval_hash(spec())
    monkeypatch.setattr(settings, name, getattr(settings, name) + 1)
    assert eval_hash(spec()) != before


def test_a_setting_only_moves_the_hashes_of_evaluations_it_applies_to(monkeypatch):
    hf, one_stage = spec(backend="hf"), spec(prompt="zero_shot_cot")
    before = eval_hash(hf), eval_hash(one_stage)
    monkeypatch.setattr(settings, "VLLM_MAX_MODEL_LEN", 4096)  # not the hf backend's
    assert eval_hash(hf) == before[0] and eval_hash(one_stage) != before[1]
    monkeypatch.setattr(settings, "VLLM_MAX_MODEL_LEN", 2048)
    monkeypatch.setattr(settings, "ANSWER_TOKENS", 32)  # a one-stage prompt has no answer pass
    assert eval_hash(one_stage) == before[1] and eval_hash(hf) != before[0]


def test_the_engine_arguments_that_change_outputs_are_hashed_and_the_others_not():
    plain = eval_hash(spec())
    assert eval_hash(spec(vllm_engine_args={"gpu_memory_utilization": 0.5, "max_num_seqs": 8})) == plain
    assert eval_hash(spec(vllm_engine_args={"max_model_len": 4096})) != plain
    assert eval_hash(spec(vllm_engine_args={"max_model_len": 2048})) == plain  # the default, spelled out


class RecordingEngine:
    def __init__(self):
        self.calls = []

    def generate(self, chats, adapter=None, max_new_tokens=None):
        self.calls.append(max_new_tokens)
        return {"prompt": ["p"] * len(chats), "output": ["o"] * len(chats), "new_tokens": [1] * len(chats)}


def test_the_backends_read_the_settings_the_hash_holds(monkeypatch):
    for name in HASHED:
        monkeypatch.setattr(settings, name, getattr(settings, name) + 3)
    s = spec(batch_size=8)
    args = engine_args("model", s.eval, lora_rank=16, on_gpu=False)
    assert (args["max_model_len"], args["max_loras"]) == (settings.VLLM_MAX_MODEL_LEN, settings.VLLM_MAX_LORAS)
    assert vllm_generator("model", s.eval, s.model).batch_size == settings.VLLM_MIN_BATCH
    rows = 3 * settings.VLLM_CALL_MAX + 4  # four equal calls, none over the maximum
    assert vllm_generator("model", s.eval, s.model, rows=rows).batch_size == -(-rows // 4)
    engine = RecordingEngine()
    generate_batch(engine, {"messages": np.array(['[{"role": "user", "content": "q"}]'], dtype=object),
                            "answer_trigger": np.array(["Therefore"], dtype=object)})
    assert engine.calls == [None, settings.ANSWER_TOKENS]  # the reasoning, then the answer pass
