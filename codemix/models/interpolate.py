"""Models between fine-tunes: the model at coding share p interpolated in weight space between models fine-tuned at
anchor shares (the surrogate of ``search.searcher: surrogate``).

The weights at p are piecewise linear between the two anchors around it (``interpolation_weights``): with anchors
0 and 1, ``W(p) = (1 - p) W_0 + p W_1``. ``write_interpolated`` writes that model as a folder every evaluation
path already serves:

- LoRA anchors (folders with ``adapter_config.json`` on one base): ``W + sum_i w_i dW_i`` with ``dW_i = s_i B_i A_i``
  is itself a LoRA adapter, of rank ``sum_i r_i``: ``A`` the anchors' ``A_i`` stacked, ``B`` their ``w_i s_i B_i``
  side by side, scaling 1. So the interpolated model is an adapter folder on the same base (a few MB): the ``hf``
  backend attaches it per request, vLLM merges it into the engine it keeps for that base (``eval.vllm_lora``), a
  GPU engine serves it per request: no new engine, no full copy of the weights. The delta is exact.
- full fine-tunes: every tensor ``sum_i w_i W_i`` (accumulated in fp32), shard by shard as the first anchor's
  files are laid out, so memory holds one shard at a time.

Anchors must be fine-tunes of the same base with the same adapter settings (the sweep makes them with one spec).
torch and safetensors load where a model is written: ``codemix.models`` (which the CLI imports) exports this module.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
INTERPOLATION_FILE = "interpolation.json"  # in an interpolated model's folder: its anchors and weights
# what the anchors' folders hold that an interpolated model does not inherit (its own metrics, the weights)
_NOT_COPIED = {ADAPTER_CONFIG, ADAPTER_WEIGHTS, "train_metrics.json", "README.md", INTERPOLATION_FILE}
# LoRA settings a stacked adapter cannot carry over (one rank and one scaling for every module, plain LoRA)
_UNSUPPORTED_LORA = ("use_dora", "fan_in_fan_out", "modules_to_save", "rank_pattern", "alpha_pattern",
                     "layer_replication")


def interpolation_weights(anchors: Sequence[float], p: float) -> list[float]:
    """The weight of each anchor (in the order given) in the model at proportion ``p``: linear between the two
    anchors around ``p``, zero for the others. Raises ValueError outside the anchors' range (no extrapolation)."""
    if len(anchors) < 2 or len(set(anchors)) != len(anchors):
        raise ValueError(f"anchors {list(anchors)}: need two or more distinct proportions")
    order = sorted(range(len(anchors)), key=lambda i: anchors[i])
    lo, hi = anchors[order[0]], anchors[order[-1]]
    if not lo - 1e-9 <= p <= hi + 1e-9:
        raise ValueError(f"proportion {p} lies outside the anchors' range [{lo}, {hi}]: interpolation only")
    weights = [0.0] * len(anchors)
    for a, b in zip(order, order[1:]):
        if anchors[a] - 1e-9 <= p <= anchors[b] + 1e-9:
            t = min(max((p - anchors[a]) / (anchors[b] - anchors[a]), 0.0), 1.0)
            weights[a], weights[b] = round(1.0 - t, 12), round(t, 12)
            return weights
    raise AssertionError("unreachable: p is within the anchors' range")


def is_adapter(folder: str | Path) -> bool:
    """Whether a model folder is a LoRA adapter (``adapter_config.json``) rather than full weights."""
    return (Path(folder) / ADAPTER_CONFIG).exists()


def write_interpolated(out: str | Path, anchors: Sequence[str | Path], weights: Sequence[float]) -> None:
    """Write the model ``sum_i weights[i] * anchor_i`` (LoRA deltas or full weights, see the module docstring) into
    the folder ``out``, with the first anchor's tokenizer and config and an ``interpolation.json``. Anchors of
    weight 0 are left out. Raises ValueError for anchors that do not interpolate (mixed kinds, other bases or
    adapter settings)."""
    pairs = [(Path(a), float(w)) for a, w in zip(anchors, weights, strict=True) if w != 0.0]
    if not pairs:
        raise ValueError("every interpolation weight is 0")
    kinds = {is_adapter(a) for a, _ in pairs}
    if len(kinds) > 1:
        raise ValueError(f"anchors {[str(a) for a, _ in pairs]}: LoRA adapters and full weights do not interpolate")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = pairs[0][0]
    for item in first.iterdir():
        if item.name not in _NOT_COPIED and not item.name.endswith(".safetensors") and item.is_file():
            shutil.copy(item, out / item.name)
    if kinds == {True}:
        _write_adapter(out, pairs)
    else:
        _write_full(out, pairs)
    (out / INTERPOLATION_FILE).write_text(json.dumps(
        {"anchors": [str(a) for a, _ in pairs], "weights": [w for _, w in pairs]}, indent=1))


def _lora_config(folder: Path) -> dict:
    cfg = json.loads((folder / ADAPTER_CONFIG).read_text())
    if cfg.get("peft_type", "LORA") != "LORA" or cfg.get("bias", "none") != "none" \
            or any(cfg.get(k) for k in _UNSUPPORTED_LORA):
        raise ValueError(f"{folder}: only plain LoRA adapters (no DoRA, bias, rank or alpha patterns, modules saved "
                         "whole) interpolate as a stacked adapter")
    return cfg


def _lora_scaling(cfg: dict) -> float:
    r, alpha = cfg["r"], cfg.get("lora_alpha", cfg["r"])
    return alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r


def _write_adapter(out: Path, pairs: list[tuple[Path, float]]) -> None:
    """The stacked adapter: per module A = [A_1; A_2; ...], B = [w_1 s_1 B_1, w_2 s_2 B_2, ...], scaling 1."""
    import torch
    from safetensors.torch import load_file, save_file

    configs = [_lora_config(a) for a, _ in pairs]
    same = ("base_model_name_or_path", "target_modules", "r")
    for (a, _), cfg in zip(pairs[1:], configs[1:]):
        differ = [k for k in same if _comparable(cfg.get(k)) != _comparable(configs[0].get(k))]
        if differ:
            raise ValueError(f"{a}: its adapter differs from {pairs[0][0]}'s in {', '.join(differ)}; anchors must be "
                             "fine-tunes of one base with one LoRA setting")
    tensors = [load_file(str(a / ADAPTER_WEIGHTS)) for a, _ in pairs]
    if any(t.keys() != tensors[0].keys() for t in tensors[1:]):
        raise ValueError(f"anchors {[str(a) for a, _ in pairs]}: their adapters hold different modules")
    stacked = {}
    for name in tensors[0]:
        if ".lora_A." in name:
            stacked[name] = torch.cat([t[name] for t in tensors], dim=0).contiguous()
        elif ".lora_B." in name:
            stacked[name] = torch.cat([(t[name].float() * (w * _lora_scaling(cfg))).to(t[name].dtype)
                                       for t, (_, w), cfg in zip(tensors, pairs, configs)], dim=1).contiguous()
        else:
            raise ValueError(f"{pairs[0][0]}: adapter tensor {name!r} is neither lora_A nor lora_B")
    rank = sum(cfg["r"] for cfg in configs)
    save_file(stacked, str(out / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (out / ADAPTER_CONFIG).write_text(json.dumps(
        {**configs[0], "r": rank, "lora_alpha": rank, "use_rslora": False}, indent=1))


def _comparable(value):
    return sorted(value) if isinstance(value, list) else value


def _write_full(out: Path, pairs: list[tuple[Path, float]]) -> None:
    """``sum_i w_i W_i`` for every tensor, one output file per file of the first anchor (its index copied)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    def where(folder: Path) -> dict[str, Path]:
        files = sorted(folder.glob("*.safetensors"))
        if not files:
            raise ValueError(f"{folder}: no *.safetensors weights to interpolate")
        found = {}
        for f in files:
            with safe_open(str(f), framework="pt") as h:
                found.update({k: f for k in h.keys()})
        return found

    maps = [where(a) for a, _ in pairs]
    if any(m.keys() != maps[0].keys() for m in maps[1:]):
        raise ValueError(f"anchors {[str(a) for a, _ in pairs]}: their weights hold different tensors")
    with ExitStack() as stack:
        handles = {f: stack.enter_context(safe_open(str(f), framework="pt")) for m in maps for f in set(m.values())}
        for shard in sorted(set(maps[0].values())):
            merged = {}
            for name in (k for k, f in maps[0].items() if f == shard):
                parts = [handles[m[name]].get_tensor(name) for m in maps]
                total = sum(t.float() * w for t, (_, w) in zip(parts, pairs))
                dtype = parts[0].dtype
                total = total.to(dtype) if dtype.is_floating_point else torch.round(total).to(dtype)
                merged[name] = total.contiguous()
            save_file(merged, str(out / shard.name), metadata={"format": "pt"})
