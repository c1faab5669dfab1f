"""What the models wrote: per trial and task, output statistics and a few sample outputs.

    trials, tasks, picked = output_samples(results, k=3)

Read from each finished trial's ``results/predictions/<trial_key>.parquet`` one file at a time
(the outputs are not part of ``ResultSet.predictions``, which keeps only what the tests need), so
memory stays bounded by one trial whatever the sweep's size. Per trial and per (trial, task):

- ``outputs``: predictions, ``median_chars``: median output length in characters (a missing
  output counts as empty), ``extracted``: share of outputs from which an answer was extracted,
  ``accuracy``, and (per trial) ``top_output`` / ``top_share``: the most common output (stripped)
  and its share, so a model that answers "The answer is 12." to everything shows at once;
- samples, as lm-evaluation-harness logs them: ``k`` per (trial, task), chosen deterministically:
  the first by question id (natural order: q2 before q10), with at least one wrong answer where
  the trial got one wrong and at least one right answer where it got one right (``k >= 2``).
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pyarrow.parquet as pq

from codemix.results.load import TRIAL, ResultSet
from codemix.results.writer import results_key
from codemix.storage import Store

COLUMNS = ["sweep", "trial_key", "task", "domain", "example_id", "output", "extracted", "gold", "correct"]
TRIAL_STATS = TRIAL + ["outputs", "median_chars", "extracted", "accuracy", "top_output", "top_count", "top_share"]
TASK_STATS = TRIAL + ["task", "domain", "outputs", "median_chars", "extracted", "accuracy"]


def natural_key(text: str) -> tuple:
    """Sort key reading digit runs as numbers: 'gsm8k-2' < 'gsm8k-10'."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", str(text)) if part)


def pick(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """``k`` rows of one trial's task: the first by example_id, with one wrong and (k >= 2) one right if any."""
    if k <= 0 or frame.empty:
        return frame.iloc[:0]
    ids = frame["example_id"].astype(str).tolist()
    right = frame["correct"].fillna(False).astype(bool).tolist()
    order = sorted(range(len(frame)), key=lambda i: natural_key(ids[i]))
    chosen = order[:k]

    def ensure(flag: bool, keep: set[int]) -> None:
        if any(right[i] == flag for i in chosen):
            return
        extra = next((i for i in order if right[i] == flag), None)
        slot = next((j for j in reversed(range(len(chosen))) if chosen[j] not in keep), None)
        if extra is not None and slot is not None:
            chosen[slot] = extra

    ensure(False, set())
    if k >= 2:
        ensure(True, {next((i for i in chosen if not right[i]), -1)})
    rank = {i: r for r, i in enumerate(order)}
    return frame.iloc[sorted(chosen, key=rank.__getitem__)]


def _has_answer(extracted: pd.Series) -> pd.Series:
    return extracted.notna() & (extracted.astype(str).str.strip() != "")


def _stats(frame: pd.DataFrame) -> dict:
    chars = frame["output"].fillna("").astype(str).str.len()
    return {"outputs": len(frame), "median_chars": float(chars.median()) if len(frame) else float("nan"),
            "extracted": float(_has_answer(frame["extracted"]).mean()) if len(frame) else float("nan"),
            "accuracy": float(frame["correct"].fillna(False).astype(bool).mean()) if len(frame) else float("nan")}


def _read(store: Store, trial_key: str) -> pd.DataFrame:
    """One trial's predictions, the ``COLUMNS`` only (a column an older codemix did not write comes back null)."""
    path = store.path(results_key("predictions", trial_key))
    present = [c for c in COLUMNS if c in pq.read_schema(path, filesystem=store.fs).names]
    frame = pq.read_table(path, columns=present, filesystem=store.fs).to_pandas()
    for column in set(COLUMNS) - set(present):
        frame[column] = None
    return frame[COLUMNS]


def output_samples(results: ResultSet, k: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-trial statistics, per-trial-and-task statistics, the picked samples) of the finished trials.

    Trials come in ``results.trials``' order (family, proportion — untuned first —, settings, seed),
    tasks in the order the trial wrote them; trials without a predictions file are left out.
    """
    ok = results.trials[results.trials["status"] == "ok"]
    wanted = list(dict.fromkeys(zip(ok["sweep"], ok["trial_key"])))
    found: dict[tuple[str, str], pd.DataFrame] = {}
    for experiment in results.experiments:
        store = Store(experiment.path)
        on_disk = {n.removesuffix(".parquet") for n in store.list("results/predictions", ".parquet")}
        for sweep, key in wanted:
            if (sweep, key) in found or key not in on_disk:
                continue
            frame = _read(store, key)
            frame = frame[frame["sweep"] == sweep]
            if not frame.empty:
                found[(sweep, key)] = _summarise(frame, k)
    trial_rows, task_rows, picked = [], [], []
    for sweep, key in wanted:  # the trials' order, whichever experiment held them
        if (sweep, key) in found:
            trial_row, tasks, samples = found[(sweep, key)]
            trial_rows.append(trial_row), task_rows.extend(tasks), picked.append(samples)
    samples = pd.concat(picked, ignore_index=True) if picked else pd.DataFrame(columns=COLUMNS)
    return (pd.DataFrame(trial_rows, columns=TRIAL_STATS), pd.DataFrame(task_rows, columns=TASK_STATS), samples)


def _summarise(frame: pd.DataFrame, k: int) -> tuple[dict, list[dict], pd.DataFrame]:
    sweep, key = frame["sweep"].iloc[0], frame["trial_key"].iloc[0]
    outputs = Counter(frame["output"].fillna("").astype(str).str.strip())
    top, count = min(outputs.items(), key=lambda kv: (-kv[1], kv[0]))  # ties: the first in sort order
    trial = {"sweep": sweep, "trial_key": key, **_stats(frame), "top_output": top, "top_count": count,
             "top_share": count / len(frame)}
    tasks, picked = [], []
    for task, sub in frame.groupby("task", sort=False):
        tasks.append({"sweep": sweep, "trial_key": key, "task": task, "domain": sub["domain"].iloc[0], **_stats(sub)})
        picked.append(pick(sub, k))
    return trial, tasks, pd.concat(picked, ignore_index=True)
