"""The one table of accelerators: dense bf16 peak FLOP/s and memory, for MFU and for ``codemix plan``.

Peaks are the vendors' datasheet figures for BF16 tensor-core math with FP32 accumulation
(what PyTorch bf16 matmuls use), *dense*. Datasheets print the 2:4-sparse rate beside it
("X | Y", or Y alone marked sparse), with Y = 2X; X is listed here. GeForce cards run
FP32-accumulate at half their FP16-accumulate rate; their FP32-accumulate figure is listed.
Memory is per device, as sold. The trainer matches ``torch.cuda.get_device_name()`` against
``pattern`` (first match wins, so specific names precede general ones); ``codemix plan --gpu``
takes ``name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GPU:
    """One accelerator model."""

    name: str  # as `codemix plan --gpu` takes it
    pattern: str  # regular expression on the CUDA/ROCm device name (case-insensitive)
    bf16_flops: float  # dense BF16 tensor FLOP/s, FP32 accumulate
    memory_gb: float
    source: str


GPUS: tuple[GPU, ...] = (
    GPU("GH200", r"GH200", 989e12, 96, "NVIDIA GH200 Grace Hopper datasheet: BF16 Tensor 1,979 TFLOPS sparse"),
    GPU("H200-NVL", r"H200 NVL", 835e12, 141, "NVIDIA H200 datasheet (NVL): BF16 Tensor 1,671 TFLOPS sparse"),
    GPU("H200", r"H200", 989e12, 141, "NVIDIA H200 datasheet (SXM): BF16 Tensor 1,979 TFLOPS sparse"),
    GPU("H100-NVL", r"H100 NVL", 835e12, 94, "NVIDIA H100 datasheet (NVL): BF16 Tensor 1,671 TFLOPS sparse"),
    GPU("H100-PCIe", r"H100.*PCIe|H800.*PCIe", 756e12, 80,
        "NVIDIA H100 datasheet (PCIe): BF16 Tensor 1,513 TFLOPS sparse"),
    GPU("H100-80GB", r"H100|H800", 989e12, 80, "NVIDIA H100 datasheet (SXM): BF16 Tensor 1,979 TFLOPS sparse"),
    GPU("GB200", r"GB200", 2500e12, 186, "NVIDIA GB200 NVL72 datasheet: FP16/BF16 Tensor 5 PFLOPS per GPU sparse"),
    GPU("B200", r"B200", 2250e12, 180, "NVIDIA HGX B200 datasheet: FP16/BF16 Tensor 4.5 PFLOPS per GPU sparse"),
    GPU("A100-80GB", r"A100.*80GB|A800.*80GB", 312e12, 80, "NVIDIA A100 datasheet: BF16 Tensor 312 | 624 TFLOPS"),
    GPU("A100-40GB", r"A100|A800", 312e12, 40, "NVIDIA A100 datasheet: BF16 Tensor 312 | 624 TFLOPS"),
    GPU("L40S", r"L40S", 362e12, 48, "NVIDIA L40S datasheet: BF16 Tensor 362.05 | 733 TFLOPS"),
    GPU("L40", r"L40\b", 181e12, 48, "NVIDIA L40 datasheet: BF16 Tensor 181.05 | 362.1 TFLOPS"),
    GPU("L4", r"\bL4\b", 121e12, 24, "NVIDIA L4 datasheet: BF16 Tensor 242 TFLOPS sparse"),
    # AWS's A10 variant (G5 instances). NVIDIA publishes no A10G datasheet; 70 TFLOPS dense is
    # the figure AWS-based spec comparisons give (e.g. Baseten, "NVIDIA A10 vs A10G"): its tensor
    # rate is well below the A10's, not equal to it.
    GPU("A10G", r"A10G", 70e12, 24, "no NVIDIA datasheet; 70 TFLOPS as in Baseten's A10 vs A10G comparison"),
    GPU("A10", r"\bA10\b", 125e12, 24, "NVIDIA A10 datasheet: BF16 Tensor 125 | 250 TFLOPS"),
    GPU("A40", r"\bA40\b", 149.7e12, 48, "NVIDIA A40 datasheet: BF16 Tensor 149.7 | 299.4 TFLOPS"),
    GPU("RTX-A6000", r"A6000", 154.8e12, 48, "NVIDIA RTX A6000 datasheet: BF16 Tensor (FP32 acc.) 154.8 | 309.7"),
    GPU("RTX-6000-Ada", r"RTX 6000 Ada", 364.2e12, 48, "NVIDIA RTX 6000 Ada datasheet: BF16 Tensor 364.2 | 728.5"),
    GPU("RTX-4090", r"RTX 4090", 165.2e12, 24, "NVIDIA Ada whitepaper: 4090 BF16 Tensor, FP32 accumulate, 165.2 dense"),
    GPU("RTX-3090", r"RTX 3090", 71e12, 24, "NVIDIA GA102 whitepaper: 3090 BF16 Tensor, FP32 accumulate, 71 dense"),
    GPU("MI300X", r"MI300X", 1307.4e12, 192, "AMD Instinct MI300X datasheet: BF16 1,307.4 TFLOPS dense"),
    GPU("MI250X", r"MI250X", 383e12, 128, "AMD Instinct MI250X datasheet: BF16 383 TFLOPS"),
    GPU("MI250", r"MI250\b", 362.1e12, 128, "AMD Instinct MI250 datasheet: BF16 362.1 TFLOPS"),
)


def gpu_named(name: str) -> GPU:
    """The table entry called ``name`` (``codemix plan --gpu``); KeyError listing the names otherwise."""
    for gpu in GPUS:
        if gpu.name.lower() == name.lower():
            return gpu
    raise KeyError(f"unknown GPU {name!r}; known: {', '.join(g.name for g in GPUS)}")


def gpu_for_device(device_name: str) -> GPU | None:
    """The entry whose pattern matches a device name such as ``"NVIDIA H100 80GB HBM3"``; None if unknown."""
    for gpu in GPUS:
        if re.search(gpu.pattern, device_name, re.IGNORECASE):
            return gpu
    return None
