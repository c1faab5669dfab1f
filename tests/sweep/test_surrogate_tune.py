"""The surrogate search through a real (tiny) Tune sweep: the anchors fine-tune, the model between them is their
LoRA adapters stacked (trained nothing), evaluated as a trial of its own, marked in every table and kept out of
the real ones; a real trial follows. Killed as the interpolated model is made, the sweep resumes to the same tables
without redoing a stage."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from sweep_helpers import attempts, driver, small_spec, tables

from codemix.results import load_results

pytestmark = [pytest.mark.slow(seconds=115), pytest.mark.timeout(900)]

SEARCH = {"searcher": "surrogate", "proportion": [0.0, 0.5, 1.0], "num_samples": 3, "target_width": 0.01}
TRAIN = {"method": "lora", "lora": {"r": 4, "alpha": 8, "dropout": 0.0}}


def spec(root):
    return small_spec(root, "surrogate", search=SEARCH, train=TRAIN, eval={"backend": "hf"})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The surrogate sweep run once without interruption: its storage."""
    root = tmp_path_factory.mktemp("surrogate")
    assert driver(["run", str(spec(root))]) == 0
    return root


def test_the_model_between_the_anchors_is_their_stacked_adapters_evaluated_and_marked(uninterrupted):
    experiment = uninterrupted / "surrogate"
    trials = pq.read_table(experiment / "results" / "trials").to_pylist()
    assert {t["status"] for t in trials} == {"ok"}
    surrogate = [t for t in trials if t["anchors"]]
    real = [t for t in trials if not t["anchors"]]
    assert sorted(t["proportion"] for t in real) == [0.0, 0.5, 1.0]  # the anchors, then a real check
    assert len(surrogate) == 1 and surrogate[0]["proportion"] == 0.5 and surrogate[0]["anchors"] == [0.0, 1.0]
    s = surrogate[0]
    assert s["mix_hash"] is None and s["train_loss"] is None  # no mix, no training of its own
    assert json.loads(s["stages"]) == {"mix": "skipped", "train": "computed", "eval": "computed"}
    real_half = next(t for t in real if t["proportion"] == 0.5)
    assert s["eval_hash"] != real_half["eval_hash"] and s["train_hash"] != real_half["train_hash"]

    folder = uninterrupted / "_cache" / "interpolated" / s["train_hash"]
    assert json.loads((folder / "adapter_config.json").read_text())["r"] == 2 * TRAIN["lora"]["r"]
    made_from = json.loads((folder / "interpolation.json").read_text())
    anchors = {t["proportion"]: t["train_hash"] for t in real}
    assert [a.rsplit("/", 1)[-1] for a in made_from["anchors"]] == [anchors[0.0], anchors[1.0]]
    assert made_from["weights"] == [0.5, 0.5]

    scores = pq.read_table(experiment / "results" / "scores").to_pylist()
    assert {tuple(r["anchors"] or ()) for r in scores} == {(), (0.0, 1.0)}  # every level says which is which
    results = load_results([str(experiment)], predictions=True)
    assert sorted(results.trials["proportion"]) == [0.0, 0.5, 1.0]  # the tables and fits: real models only
    assert results.scores["anchors"].isna().all() and results.predictions["anchors"].isna().all()
    assert list(results.surrogate_trials["trial_key"]) == [s["trial_key"]]
    assert set(results.surrogate_scores["trial_key"]) == {s["trial_key"]}


def test_killed_while_the_model_between_the_anchors_is_made_the_sweep_resumes_to_the_same_tables(uninterrupted,
                                                                                                  tmp_path):
    """SIGKILL as the third trial (the interpolated model) reaches its interpolation, then resume: only that trial
    starts again, its anchors' fine-tunes come from the cache, and every table equals the uninterrupted run's."""
    experiment = tmp_path / "surrogate"
    assert driver(["run", str(spec(tmp_path))], kill_at="interpolate@3") < 0
    assert len(pq.read_table(experiment / "results" / "trials")) == 2  # the two anchors
    assert driver(["resume", str(experiment)]) == 0
    assert sorted(attempts(experiment).values()) == [1, 1, 1, 2]  # only the killed trial started again
    assert tables(experiment) == tables(uninterrupted / "surrogate")
