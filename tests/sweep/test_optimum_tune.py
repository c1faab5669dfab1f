"""The optimum searcher through a real (tiny) Tune sweep: configs it proposes run, their counts come back."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sweep_helpers import driver, small_spec

pytestmark = [pytest.mark.slow(seconds=55), pytest.mark.timeout(900)]


def test_a_tiny_sweep_runs_the_optimum_searchers_first_design_and_stops_at_its_budget(tmp_path):
    spec = small_spec(tmp_path, "optimum", search={"searcher": "optimum", "proportion": {"min": 0.0, "max": 1.0},
                                                     "num_samples": 3, "metric": "overall", "target_width": 0.01},
                      eval={"backend": "hf"})  # the tiny twins' fastest backend
    assert driver(["run", str(spec)]) == 0
    trials = pq.read_table(tmp_path / "optimum" / "results" / "trials").to_pylist()
    assert sorted(t["proportion"] for t in trials) == [0.0, 0.5, 1.0]  # the ends and the middle come first
    assert {t["status"] for t in trials} == {"ok"}
    assert len(pq.read_table(tmp_path / "optimum" / "results.parquet")) == 3 * 3  # every trial's task scores
