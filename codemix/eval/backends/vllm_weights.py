"""A tuned trial's weights for a running vLLM engine without a copy on disk: the LoRA delta merged in memory.

``merged_weights`` reads the base's safetensors and the adapter's LoRA matrices and yields every base tensor
with ``scaling · B @ A`` added where the adapter has a pair: what ``peft``'s ``merge_and_unload`` computes,
without building either model. ``MergedWeights`` is added to vLLM's worker (the engine's
``worker_extension_cls``), so the engine's own process reads the files and loads the merged tensors in place
(``reload_weights`` from an iterator): no merged checkpoint written and read back, no tensors sent between
processes. Adapters this does not merge (DoRA, fan-in-fan-out layers, modules saved whole, other PEFT types)
are merged by ``peft`` and written to a temporary folder as before (``codemix.eval.backends.vllm``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

from safetensors import safe_open

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_PREFIX = "base_model.model."


def merges_in_memory(adapter: str) -> bool:
    """Whether ``merged_weights`` merges this adapter folder (plain LoRA in safetensors); else peft's merge."""
    folder = Path(adapter)
    if not (folder / ADAPTER_CONFIG).exists() or not (folder / ADAPTER_WEIGHTS).exists():
        return False
    cfg = json.loads((folder / ADAPTER_CONFIG).read_text())
    return (cfg.get("peft_type", "LORA") == "LORA" and not cfg.get("use_dora") and not cfg.get("fan_in_fan_out")
            and not cfg.get("modules_to_save") and not cfg.get("rank_pattern") and not cfg.get("alpha_pattern")
            and cfg.get("bias", "none") == "none" and not cfg.get("layer_replication"))


def lora_deltas(adapter: str) -> dict[str, tuple]:
    """``{base weight name: (A, B, scaling)}`` of a LoRA adapter folder."""
    from safetensors.torch import load_file  # torch: this module loads with vllm.py, which the plan imports

    folder = Path(adapter)
    cfg = json.loads((folder / ADAPTER_CONFIG).read_text())
    r, alpha = cfg["r"], cfg.get("lora_alpha", cfg["r"])
    scaling = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    tensors = load_file(str(folder / ADAPTER_WEIGHTS))
    deltas = {}
    for name, a in tensors.items():
        if ".lora_A." not in name:
            continue
        module = name.removeprefix(_PREFIX).split(".lora_A.")[0]
        deltas[f"{module}.weight"] = (a, tensors[name.replace(".lora_A.", ".lora_B.")], scaling)
    return deltas


def base_files(base: str) -> list[Path]:
    """The safetensors files of a model folder."""
    files = sorted(Path(base).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{base}: no *.safetensors weights to merge an adapter into")
    return files


def merged_weights(base: str, adapter: str | None) -> Iterator[tuple[str, object]]:
    """(name, tensor) of every weight of ``base`` (a folder of safetensors), the adapter's delta added where it
    has one; ``adapter`` None: the base's own weights. Raises if an adapter pair names no base weight."""
    deltas = lora_deltas(adapter) if adapter else {}
    seen = set()
    for path in base_files(base):
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():
                weight = f.get_tensor(name)
                if name in deltas:
                    a, b, scaling = deltas[name]
                    weight = (weight.float() + (b.float() @ a.float()) * scaling).to(weight.dtype)
                    seen.add(name)
                yield name, weight
    missing = set(deltas) - seen
    if missing:
        raise ValueError(f"{adapter}: LoRA weights for {sorted(missing)[:3]} match no weight of {base}")


class MergedWeights:
    """vLLM worker extension (``worker_extension_cls``): its methods run in the engine's process."""

    def load_merged(self, base: str, adapter: str | None = None) -> None:
        """Compute with ``base``'s weights, ``adapter``'s LoRA delta merged in (None: the base's own), in place."""
        self.reload_weights(weights_iterator=merged_weights(base, adapter))
