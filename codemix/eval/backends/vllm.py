"""The ``vllm`` backend: ``ray.data.llm`` vLLM engines (GPU clusters; install the ``gpu`` extra).

The checkpoint folder must be visible to every GPU node (shared or cloud storage). LoRA
checkpoints are merged into their base first, which is simpler and as fast as per-row adapters.
"""

from __future__ import annotations

import json


def vllm_processor(model_path: str, eval_cfg):
    """Build a Ray Data LLM processor: messages column in, output column out."""
    try:
        import vllm  # noqa: F401
    except ImportError as err:
        raise RuntimeError("eval.backend 'vllm' needs the gpu extra: pip install 'codemix[gpu]'") from err
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    from codemix.models.loading import local_model_dir, merged_copy

    local = local_model_dir(model_path)
    model_path = merged_copy(local, f"{local.rstrip('/')}-merged")
    sampling = eval_cfg.sampling
    params = {"temperature": sampling.temperature, "max_tokens": sampling.max_new_tokens,
              **({"stop": sampling.stop} if sampling.stop else {})}
    config = vLLMEngineProcessorConfig(
        model_source=model_path, batch_size=eval_cfg.batch_size, concurrency=eval_cfg.concurrency,
        engine_kwargs={"tensor_parallel_size": eval_cfg.tensor_parallel_size, "enable_prefix_caching": True})
    return build_processor(
        config,
        preprocess=lambda row: {**row, "messages": json.loads(row["messages"]), "sampling_params": params},
        postprocess=lambda row: {**{k: v for k, v in row.items() if k not in ("messages", "sampling_params")},
                                 "messages": json.dumps(row["messages"]), "output": row["generated_text"].strip(),
                                 "prompt": row.get("prompt", "")},
    )
