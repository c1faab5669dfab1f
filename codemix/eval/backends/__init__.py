"""Generation backends: chat messages in, texts out, run in the trial's process or as a Ray Data stage.

A backend is one registered function returning a ``Generator``: a callable class
``cls(**kwargs)(batch) -> batch`` that reads the column ``messages`` (JSON strings of chat messages) and
adds ``output`` (and ``prompt``, the rendered text, where it knows it), with the batch size and the
resources one replica needs. The same declaration runs two ways:

- ``generate_here``: the class built once in this process and called batch by batch (a Tune trial's
  own process, ``resources.eval_launcher``): no actor to start, and the engine stays loaded for the next
  trial this process evaluates (``codemix.eval.engines``);
- ``ray_data_stage``: ``map_batches`` over a pool of ``eval.concurrency`` Ray Data actors (GPUs, several
  replicas), or a backend's own stage (vLLM on GPU or with ``eval.engine_placement``: ``ray.data.llm``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from codemix.eval import generation_settings as settings
from codemix.ray_runtime import reserved_resources

log = logging.getLogger("codemix")


@dataclass(frozen=True)
class Generator:
    """How to build one generation replica: its class and constructor arguments, what it takes per call and
    what it reserves (CPUs and GPUs of a replica)."""

    cls: type
    kwargs: dict = field(default_factory=dict)
    batch_size: int = 16
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    replicas: int = 1


# name -> fn(model_path, eval_cfg, model_cfg, threads=None, rows=0) -> Generator
BACKENDS: dict[str, Callable[..., Generator]] = {}


def register_backend(name: str):
    """Decorator: register ``fn(model_path, eval_cfg, model_cfg, threads=None, rows=0) -> Generator``.

    ``threads`` is ``resources.torch_threads`` (for backends that compute on this machine's CPUs); ``rows``
    the number of prompts the evaluation sends (for budgets over the whole stage).
    """
    def wrap(fn):
        BACKENDS[name] = fn
        return fn
    return wrap


def _replica(eval_cfg) -> dict:
    """A local engine replica's resources: one CPU (none when it computes on GPUs), ``eval.concurrency`` of them."""
    return {"num_cpus": 0 if eval_cfg.num_gpus else 1, "num_gpus": eval_cfg.num_gpus, "replicas": eval_cfg.concurrency}


@register_backend("hf")
def hf_generator(model_path: str, eval_cfg, model_cfg, threads: int | None = None, rows: int = 0) -> Generator:
    """Batched transformers generation (one model load per process, LoRA adapters attached per request)."""
    from codemix.eval.backends.hf import HFGenerator

    return Generator(HFGenerator, {"model_path": model_path, "sampling": eval_cfg.sampling.model_dump(),
                                   "chat_template": model_cfg.chat_template,
                                   "trust_remote_code": model_cfg.trust_remote_code,
                                   "dtype": eval_cfg.dtype, "threads": threads},
                     batch_size=eval_cfg.batch_size, **_replica(eval_cfg))


@register_backend("vllm")
def vllm_generator(model_path: str, eval_cfg, model_cfg, threads: int | None = None, rows: int = 0) -> Generator:
    """vLLM engines (on CPU, or on GPU for what ``ray.data.llm`` does not do): the trial's LoRA adapter named
    per request or merged into its base first (``eval.vllm_lora``)."""
    from codemix.eval.backends.vllm import VLLMGenerator

    return Generator(VLLMGenerator, {"model_path": model_path, "eval_json": eval_cfg.model_dump_json(),
                                     "chat_template": model_cfg.chat_template,
                                     "trust_remote_code": model_cfg.trust_remote_code},
                     batch_size=vllm_call_size(eval_cfg.batch_size, rows), **_replica(eval_cfg))


def vllm_call_size(batch_size: int, rows: int) -> int:
    """Prompts per call to a vLLM replica: vLLM schedules its own batches, and more requests in flight keep them
    full, so at least ``VLLM_MIN_BATCH`` (or ``eval.batch_size``), and the stage's rows in equal calls of at most
    ``VLLM_CALL_MAX`` (72 prompts: one call of 72, not 64 then 8, whose 8 would decode at batch 8)."""
    calls = max(1, -(-rows // settings.VLLM_CALL_MAX))
    return max(batch_size, settings.VLLM_MIN_BATCH, -(-rows // calls))


@register_backend("openai")
def openai_generator(model_path: str, eval_cfg, model_cfg, threads: int | None = None, rows: int = 0) -> Generator:
    """Any OpenAI-compatible endpoint (e.g. a ``vllm serve`` you run), with bounded concurrency."""
    from codemix.eval.backends.openai_backend import OpenAIGenerator

    endpoint = eval_cfg.openai_endpoint
    return Generator(OpenAIGenerator, {
        **endpoint.client_kwargs(), "model": endpoint.model or model_path,
        "max_failure_share": endpoint.max_failure_share, "total": rows,  # the share is of the whole stage
        "sampling": eval_cfg.sampling.model_dump()}, batch_size=eval_cfg.batch_size, num_cpus=0)


def uses_ray_data_llm(backend: str, eval_cfg) -> bool:
    """Whether the backend runs as ``ray.data.llm`` (``codemix.eval.backends.ray_llm``): vLLM on GPUs, or wherever
    ``eval.engine_placement`` places its engine, except merged adapters (it serves them per request)."""
    return backend == "vllm" and bool(eval_cfg.num_gpus or eval_cfg.engine_placement) \
        and eval_cfg.vllm_lora != "merged"


def ray_data_stage(ds, backend: str, model_path: str, eval_cfg, model_cfg, threads: int | None = None):
    """The backend as a Ray Data stage over ``ds``: ``map_batches`` over a pool of its replicas, or
    ``ray.data.llm``."""
    import ray.data  # Ray Data only where a stage is built (generation in the trial's process needs none)

    if uses_ray_data_llm(backend, eval_cfg):
        from codemix.eval.backends.ray_llm import ray_llm_stage

        return ray_llm_stage(ds, model_path, eval_cfg, model_cfg)
    g = BACKENDS[backend](model_path, eval_cfg, model_cfg, threads=threads, rows=ds.count())
    return ds.map_batches(g.cls, fn_constructor_kwargs=g.kwargs, batch_size=g.batch_size,
                          compute=ray.data.ActorPoolStrategy(size=g.replicas), num_cpus=g.num_cpus,
                          num_gpus=g.num_gpus or None, batch_format="numpy")


def generate_here(rows: list[dict], backend: str, model_path: str, eval_cfg, model_cfg,
                  threads: int | None = None) -> list[dict]:
    """Run the backend in this process over ``rows`` (dicts with ``messages``), batch by batch; returns the rows
    with the backend's columns added. A replica's CPUs are reserved on the cluster while it runs (as a Ray
    Data actor would reserve them); the engine stays held for the next evaluation in this process."""
    g = BACKENDS[backend](model_path, eval_cfg, model_cfg, threads=threads, rows=len(rows))
    out = []
    with reserved_resources({"CPU": g.num_cpus, "GPU": g.num_gpus}, "evaluation"):
        generator = g.cls(**g.kwargs)
        batches = range(0, len(rows), g.batch_size)
        for k, start in enumerate(batches, 1):
            chunk = rows[start:start + g.batch_size]
            result = generator({col: _column([r[col] for r in chunk]) for col in chunk[0]})
            out.extend({col: _plain(values[i]) for col, values in result.items()} for i in range(len(chunk)))
            log.info("evaluation: batch %d/%d generated (%d of %d prompts)", k, len(batches), len(out), len(rows))
    return out


def _column(values: list) -> np.ndarray:
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=object)


def _plain(value):
    """A numpy scalar back to its Python value (as Ray Data's ``take_all`` returns rows)."""
    return value.item() if isinstance(value, np.generic) else value


def runs_in_process(launcher: str, eval_cfg) -> bool:
    """Whether evaluation runs in the calling process (``resources.eval_launcher``; 'auto': on CPU with one
    replica) rather than as a Ray Data stage."""
    if launcher != "auto":
        return launcher == "in_process"
    return not eval_cfg.num_gpus and eval_cfg.concurrency == 1 and eval_cfg.engine_placement is None


def resolve_backend(eval_cfg, model_source: str) -> str:
    """The backend that runs: ``eval.backend``, with 'auto' resolved: vLLM where it is installed, except for
    tiny twins (their whole evaluation costs less than an engine's start), transformers otherwise."""
    if eval_cfg.backend != "auto":
        return eval_cfg.backend
    from codemix.eval.backends.vllm import vllm_available

    return "vllm" if vllm_available() and not is_tiny_twin(model_source) else "hf"


def is_tiny_twin(model_source: str) -> bool:
    """Whether a model source is a tiny twin (``tiny://``) or a checkpoint trained from one (its marker file)."""
    from pathlib import Path

    from codemix.models.loading import TINY_SCHEME, local_model_dir
    from codemix.models.tiny import TINY_MARKER

    source = str(model_source)
    return source.startswith(TINY_SCHEME) or (Path(local_model_dir(source)) / TINY_MARKER).exists()
