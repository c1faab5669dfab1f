"""Write one trial's result tables, and collect a sweep's scores into results.parquet."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds

from codemix.results.layout import RESULTS_FILE
from codemix.results.schema import LEVELS, SCORES_SCHEMA
from codemix.storage import Store


def results_key(level: str, trial_key: str) -> str:
    """Key of a trial's file at one level, relative to the experiment folder."""
    return f"results/{level}/{trial_key}.parquet"


def write_trial_results(experiment: Store, trial_key: str, provenance: dict, trial: dict,
                        scores: list[dict] | None = None, predictions: list[dict] | None = None) -> None:
    """Write the trial's rows at each level; provenance columns are added to every row.

    Predictions and scores are written before the trial row, so a trial row (the marker that the
    trial finished) never points at missing details.
    """
    for level, rows in (("predictions", predictions), ("scores", scores), ("trials", [trial])):
        if rows is None:
            continue
        schema = LEVELS[level]
        full = [{**{f.name: None for f in schema}, **row, **provenance} for row in rows]
        experiment.write_parquet(results_key(level, trial_key), pa.Table.from_pylist(full, schema=schema))


def read_level(experiment: Store, level: str, columns: list[str] | None = None) -> pa.Table:
    """Every trial's file at one level as one table of the level's schema (an empty one if none).

    Columns added to the schema since a file was written come back null; half-written temporary files
    are never read. A folder holding only the collected ``results.parquet`` yields it as its scores.
    """
    schema = LEVELS[level]
    keys = [results_key(level, n.removesuffix(".parquet")) for n in experiment.list(f"results/{level}", ".parquet")]
    if not keys and level == "scores" and experiment.exists(RESULTS_FILE):
        keys = [RESULTS_FILE]
    if not keys:
        table = schema.empty_table()
        return table.select(columns) if columns else table
    return ds.dataset([experiment.path(k) for k in keys], schema=schema, format="parquet",
                      filesystem=experiment.fs).to_table(columns=columns)


def experiments_in(store: Store) -> list[str]:
    """Names of the experiment folders directly under a storage root (those holding trial results), sorted."""
    return [name for name in store.list_dirs("") if not name.startswith(("_", "."))
            and store.exists(name, "results", "trials")]


def collect_results(experiment: Store) -> pa.Table:
    """Write results.parquet (one row per trial x task, in a stable order) and return it."""
    scores = read_level(experiment, "scores")
    if scores.num_rows:
        scores = scores.sort_by([("family", "ascending"), ("proportion", "ascending"), ("seed", "ascending"),
                                 ("code_language", "ascending"), ("corruption", "ascending"),
                                 ("task", "ascending")])
    experiment.write_parquet(RESULTS_FILE, scores.cast(SCORES_SCHEMA))
    return scores
