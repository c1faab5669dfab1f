"""The objective: the metric language over score rows, and the summary a trial reports to Tune read back as the
counts the search policies fit."""

from __future__ import annotations

import pytest

from codemix.search.objective import OBJECTIVE, metric_scope, score_counts, search_score, trial_counts, trial_summary

SCORES = [{"task": "coin_flip", "domain": "symbolic", "accuracy": 0.5, "n": 40, "n_correct": 20},
          {"task": "last_letter_concat", "domain": "symbolic", "accuracy": 0.25, "n": 40, "n_correct": 10},
          {"task": "multiarith", "domain": "arithmetic", "accuracy": 0.9, "n": 20, "n_correct": 18}]


def test_the_metric_averages_the_task_accuracies_of_its_scope():
    assert search_score(SCORES, "overall") == pytest.approx((0.5 + 0.25 + 0.9) / 3)
    assert search_score(SCORES, "domain:symbolic") == pytest.approx((0.5 + 0.25) / 2)  # tasks, not examples
    assert search_score(SCORES, "task:multiarith") == 0.9
    with pytest.raises(ValueError, match="'domain:logical' matches no evaluated task"):
        search_score(SCORES, "domain:logical")
    assert [metric_scope(m) for m in ("overall", "domain:symbolic", "task:gsm8k")] == [
        ("overall", "overall"), ("domain", "symbolic"), ("task", "gsm8k")]


def test_what_a_trial_reports_reads_back_as_the_counts_of_its_score_rows():
    trial = {"overall_accuracy": 0.55, "train_loss": 1.5, "stages": "{}"}
    summary = trial_summary(trial, SCORES, "domain:symbolic")
    assert summary[OBJECTIVE] == pytest.approx(0.375)
    assert summary["domain/symbolic"] == pytest.approx(0.375) and summary["domain/arithmetic"] == 0.9
    scope = ["coin_flip", "last_letter_concat"]
    assert trial_counts(summary, scope, limit=None) == score_counts(SCORES, scope) == {
        "coin_flip": (20, 40), "last_letter_concat": (10, 40)}


def test_an_accuracy_without_counts_needs_the_eval_limit():
    assert trial_counts({"task/coin_flip": 0.3}, ["coin_flip", "multiarith"], limit=10) == {"coin_flip": (3, 10)}
    with pytest.raises(ValueError, match="eval.limit is not set"):
        trial_counts({"task/coin_flip": 0.3}, ["coin_flip"], limit=None)
