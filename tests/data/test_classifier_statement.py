"""Every registered classifier declares its measured accuracy on real ShareGPT, and the pool's report carries it
with the classifier's tag (fresh and from the cache), without the statement entering the pool's hash."""

from __future__ import annotations

import json
import re

import pytest

from codemix.data import pool_hash, prepare_pool
from codemix.data.audit import agreement
from codemix.data.classify import CLASSIFIERS, heuristic, make_classifier, measured_for_tag
from codemix.data.classify.llm import PROMPT_VERSION
from codemix.spec import ClassifierConfig, DataConfig

# The figures a statement may state, and the classifiers whose stated figures a test measures again on the
# held-out prompts: here (heuristic) and in tests/data/test_minilm.py (minilm, which needs its model).
FIGURES = re.compile(r"accuracy (0\.\d{3}), Cohen's κ (0\.\d{3}), coding recall (0\.\d{3}) / precision (0\.\d{3})")
REMEASURED = {"heuristic", "minilm"}


def stated(statement: str) -> tuple[float, ...] | None:
    """(accuracy, kappa, coding recall, coding precision) as a ``measured`` statement gives them."""
    found = FIGURES.search(statement)
    return tuple(float(x) for x in found.groups()) if found else None


def measured(truth: list[str], labels: list[str]) -> tuple[float, ...]:
    """The same four figures measured, to the statement's three decimals."""
    result = agreement(truth, labels)
    coding = result["per_class"]["coding"]
    return tuple(round(x, 3) for x in (result["accuracy"], result["kappa"], coding["recall"], coding["precision"]))


def _cfg(name: str, server=None, tmp_path=None) -> DataConfig:
    if name != "llm":
        return DataConfig(demo_size=30, classifier=ClassifierConfig(name=name))
    return DataConfig(demo_size=30, classifier=ClassifierConfig(
        name="llm", endpoint={"model": "fake-model", "base_url": server.url, "retries": 1, "backoff": 0.01},
        cache_dir=str(tmp_path / "labels")))


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_every_classifier_declares_what_was_measured_and_only_measured_figures(name):
    cls = CLASSIFIERS[name]
    assert "measured" in vars(cls), f"{name}: declares no `measured` statement of its own"
    # figures stated are figures a test measures again (a new classifier's come with that test)
    assert (stated(cls.measured) is not None) == (name in REMEASURED), cls.measured


def test_the_heuristic_states_what_it_measures_on_the_held_out_prompts(fresh_held_out):
    truth = [r["label"] for r, _ in fresh_held_out]
    labels = [heuristic.label(c["turns"]) for _, c in fresh_held_out]
    assert stated(CLASSIFIERS["heuristic"].measured) == measured(truth, labels)


def test_statement_found_from_a_tag():
    assert measured_for_tag(f"heuristic-{CLASSIFIERS['heuristic'].version}") == CLASSIFIERS["heuristic"].measured
    assert measured_for_tag(f"fallback:{CLASSIFIERS['heuristic'].name}-{CLASSIFIERS['heuristic'].version}") == \
        CLASSIFIERS["heuristic"].measured
    assert measured_for_tag(f"llm-v1:fake-model:{PROMPT_VERSION}") == CLASSIFIERS["llm"].measured
    assert measured_for_tag("minilm-v1") == CLASSIFIERS["minilm"].measured
    assert measured_for_tag("heuristic-v0") is None  # another version: not this code's statement
    assert measured_for_tag("nosuch-v1") is None


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_prepare_pool_report_carries_tag_and_statement(name, fake_openai, tmp_path, monkeypatch):
    if name == "llm":
        fake_openai.responder = lambda req: '{"label": "other"}'
    if name == "minilm":  # the statement's plumbing, not the model: label without loading it
        monkeypatch.setattr(CLASSIFIERS[name], "labels", lambda self, convs, report: ["other"] * len(convs))
    cfg = _cfg(name, fake_openai, tmp_path)
    classifier = make_classifier(cfg.classifier)
    want = {"name": name, "tag": classifier.tag, "measured": CLASSIFIERS[name].measured}
    table, h, report = prepare_pool(cfg, tmp_path / "cache")
    assert report["classifier"] == want and set(table.column("classifier").to_pylist()) == {classifier.tag}
    assert report["sources"] == ["demo"]
    on_disk = json.loads((tmp_path / "cache" / "pools" / h / "report.json").read_text())
    assert on_disk["classifier"] == want
    _, h2, cached = prepare_pool(cfg, tmp_path / "cache")
    assert h2 == h and cached == report
    if name == "llm":
        assert want["tag"] == f"llm-v1:fake-model:{PROMPT_VERSION}"


def test_statement_is_not_in_the_pool_hash_and_an_old_cached_report_gains_it(tmp_path, monkeypatch):
    cfg = DataConfig(demo_size=30)
    _, h, _ = prepare_pool(cfg, tmp_path)
    folder = tmp_path / "pools" / h
    old = {k: v for k, v in json.loads((folder / "report.json").read_text()).items() if k != "classifier"}
    (folder / "report.json").write_text(json.dumps(old))  # a pool cached before reports named the classifier
    monkeypatch.setattr(CLASSIFIERS["heuristic"], "measured", "remeasured: accuracy 0.9 on real ShareGPT")
    assert pool_hash(cfg) == h  # restating the measurement reuses the pool
    _, h2, report = prepare_pool(cfg, tmp_path)
    assert h2 == h and report["classifier"] == {"name": "heuristic", "tag": make_classifier(cfg.classifier).tag,
                                                "measured": "remeasured: accuracy 0.9 on real ShareGPT"}
