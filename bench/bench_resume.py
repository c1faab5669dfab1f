"""What an interruption costs: a smoke sweep killed mid-training and resumed vs an uninterrupted one.

    python bench/bench_resume.py [--kill-at train_step@3:2] [--limit 2]

Each sweep runs as `codemix` subprocesses (their own Ray cluster), as a user would. Prints the
wall-time ratio (interrupted run + resume) / uninterrupted, and counts finished stages that the
resume redid (a stage is redone when a trial reports it "computed" although its output existed
before the resume).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
STAGE_DIRS = {"mix": "mixes", "train": "checkpoints", "eval": "predictions"}
STAGE_HASH = {"mix": "mix_hash", "train": "train_hash", "eval": "eval_hash"}


def codemix(args, env_extra=None):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CODEMIX_TEST_")}, **(env_extra or {})}
    env.setdefault("RAY_AUTH_MODE", "disabled")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "codemix.cli", *args], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the killed driver's local Ray processes, if any are left
    except ProcessLookupError:
        pass
    return proc.returncode, time.perf_counter() - t0


def complete_stage_dirs(storage: Path) -> dict[str, set[str]]:
    """Finished stage outputs, by the hash the trials table records (a mix by its manifest's sha256)."""
    done = {stage: {p.parent.name for p in (storage / "_cache" / d).glob("*/_COMPLETE")}
            for stage, d in STAGE_DIRS.items()}
    done["mix"] = {json.loads((storage / "_cache" / "mixes" / h / "manifest.json").read_text())["sha256"]
                   for h in done["mix"]}
    return done


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kill-at", default="train_step@3:4", help="a CODEMIX_TEST_KILL_AT point (see sweep/trial.py)")
    p.add_argument("--limit", type=int, default=2, help="eval.limit (examples per task)")
    args = p.parse_args()
    spec = str(REPO / "sweeps" / "smoke.yaml")
    common = ["--set", f"eval.limit={args.limit}", "--set", "train.checkpoint_every=2"]

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        rc, straight = codemix(["run", spec, "--storage", a, *common])
        assert rc == 0, rc
        rc, killed = codemix(["run", spec, "--storage", b, *common], {"CODEMIX_TEST_KILL_AT": args.kill_at})
        assert rc == -signal.SIGKILL, f"the kill hook did not fire (rc={rc})"
        before = complete_stage_dirs(Path(b))
        finished = {f.stem for f in (Path(b) / "smoke" / "results" / "trials").glob("*.parquet")}
        rc, resumed = codemix(["resume", str(Path(b) / "smoke")])
        assert rc == 0, rc
        trials = pq.read_table(Path(b) / "smoke" / "results" / "trials").to_pylist()
        # rows of trials that finished before the kill say what that first run computed: skip them
        redone = [(t["trial_key"], stage) for t in trials if t["trial_key"] not in finished
                  for stage, state in json.loads(t["stages"]).items()
                  if state == "computed" and t[STAGE_HASH[stage]] in before[stage]]
        resumed_stages = [(stage, state) for t in trials if t["trial_key"] not in finished
                          for stage, state in json.loads(t["stages"]).items()]
        done_before = sum(len(v) for v in before.values())
        same = (pq.read_table(Path(a) / "smoke" / "results.parquet").select(["family", "proportion", "task",
                "accuracy", "n"]).to_pylist() == pq.read_table(Path(b) / "smoke" / "results.parquet").select(
                ["family", "proportion", "task", "accuracy", "n"]).to_pylist())

    print(f"smoke sweep (6 trials, eval.limit={args.limit}), killed at {args.kill_at}")
    print(f"uninterrupted             : {straight:6.1f} s")
    print(f"interrupted + resume      : {killed:6.1f} s + {resumed:6.1f} s = {killed + resumed:6.1f} s")
    print(f"wall-time ratio           : {(killed + resumed) / straight:6.2f}x  (target <= 1.15x)")
    print(f"finished stages redone    : {len(redone)} of {done_before} finished before the kill  (target 0)")
    print(f"stages of resumed trials  : {sum(s == 'cached' for _, s in resumed_stages)} cached, "
          f"{sum(s == 'computed' for _, s in resumed_stages)} computed; {len(finished)} trials had finished before")
    print(f"results identical         : {same}")


if __name__ == "__main__":
    main()
