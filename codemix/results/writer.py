"""Write one trial's result tables, and collect a sweep's scores into results.parquet."""

from __future__ import annotations

import pyarrow as pa

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


def read_level(experiment: Store, level: str) -> pa.Table:
    """Concatenate every trial's file at one level (an empty table with the schema if none)."""
    schema = LEVELS[level]
    names = experiment.list(f"results/{level}", suffix=".parquet")
    tables = [_conform(experiment.read_parquet(f"results/{level}/{n}"), schema) for n in names]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def collect_results(experiment: Store) -> pa.Table:
    """Write results.parquet (one row per trial x task, in a stable order) and return it."""
    scores = read_level(experiment, "scores")
    if scores.num_rows:
        scores = scores.sort_by([("family", "ascending"), ("proportion", "ascending"), ("seed", "ascending"),
                                 ("code_language", "ascending"), ("corruption", "ascending"),
                                 ("task", "ascending")])
    experiment.write_parquet("results.parquet", scores.cast(SCORES_SCHEMA))
    return scores


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast to the current schema; columns added since the file was written come back as nulls."""
    columns = [table.column(f.name).cast(f.type) if f.name in table.column_names
               else pa.nulls(table.num_rows, f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)
