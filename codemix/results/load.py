"""Load the result tables of one or more experiments into pandas, one copy of each trial.

    rs = load_results(["runs/paper", "runs/fine_grained"])
    rs.scores        # one row per trial x task (trials that finished)
    rs.predictions   # one row per trial x example (may be empty: the level is optional)
    rs.trials        # one row per trial, failed ones included (status, error)

Identical trials (same family, model_id, mix_hash, train_hash and eval_hash) met in several
experiments are kept once: a finished copy beats a failed one, then the latest wins.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from codemix.results.layout import RESULTS_FILE, SPEC_FILE
from codemix.results.schema import LEVELS, PROVENANCE_FIELDS
from codemix.results.writer import read_level
from codemix.storage import Store

log = logging.getLogger("codemix")

IDENTITY = ["family", "model_id", "mix_hash", "train_hash", "eval_hash"]  # same values = same trial
TRIAL = ["sweep", "trial_key"]  # the key of one trial's files
# The prediction columns analysis needs; prompts and outputs stay on disk.
PREDICTION_COLUMNS = [f.name for f in PROVENANCE_FIELDS] + ["task", "domain", "example_id", "correct"]


@dataclass
class Experiment:
    """One experiment folder as loaded: where, its name, its spec (None when spec.yaml is absent)."""

    path: str
    name: str
    spec: dict | None
    config: dict | None = None  # a trial's resolved config (the spec without its search section)
    n_trials: int = 0
    n_failed: int = 0
    families: list[str] = field(default_factory=list)
    proportions: list[float] = field(default_factory=list)
    untuned: bool = False  # the experiment evaluated untuned starting models
    seeds: list[int] = field(default_factory=list)

    @property
    def searcher(self) -> str:
        """Who chose the experiment's points: 'grid', or the searcher its spec names."""
        return (self.spec or {}).get("search", {}).get("searcher", "grid")


@dataclass
class ResultSet:
    """The de-duplicated tables of one or more experiments (pandas DataFrames)."""

    trials: pd.DataFrame  # trials at full fidelity (every trial of a grid or a searcher other than 'halving')
    scores: pd.DataFrame
    predictions: pd.DataFrame
    experiments: list[Experiment] = field(default_factory=list)
    # successive-halving rungs below full fidelity: their trials and scores, kept out of every table and fit above
    # (a model trained on part of the steps is not comparable with one trained on all of them)
    low_trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    low_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    # models interpolated in weight space between fine-tuned anchors (``anchors`` set; search.searcher 'surrogate'):
    # their trials and scores, kept out of every table and fit above (no model of theirs was trained on its mix)
    surrogate_trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    surrogate_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_duplicates: int = 0  # trials dropped because an identical one was kept
    notes: list[str] = field(default_factory=list)  # oddities met while loading, for the report

    @property
    def failed(self) -> pd.DataFrame:
        """Trials that ended in an error (and were not superseded by a finished identical trial)."""
        return self.trials[self.trials["status"] != "ok"]

    @property
    def families(self) -> list[str]:
        return sorted(self.scores["family"].unique())

    @property
    def proportions(self) -> list[float]:
        """The coding proportions with scores (the untuned reference, a null proportion, left out)."""
        return sorted(self.scores["proportion"].dropna().unique())


def _read_level(experiment: Store, level: str, columns: list[str] | None = None) -> pd.DataFrame:
    """All trial files of one level as one normalised DataFrame (see ``writer.read_level``)."""
    return _normalise(read_level(experiment, level, columns))


def _normalise(table: pa.Table) -> pd.DataFrame:
    """pandas, with proportions rounded (0.30000000000000004) and the sweep-dimension defaults filled."""
    df = table.to_pandas()
    if "proportion" in df:
        df["proportion"] = df["proportion"].astype(float).round(6)
    if "code_language" in df:
        df["code_language"] = df["code_language"].fillna("any")
    if "corruption" in df:
        df["corruption"] = df["corruption"].astype(float).fillna(0.0)
    if "fidelity" in df:
        df["fidelity"] = df["fidelity"].astype(float).fillna(1.0)
    return df


def _identity(trials: pd.DataFrame) -> pd.Series:
    """A string per trial naming what it computed; trials without all three hashes are only equal to themselves."""
    if trials.empty:  # agg over no rows gives a DataFrame, not a Series
        return pd.Series([], index=trials.index, dtype=object)
    hashes = trials[["train_hash", "eval_hash"]]  # an untuned trial has no mix_hash
    full = trials[IDENTITY].map(str).agg("|".join, axis=1)  # map: astype(str) keeps a missing mix_hash NaN
    own = "trial:" + trials["sweep"].astype(str) + "/" + trials["trial_key"].astype(str)
    return full.where(hashes.notna().all(axis=1), own)


def _open(path: str | Path) -> tuple[Store, Experiment]:
    experiment = Store(path)
    if not (experiment.exists("results") or experiment.exists(RESULTS_FILE)):
        raise FileNotFoundError(f"{path}: no results/ folder or results.parquet — not a codemix experiment folder?")
    spec = yaml.safe_load(experiment.read_bytes(SPEC_FILE)) if experiment.exists(SPEC_FILE) else None
    name = (spec or {}).get("name") or str(path).rstrip("/").rsplit("/", 1)[-1]
    return experiment, Experiment(path=experiment.url(), name=name, spec=spec)


def load_results(paths: str | Path | list[str | Path], predictions: bool = True) -> ResultSet:
    """Read the trials, scores and (optionally) predictions of experiment folders (local or URIs).

    Identical trials across experiments are de-duplicated by their hashes (see ``IDENTITY``).
    Scores of a trial with no trial row (interrupted between writes) or with a failed one are dropped.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("load_results: no experiment given")
    experiments, trials, scores, preds, notes = [], [], [], [], []
    for path in paths:
        exp, t, s, p = _read_experiment(path, predictions, notes)
        experiments.append(exp)
        trials.append(t), scores.append(s), preds.append(p)
    trials = pd.concat(trials, ignore_index=True).drop_duplicates(TRIAL, keep="last")
    scores = pd.concat(scores, ignore_index=True)
    preds = pd.concat(preds, ignore_index=True) if predictions else _read_empty("predictions", PREDICTION_COLUMNS)
    kept, n_duplicates = _one_per_identity(trials, scores, preds)

    ok = kept[kept["status"] == "ok"].set_index(TRIAL).index
    in_scores = scores.set_index(TRIAL).index
    orphans = set(in_scores) - set(trials.set_index(TRIAL).index)
    if orphans:
        notes.append(f"{len(orphans)} trial(s) have scores but no trial row (interrupted?); their scores are ignored")
    scores = scores[in_scores.isin(ok)].reset_index(drop=True)
    if not preds.empty:
        preds = preds[preds.set_index(TRIAL).index.isin(ok)].reset_index(drop=True)
    models = kept.groupby("family")["model_id"].nunique()
    for family in models[models > 1].index:
        ids = sorted(kept.loc[kept.family == family, "model_id"].dropna().unique())
        notes.append(f"family {family!r} has several model_ids ({', '.join(ids)}): they are pooled in the tables")
    surrogate, low = interpolated(kept), (kept["fidelity"] < 1.0) & ~interpolated(kept)
    if low.any():
        notes.append(f"{int(low.sum())} trial(s) ran below full fidelity (successive-halving rungs): they are "
                     "reported in their own section, not in the tables or fits")
    if surrogate.any():
        notes.append(f"{int(surrogate.sum())} trial(s) evaluated models interpolated between fine-tunes (a "
                     "surrogate search): they are reported in their own section, not in the tables or fits")

    def real(df: pd.DataFrame) -> pd.DataFrame:
        keep = ~interpolated(df) & (df["fidelity"] >= 1.0) if "fidelity" in df else ~interpolated(df)
        return df[keep].reset_index(drop=True)

    return ResultSet(trials=kept[~low & ~surrogate].reset_index(drop=True), scores=real(scores),
                     predictions=real(preds), experiments=experiments, n_duplicates=n_duplicates, notes=notes,
                     low_trials=kept[low].reset_index(drop=True),
                     low_scores=scores[(scores["fidelity"] < 1.0) & ~interpolated(scores)].reset_index(drop=True),
                     surrogate_trials=kept[surrogate].reset_index(drop=True),
                     surrogate_scores=scores[interpolated(scores)].reset_index(drop=True))


def interpolated(df: pd.DataFrame) -> pd.Series:
    """Which rows are of interpolated models (``anchors`` set); all False for tables without the column."""
    if "anchors" not in df:
        return pd.Series(False, index=df.index)
    return df["anchors"].map(lambda a: isinstance(a, (list, tuple, np.ndarray)) and len(a) > 0).astype(bool)


def _read_experiment(path: str | Path, predictions: bool, notes: list[str]):
    """One experiment folder: its description and its trials, scores and (optionally) predictions."""
    store, exp = _open(path)
    t, s = _read_level(store, "trials"), _read_level(store, "scores")
    p = _read_level(store, "predictions", PREDICTION_COLUMNS) if predictions else None
    if t.empty and not s.empty:  # only results.parquet: every trial in it finished
        t = s.drop_duplicates(TRIAL)[[c for c in s.columns if c in t.columns]].assign(status="ok")
        notes.append(f"{exp.name}: no trial rows; trials taken from the scores")
    exp.n_trials, exp.n_failed = len(t), int((t["status"] != "ok").sum())
    exp.families, exp.seeds = sorted(t["family"].unique()), sorted(int(x) for x in t["seed"].unique())
    exp.proportions = sorted(float(x) for x in t.loc[~interpolated(t), "proportion"].unique() if pd.notna(x))
    exp.untuned = bool(t["proportion"].isna().any())
    configs = t["config"].dropna() if "config" in t else []
    exp.config = _json(configs.iloc[0]) if len(configs) else None
    log.info("%s: %d trials, %d scores, %d predictions", exp.path, len(t), len(s), 0 if p is None else len(p))
    return exp, t, s, p


def _one_per_identity(trials: pd.DataFrame, scores: pd.DataFrame, preds: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One trial per identity (finished first, then with scores, then with predictions, then the latest),
    in a stable order; and how many were dropped."""
    key = trials.set_index(TRIAL).index
    trials = trials.assign(_ok=trials["status"].eq("ok"), _scored=key.isin(scores.set_index(TRIAL).index),
                           _predicted=key.isin(preds.set_index(TRIAL).index), _identity=_identity(trials))
    trials = trials.sort_values(["_ok", "_scored", "_predicted", "finished_at"], na_position="first", kind="stable")
    kept = trials.drop_duplicates("_identity", keep="last")
    kept = kept.drop(columns=["_ok", "_scored", "_predicted", "_identity"]).sort_values(
        ["family", "proportion", "code_language", "corruption", "seed"], kind="stable",
        na_position="first").reset_index(drop=True)
    return kept, len(trials) - len(kept)


def _json(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None


def _read_empty(level: str, columns: list[str]) -> pd.DataFrame:
    return _normalise(LEVELS[level].empty_table().select(columns))
