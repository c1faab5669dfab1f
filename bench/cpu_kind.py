"""The CPU a bench runs on, named as the README's figures name it, and the AVX2-only emulation (``--cpu avx2``).

    from cpu_kind import add_cpu_option, apply_cpu_option, describe_cpu
    add_cpu_option(parser); args = parser.parse_args(); apply_cpu_option(args)   # re-runs the bench emulated
    print(describe_cpu())   # "Intel(R) Xeon(R) Processor, 2 cores: AVX2, AVX-512, AVX-512 BF16, AMX"

``--cpu avx2`` re-runs the bench with ``bench/avx2_env.sh``'s variables (PyTorch, oneDNN and MKL limited to
AVX2, vLLM told there is no AVX-512 or AMX: see ``bench/avx2_emulation/sitecustomize.py``); the figures then
say "emulated AVX2-only" beside the real CPU's name.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
AVX2_ENV = {"CODEMIX_EMULATE_CPU": "avx2", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
UNITS = [("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX-512 BF16"), ("amx_bf16", "AMX")]


def describe_cpu() -> str:
    """The CPU's model name, core count and vector/matrix units, and whether they are emulated down to AVX2."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "?")
    flags = set(next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), []))
    units = ", ".join(label for flag, label in UNITS if flag in flags)
    text = f"{name}, {os.cpu_count()} cores: {units}"
    if os.environ.get("CODEMIX_EMULATE_CPU") == "avx2":
        text += " -- emulated AVX2-only (no AVX-512, no BF16 units, no AMX; bench/avx2_env.sh)"
    return text


def add_cpu_option(parser) -> None:
    parser.add_argument("--cpu", choices=["native", "avx2"], default="native",
                        help="'avx2': emulate an AVX2-only CPU (bench/avx2_env.sh) by re-running this bench under it")


def avx2_environ(env: dict | None = None) -> dict:
    """``env`` (default this process's) with the AVX2-only emulation's variables."""
    env = dict(os.environ if env is None else env)
    env.update(AVX2_ENV)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE / "avx2_emulation"), env.get("PYTHONPATH")) if p)
    return env


def apply_cpu_option(args) -> None:
    """With ``--cpu avx2``, re-run this process under the emulation (unless it already runs under it)."""
    if args.cpu == "avx2" and os.environ.get("CODEMIX_EMULATE_CPU") != "avx2":
        os.execve(sys.executable, [sys.executable, *sys.argv], avx2_environ())
