"""Run this machine as if its CPU had AVX2 and FMA only (no AVX-512, no AVX-512 BF16, no AMX), like an AMD Zen 3.

Put this folder first on ``PYTHONPATH`` together with the variables ``bench/avx2_env.sh`` sets; every Python
process started under them (the sweep driver, Ray workers, vLLM's engine process) then computes with the AVX2
code paths of each library it uses:

- PyTorch's own kernels: ``ATEN_CPU_CAPABILITY=avx2``;
- oneDNN (PyTorch's and the copy inside vLLM's CPU build: bf16 and fp32 matrix products):
  ``ONEDNN_MAX_CPU_ISA=AVX2``, so no AMX tiles and no AVX-512 BF16 dot products;
- MKL (fp32 matrix products): ``MKL_ENABLE_INSTRUCTIONS=AVX2``;
- vLLM's CPU build picks its kernel library and its AMX paths from ``torch.cpu._is_avx512_supported``,
  ``_is_avx512_bf16_supported`` and ``_is_amx_tile_supported``, which read the CPU itself (CPUID) and ignore
  the variables above: this file makes them answer False, so vLLM loads ``_C_AVX2`` as on a Zen 3;
- codemix's ``eval.dtype: auto`` reads ``ONEDNN_MAX_CPU_ISA`` (``codemix.eval.backends.hf.cpu_has_bf16_matmul``).

What it cannot change: the cores, caches, clock and memory of this machine, and code that picks its
instructions from CPUID without asking PyTorch (tokenizers, numpy, glibc): small next to the matrix products
on this workload. Compare its figures with a real AVX2-only machine before trusting them (bench/README-cpu.md).
"""

import importlib.abc
import importlib.util
import os
import sys

_FALSE = ("_is_avx512_supported", "_is_avx512_bf16_supported", "_is_avx512_vnni_supported", "_is_vnni_supported",
          "_is_amx_tile_supported", "_is_amx_fp16_supported")


class _AVX2OnlyTorchCpu(importlib.abc.MetaPathFinder):
    """Patches ``torch.cpu`` as it is imported: the AVX-512 / AMX queries answer False."""

    def find_spec(self, name, path, target=None):
        if name != "torch.cpu":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            for fn in _FALSE:
                setattr(module, fn, lambda: False)
            module._is_avx2_supported = lambda: True

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("CODEMIX_EMULATE_CPU", "").lower() == "avx2":
    sys.meta_path.insert(0, _AVX2OnlyTorchCpu())
