"""`make demo` from nothing, timed stage by stage: the install, the driver's start-up, each trial's stages and the
phases of its evaluation, the report.

    python bench/bench_demo.py [--install] [--cpu avx2] [--spec sweeps/demo.yaml] [--root DIR] [--python python3.11]

Everything starts empty: a new folder (``--root``, default a temporary one) holds the home folder (so codemix's
model and pool caches, vLLM's and pip's caches are empty), the runs, and with ``--install`` a new virtualenv made
by ``make install VENV=<root>/venv`` with an empty pip cache (the downloads included). Without ``--install`` the
codemix next to this Python runs (its install not timed). Then ``codemix run <spec>`` and ``codemix report``, each
timed as a whole, and the per-stage table (``codemix.results.timings``). The CPU is named beside the figures;
``--cpu avx2`` runs the sweep and the report as on an AVX2-only CPU (bench/cpu_kind.py; the install is the same).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu_kind import add_cpu_option, avx2_environ, describe_cpu

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict, log: Path) -> float:
    """Run ``cmd`` (output to ``log``), raise if it fails; its wall seconds."""
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--install", action="store_true", help="time `make install` into a new venv first")
    p.add_argument("--python", default=sys.executable, help="the Python that makes the new venv (--install)")
    p.add_argument("--spec", default="sweeps/demo.yaml")
    p.add_argument("--root", help="where everything goes (default: a new temporary folder, kept)")
    add_cpu_option(p)
    args = p.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="codemix-demo-bench-")).resolve()
    (root / "home").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(root / "home"), "PIP_CACHE_DIR": str(root / "pip-cache"),
           "RAY_AUTH_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    env.pop("CODEMIX_HOME", None)
    seconds = {}
    bindir = Path(sys.executable).parent
    if args.install:
        venv = root / "venv"
        seconds["install (make install, empty pip cache)"] = timed(
            ["make", "install", f"VENV={venv}", f"PYTHON={args.python}"], env, root / "install.log")
        bindir = venv / "bin"
    if args.cpu == "avx2":
        env = avx2_environ(env)
    name = "demo-bench"
    runs = root / "runs"
    seconds["codemix run"] = timed([str(bindir / "codemix"), "run", args.spec, "--name", name, "--storage",
                                    str(runs)], env, root / "run.log")
    seconds["codemix report"] = timed([str(bindir / "codemix"), "report", str(runs / name)], env, root / "report.log")

    sys.path.insert(0, str(REPO))
    from codemix.results.timings import format_seconds, split_table, stage_table

    table = stage_table(runs / name)
    print(f"\n{args.spec} from nothing; CPU: {describe_cpu() if args.cpu == 'native' else describe_cpu_emulated()}")
    print(f"folder: {root} (logs: install.log, run.log, report.log)")
    for k, v in seconds.items():
        print(f"{k:45s} {v:7.1f} s")
    print(f"{'total':45s} {sum(seconds.values()):7.1f} s  ({sum(seconds.values()) / 60:.1f} min)\n")
    for part in split_table(table):
        print(format_seconds(part).to_string(index=False), end="\n\n")


def describe_cpu_emulated() -> str:
    os.environ["CODEMIX_EMULATE_CPU"] = "avx2"
    return describe_cpu()


if __name__ == "__main__":
    main()
