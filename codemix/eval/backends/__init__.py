"""Generation backends: chat messages in, texts out, each run as a Ray Data ``map_batches`` stage.

A backend is a callable class ``cls(**kwargs)(batch) -> batch`` that reads the column
``messages`` (JSON strings of chat messages) and adds ``output`` (and ``prompt``, the rendered
text, where it knows it). ``BACKENDS`` maps a name to a function building the Ray Data stage.
"""

from __future__ import annotations

from typing import Callable

from codemix.eval.backends.messages import apply_stop, decode_messages  # noqa: F401  (the backends' helpers)

BACKENDS: dict[str, Callable] = {}


def register_backend(name: str):
    """Decorator: register a function ``(dataset, model_path, eval_cfg, model_cfg, threads=None) -> dataset``.

    ``threads`` is ``resources.torch_threads`` (for backends that compute on this machine's CPUs).
    """
    def wrap(fn):
        BACKENDS[name] = fn
        return fn
    return wrap


@register_backend("hf")
def hf_stage(ds, model_path: str, eval_cfg, model_cfg, threads: int | None = None):
    """Batched transformers generation in a pool of Ray Data actors (one model load per actor)."""
    import ray.data

    from codemix.eval.backends.hf import HFGenerator

    return ds.map_batches(
        HFGenerator, fn_constructor_kwargs={"model_path": model_path, "sampling": eval_cfg.sampling.model_dump(),
                                            "chat_template": model_cfg.chat_template,
                                            "trust_remote_code": model_cfg.trust_remote_code,
                                            "dtype": eval_cfg.dtype, "threads": threads},
        batch_size=eval_cfg.batch_size, compute=ray.data.ActorPoolStrategy(size=eval_cfg.concurrency),
        num_cpus=0 if eval_cfg.num_gpus else 1, num_gpus=eval_cfg.num_gpus or None, batch_format="numpy")


@register_backend("vllm")
def vllm_stage(ds, model_path: str, eval_cfg, model_cfg, threads: int | None = None):
    """vLLM engines: ``ray.data.llm`` on GPU (``eval.num_gpus`` > 0), else codemix's own pool of Ray Data actors,
    each holding one engine (on CPU, or on GPU for what ``ray.data.llm`` does not do): the trial's LoRA
    adapter named per request or merged into its base first (``eval.vllm_lora``)."""
    import ray.data

    from codemix.eval.backends.vllm import VLLMGenerator, vllm_processor
    from codemix.eval.prompts import TWO_STAGE

    # two-stage prompts continue the assistant turn, which ray.data.llm's chat stage does not; nor does it merge
    if eval_cfg.num_gpus and eval_cfg.prompt != TWO_STAGE and eval_cfg.vllm_lora != "merged":
        return vllm_processor(model_path, eval_cfg)(ds)
    return ds.map_batches(
        VLLMGenerator, fn_constructor_kwargs={"model_path": model_path, "eval_json": eval_cfg.model_dump_json(),
                                              "chat_template": model_cfg.chat_template,
                                              "trust_remote_code": model_cfg.trust_remote_code},
        # at least 64 prompts per call: vLLM schedules its own batches, and more requests in flight keep it full
        batch_size=max(eval_cfg.batch_size, 64), compute=ray.data.ActorPoolStrategy(size=eval_cfg.concurrency),
        num_cpus=0 if eval_cfg.num_gpus else 1, num_gpus=eval_cfg.num_gpus or None, batch_format="numpy")


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


@register_backend("openai")
def openai_stage(ds, model_path: str, eval_cfg, model_cfg, threads: int | None = None):
    """Any OpenAI-compatible endpoint (e.g. a ``vllm serve`` you run), with bounded concurrency."""
    import ray.data

    from codemix.eval.backends.openai_backend import OpenAIGenerator

    endpoint = eval_cfg.openai_endpoint
    return ds.map_batches(
        OpenAIGenerator, fn_constructor_kwargs={
            **endpoint.client_kwargs(), "model": endpoint.model or model_path,
            "max_failure_share": endpoint.max_failure_share, "total": ds.count(),  # the share is of the stage
            "sampling": eval_cfg.sampling.model_dump()},
        batch_size=eval_cfg.batch_size, compute=ray.data.ActorPoolStrategy(size=1), num_cpus=0, batch_format="numpy")
