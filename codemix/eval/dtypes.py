"""The evaluation's number format on this machine: ``eval.dtype`` 'auto' is bf16 on GPU and on CPUs that multiply bf16
matrices natively (AMX, AVX-512 BF16), else fp32. It is part of the eval hash (``codemix.sweep.hashes``): the same
spec evaluates in another format on another machine.
"""

from __future__ import annotations

import os


def resolve_dtype_name(name: str, device: str) -> str:
    """'fp32' or 'bf16' for ``eval.dtype`` on this machine's ``device`` ('cuda' or 'cpu')."""
    if name == "auto":
        return "bf16" if device == "cuda" or cpu_has_bf16_matmul() else "fp32"
    return name


# oneDNN's instruction-set caps below the one with bf16 dot products (ONEDNN_MAX_CPU_ISA; oneDNN then computes bf16
# by converting to fp32, several times slower than fp32 itself)
_NO_BF16_ISA = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}


def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AMX or AVX-512 BF16), as oneDNN uses them: not when
    ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below them (as ``bench/avx2_env.sh`` does to emulate an AVX2-only CPU)."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in _NO_BF16_ISA:
        return False
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags
