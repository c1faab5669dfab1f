"""The Parquet files are readable without codemix: DuckDB and polars on the fixture, and the README's query."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from codemix.results import analysis
from codemix.results.load import load_results

README = Path(__file__).resolve().parents[2] / "codemix" / "results" / "README.md"


def readme_query() -> str:
    """The SQL block of the README that answers 'which proportion is best for each task'."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), re.DOTALL)
    [query] = [b for b in blocks if b.startswith("-- best proportion per task")]
    return query


def test_duckdb_reads_every_level(grid):
    con = duckdb.connect()
    n = {level: con.execute(f"SELECT count(*) FROM '{grid}/results/{level}/*.parquet'").fetchone()[0]
         for level in ("trials", "scores", "predictions")}
    assert n == {"trials": 7, "scores": 36, "predictions": 360}
    (overall,) = con.execute(f"SELECT avg(accuracy) FROM '{grid}/results/scores/*.parquet' "
                         "WHERE family = 'llama' AND proportion = 0.5").fetchone()
    assert overall == pytest.approx(31 / 60)
    (error,) = con.execute(f"SELECT error FROM '{grid}/results/trials/*.parquet' WHERE status = 'error'").fetchone()
    assert error.startswith("RuntimeError: CUDA out of memory")


def test_polars_overall_per_family_and_proportion(grid):
    overall = (pl.read_parquet(f"{grid}/results/scores/*.parquet")
               .group_by("family", "proportion").agg(pl.col("accuracy").mean().alias("overall"))
               .sort("family", "proportion"))
    assert overall["overall"].to_list() == pytest.approx([18 / 60, 31 / 60, 25 / 60, 22 / 60, 29 / 60, 31 / 60])
    preds = pl.read_parquet(f"{grid}/results/predictions/*.parquet")
    assert preds.filter(pl.col("correct")).height == 18 + 31 + 25 + 22 + 29 + 31
    assert preds.schema["correct"] == pl.Boolean and preds.schema["proportion"] == pl.Float64


def test_readme_best_proportion_query_matches_the_api(grid):
    query = readme_query().replace("runs/smoke", str(grid))
    best = duckdb.sql(query).df()
    assert len(best) == 12  # 2 families x 6 tasks
    llama = best[best.family == "llama"].set_index("task")
    assert llama.loc["coin_flip", "best_proportion"] == 0.5
    assert llama.loc["reverse_list", "best_proportion"] == 1.0
    assert llama.loc["clutrr", "best_proportion"] == 0.0  # tied with 0.5: the lowest
    api = analysis.best_proportions(load_results(grid), "task")
    got = {(r.family, r.task): r.best_proportion for r in best.itertuples()}
    assert got == {(r.family, r.scope): r.best_proportion for r in api.itertuples()}
