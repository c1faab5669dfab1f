"""Where a sweep's time went: the driver's start-up, then each trial's stages and the phases inside them.

Read from what the sweep records: ``startup.json`` (``codemix.sweep.tuner.StartUp``) and each trial row's
``timings`` (``codemix.sweep.trial``: the stages' wall times, the optimiser steps, and the evaluation's phases:
the engine's start or reuse, loading a tuned trial's weights, the reasoning pass, the answer pass, scoring).
``codemix report`` prints the table and puts it in the report; ``bench/bench_demo.py`` adds the install.
"""

from __future__ import annotations

import json

import pandas as pd

from codemix.results.layout import STARTUP_FILE
from codemix.results.writer import read_level
from codemix.storage import Store

# (column, where its seconds come from in a trial's timings); an indented name is part of the one above it
COLUMNS = [("waited", None), ("mix", "mix"), ("train", "train"), ("  steps", "train_steps"), ("eval", "eval"),
           ("  engine", "eval_engine"), ("  weights", "eval_weights"), ("  reasoning", "eval_generate"),
           ("  answer", "eval_answer_pass"), ("  scoring", "eval_score"), ("results", None), ("trial", "trial")]
STARTUP_ORDER = ["imports", "preflight", "data", "ray_start", "models", "setup"]  # codemix.sweep.tuner.StartUp's laps


def stage_table(experiment: str | Store) -> pd.DataFrame:
    """One row per part of the sweep, in the order it ran: 'start-up' (the driver's imports, preflight, data
    stage, Ray's start, Tune's set-up), then each attempt of a trial (seconds per stage; 'waited': since the
    previous one ended, i.e. Tune's scheduling and a trial process's start), then 'sweep' (start to last end)."""
    experiment = experiment if isinstance(experiment, Store) else Store(str(experiment))
    startup = experiment.read_json(STARTUP_FILE) if experiment.exists(STARTUP_FILE) else None
    trials = read_level(experiment, "trials").to_pandas()
    trials = trials[trials["timings"].notna()].sort_values("started_at")
    rows, last_end = [], None
    if startup:
        seconds = startup["seconds"]  # stored with sorted keys: shown in the order they ran
        ordered = [k for k in STARTUP_ORDER if k in seconds] + sorted(set(seconds) - set(STARTUP_ORDER))
        rows.append({"part": "start-up", **{k.replace("_", " "): seconds[k] for k in ordered},
                     "trial": sum(seconds.values())})
        last_end = pd.Timestamp(startup["tune_started_at"], unit="s", tz="UTC")
    for _, t in trials.iterrows():
        timings = json.loads(t["timings"])
        row = {"part": _label(t)}
        for col, key in COLUMNS:
            if key is not None and key in timings:
                row[col] = timings[key]
        started = pd.Timestamp(t["started_at"])
        if last_end is not None:
            row["waited"] = max(0.0, (started - last_end).total_seconds())
        row["results"] = timings.get("trial", 0.0) - sum(timings.get(k, 0.0) for k in ("mix", "train", "eval"))
        last_end = pd.Timestamp(t["finished_at"])
        rows.append(row)
    if startup and len(trials):
        total = (last_end - pd.Timestamp(startup["process_started_at"], unit="s", tz="UTC")).total_seconds()
        rows.append({"part": "sweep", "trial": total})
    if not rows:  # nothing recorded (an experiment from before these timings, or none finished)
        return pd.DataFrame(columns=["part"])
    table = pd.DataFrame(rows)
    order = ["part", *[c for c in table.columns if c not in dict(COLUMNS) and c != "part"],
             *[c for c, _ in COLUMNS if c in table.columns]]
    return table[order]


def _label(trial) -> str:
    point = "untuned" if pd.isna(trial["proportion"]) else f"{trial['proportion']:.0%} coding"
    return f"{trial['family']} {point} s{trial['seed']}"


def format_seconds(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its seconds as text ('' where a part has no such stage)."""
    return table.apply(lambda col: col if col.name == "part" else col.map(lambda v: "" if pd.isna(v) else f"{v:.1f}"))


def split_table(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the start-up row with its own columns, the trials and the sweep's total with theirs): two narrower tables."""
    trial_cols = ["part", *[c for c, _ in COLUMNS if c in table.columns]]
    first = table[table["part"] == "start-up"]
    startup = first[[c for c in table.columns if c not in trial_cols or c in ("part", "trial")]]
    return startup.rename(columns={"trial": "total"}), table[table["part"] != "start-up"][trial_cols]


def timing_section(doc, experiments) -> None:
    """The report's section: each experiment's stage table (experiments that recorded no timings are left out)."""
    tables = [(e.name, stage_table(e.path)) for e in experiments]
    tables = [(name, t) for name, t in tables if len(t)]
    if not tables:
        return
    doc.heading("Where the time went")
    doc.text("Seconds, wall time, on the machine that ran the sweep. Start-up: the driver's imports, preflight, the "
             "data stage (the labelled pool), Ray's start, Tune's set-up. Per trial: waited (Tune's scheduling and a "
             "trial process's start), its stages (train: the optimiser steps within it; eval: the engine's start or "
             "reuse, loading the tuned weights, the reasoning and answer passes, scoring) and writing its results.")
    for name, table in tables:
        if len(tables) > 1:
            doc.heading(name, 3)
        for part in split_table(table):
            if len(part):
                doc.table(format_seconds(part))
