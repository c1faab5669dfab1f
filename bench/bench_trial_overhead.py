"""What a trial costs besides its compute: a 2- and a 6-trial tiny sweep, each trial's wall time split by stage.

Runs `codemix run` on tiny twins (the compute is seconds) in a fresh storage folder per sweep and
reads the trials table back. Per trial: the stage seconds the trial records (mix, training set-up,
steps, checkpoints, evaluation start, generation, result writing; ``timings`` column), and what is
left of the sweep's wall time (Ray and Tune start-up, scheduling, the driver) spread over its trials.

    python bench/bench_trial_overhead.py [--trials 2 6] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

REPO = Path(__file__).resolve().parents[1]
# the stages a trial records, in order (absent ones print as "-")
STAGES = ["mix", "train", "train_steps", "eval", "generate"]


def tiny_spec(folder: Path, trials: int) -> Path:
    """A smoke-sized sweep of ``trials`` trials: one family (two for 6 trials), proportions 0..1."""
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    families = ["llama"] if trials <= 3 else ["llama", "mistral"]
    per_family = trials // len(families)
    proportions = [round(i / max(per_family - 1, 1), 3) for i in range(per_family)]
    spec.update(name=f"overhead{trials}", storage=str(folder))
    spec["search"].update(family=families, proportion=proportions)
    spec["train"].update(epochs=1, checkpoint_every=2)
    spec["eval"].update(suite="smoke3", limit=2, sampling={"max_new_tokens": 8})
    path = folder / f"overhead{trials}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run_sweep(trials: int, root: Path) -> dict:
    """Run the sweep; returns its wall time and the trials table rows."""
    folder = root / f"sweep{trials}"
    folder.mkdir(parents=True)
    spec = tiny_spec(folder, trials)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "codemix.cli", "run", str(spec)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"sweep of {trials} trials failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    rows = pq.read_table(folder / f"overhead{trials}" / "results" / "trials").to_pylist()
    return {"wall": wall, "rows": rows}


def stage_seconds(row: dict) -> dict[str, float]:
    """The trial's recorded stage seconds (``timings``), or the coarse split older trials tables allow."""
    if row.get("timings"):
        return {k: float(v) for k, v in json.loads(row["timings"]).items()}
    return {"train": row.get("train_seconds") or 0.0, "eval": row.get("eval_seconds") or 0.0}


def table(trials: int, result: dict) -> str:
    """One line per trial plus the sweep's remainder per trial."""
    lines = [f"## {trials}-trial tiny sweep: wall {result['wall']:.1f} s",
             "trial                    " + " ".join(f"{s:>9.9}" for s in STAGES) + "     total"]
    accounted = 0.0
    for row in sorted(result["rows"], key=lambda r: (r["family"], r["proportion"] is not None,
                                                      r["proportion"] or 0)):
        secs = stage_seconds(row)
        # the trial's own wall time (the table's timestamps are whole seconds)
        total = secs.pop("trial", None) or (row["finished_at"] - row["started_at"]).total_seconds()
        accounted += total
        name = f"{row['family']} p={row['proportion']}"
        lines.append(f"{name:<25}" + " ".join(f"{secs[s]:9.2f}" if s in secs else f"{'-':>9}" for s in STAGES)
                     + f" {total:9.2f}")
    rest = result["wall"] - accounted
    lines.append(f"outside the trials (Ray/Tune start, scheduling, driver): {rest:.1f} s, "
                 f"{rest / max(len(result['rows']), 1):.1f} s per trial")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[2, 6])
    parser.add_argument("--keep", type=Path, default=None, help="storage root to keep (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for n in args.trials:
            print(table(n, run_sweep(n, root)), flush=True)


if __name__ == "__main__":
    main()
