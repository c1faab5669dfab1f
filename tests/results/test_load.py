"""Loading experiment folders: the layout, failed trials, merging and de-duplication, odd folders."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from results_fixture import (
    grid_correct,
    provenance,
    write_failed,
    write_level,
    write_trial,
)

from codemix.results.load import load_results


def test_grid_levels_and_failed_trial(grid):
    rs = load_results(grid)
    assert (len(rs.trials), len(rs.scores), len(rs.predictions)) == (7, 36, 360)  # the .tmp- file is not read
    assert list(rs.failed["family"]) == ["qwen"]
    assert rs.failed["error"].iloc[0].startswith("RuntimeError: CUDA out of memory")
    assert rs.families == ["llama", "mistral"] and rs.proportions == [0.0, 0.5, 1.0]
    [exp] = rs.experiments
    assert exp.name == "grid" and exp.spec["search"]["proportion"] == [0.0, 0.5, 1.0]
    assert (exp.n_trials, exp.n_failed) == (7, 1)
    assert rs.n_duplicates == 0 and rs.notes == []


def test_merge_deduplicates_identical_trials(grid, fine):
    rs = load_results([grid, fine])
    assert rs.n_duplicates == 1  # fine's copy of llama/0
    llama0 = rs.scores[(rs.scores.family == "llama") & (rs.scores.proportion == 0.0)]
    assert len(llama0) == 6 and set(llama0.sweep) == {"grid"}  # the copy with predictions is kept
    assert rs.experiments[1].spec is None
    assert len(rs.predictions[(rs.predictions.family == "llama") & (rs.predictions.proportion == 0.0)]) == 60


def test_a_finished_copy_supersedes_a_failure(tmp_path):
    write_failed(tmp_path / "a", provenance("a", "llama", 0.5), "OOM")
    write_trial(tmp_path / "b", provenance("b", "llama", 0.5), {"coin_flip": 3}, predictions=False)
    rs = load_results([tmp_path / "a", tmp_path / "b"])
    assert rs.failed.empty and rs.n_duplicates == 1 and len(rs.scores) == 1


def test_stale_and_orphan_scores_are_ignored(tmp_path):
    exp = tmp_path / "x"
    write_trial(exp, provenance("x", "llama", 0.0), {"coin_flip": 3}, predictions=False)
    stale = provenance("x", "llama", 0.5)  # scores of an earlier attempt, then the rerun failed
    write_trial(exp, stale, {"coin_flip": 9}, predictions=False)
    write_failed(exp, stale, "ValueError: boom")
    orphan = provenance("x", "llama", 1.0)  # scores but no trial row (killed between writes)
    write_level(exp, "scores", orphan, [{"task": "coin_flip", "domain": "symbolic", "accuracy": 1.0, "n": 10,
                                         "n_correct": 10}])
    rs = load_results(exp)
    assert list(rs.scores.proportion) == [0.0]
    assert len(rs.failed) == 1 and any("no trial row" in n for n in rs.notes)


def test_folder_with_only_results_parquet(tmp_path, grid):
    exp = tmp_path / "old"
    exp.mkdir()
    table = pd.concat(pd.read_parquet(p) for p in sorted((grid / "results" / "scores").glob("*.parquet")))
    table.to_parquet(exp / "results.parquet")
    rs = load_results(exp)
    assert len(rs.scores) == 36 and len(rs.trials) == 6 and set(rs.trials.status) == {"ok"}
    assert rs.predictions.empty and "correct" in rs.predictions.columns


def test_older_files_missing_a_column_load_with_nulls(tmp_path):
    exp = tmp_path / "older"
    write_trial(exp, provenance("older", "llama", 0.0), grid_correct("llama", 0.0), predictions=False)
    path = exp / "results" / "scores" / "key-llama-0.0-0.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["code_language", "corruption", "codemix_version"]), path)
    rs = load_results(exp)
    assert set(rs.scores.code_language) == {"any"} and set(rs.scores.corruption) == {0.0}
    assert rs.scores.codemix_version.isna().all()


def test_not_an_experiment(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a codemix experiment"):
        load_results(tmp_path)


def test_a_sweep_stopped_before_any_trial_finished(tmp_path):
    """What finish() reads after Ctrl-C during the first trial: an empty results.parquet and no trial rows."""
    from codemix.results.writer import collect_results
    from codemix.storage import Store

    exp = tmp_path / "stopped"
    exp.mkdir()
    assert collect_results(Store(str(exp))).num_rows == 0
    rs = load_results(exp, predictions=False)
    assert rs.trials.empty and rs.scores.empty and rs.failed.empty and rs.n_duplicates == 0
