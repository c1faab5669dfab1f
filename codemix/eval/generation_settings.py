"""The settings outside the spec that shape a generated output, in one place, and their part of the eval hash.

An evaluation's hash (``codemix.sweep.hashes``) holds its hashed ``eval`` fields, the resolved backend and dtype,
the prompt and extraction versions, and ``generation_identity``: the settings below that apply to it, where they
differ from the values every evaluation before this table was made with (``SINCE``). So the hashes of those stay
as they were, and a changed setting gives new ones: cached predictions are never reused across it. A module-level
constant of the generation modules that changes outputs belongs here; ``tests/eval/test_generation_settings.py``
lists the others with the reason each leaves outputs alone.
"""

from __future__ import annotations

from codemix.eval.prompts import TWO_STAGE

ANSWER_TOKENS = 24  # the second pass of a two-stage prompt: the answer after the trigger, not more reasoning
VLLM_MAX_MODEL_LEN = 2048  # vLLM's context (prompt and generation): a longer prompt is refused, generation cut
VLLM_MAX_LORAS = 4  # LoRA adapters one vLLM engine serves in a batch
VLLM_MIN_BATCH = 64  # prompts per vLLM generation call, at least (vLLM schedules its own batches from them)
# prompts per vLLM call at most (a call's outputs are held until it ends); a stage's prompts go in equal calls under
# it (backends.vllm_call_size). Hashed since calls stopped being cut at the floor (72 = 64 + 8 before).
VLLM_CALL_MAX = 256

# The values every evaluation was made with before these settings were hashed. Never change one: a new setting
# gets an entry only if every earlier evaluation ran with that value (else leave it out: it is always hashed).
SINCE = {"answer_tokens": 24, "vllm_max_model_len": 2048, "vllm_max_loras": 4, "vllm_min_batch": 64}


def generation_settings(eval_cfg, backend: str) -> dict:
    """The settings that shape this evaluation's outputs: the two-stage answer pass; vLLM's context length and
    LoRA slots (as ``eval.vllm_engine_args`` leaves them) and how prompts are split into calls."""
    out = {}
    if eval_cfg.prompt == TWO_STAGE:
        out["answer_tokens"] = ANSWER_TOKENS
    if backend == "vllm":
        args = eval_cfg.vllm_engine_args
        out.update(vllm_max_model_len=args.get("max_model_len", VLLM_MAX_MODEL_LEN),
                   vllm_max_loras=args.get("max_loras", VLLM_MAX_LORAS), vllm_min_batch=VLLM_MIN_BATCH,
                   vllm_call_max=VLLM_CALL_MAX)
    return out


def generation_identity(eval_cfg, backend: str) -> dict:
    """``generation_settings`` where they differ from ``SINCE``: their part of the evaluation's hash."""
    return {k: v for k, v in generation_settings(eval_cfg, backend).items() if k not in SINCE or SINCE[k] != v}
