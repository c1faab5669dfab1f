"""Every registered classifier declares its measured accuracy on real ShareGPT, and the pool's report carries it
with the classifier's tag (fresh and from the cache), without the statement entering the pool's hash."""

from __future__ import annotations

import json
import re

import pytest

from codemix.config import ClassifierConfig, DataConfig
from codemix.data import pool_hash, prepare_pool
from codemix.data.classify import CLASSIFIERS, make_classifier, measured_for_tag
from codemix.data.classify.llm import PROMPT_VERSION

# tests/data/test_minilm.py and tests/data/fixtures/README.md: measured once on split heldout2 (300 prompts)
FIGURES = {"heuristic": ("0.897", "κ 0.776", "recall 0.780 / precision 0.988"),
           "minilm": ("0.913", "κ 0.816", "recall 0.844 / precision 0.920")}


def _cfg(name: str, server=None, tmp_path=None) -> DataConfig:
    if name != "llm":
        return DataConfig(demo_size=30, classifier=ClassifierConfig(name=name))
    return DataConfig(demo_size=30, classifier=ClassifierConfig(
        name="llm", endpoint={"model": "fake-model", "base_url": server.url, "retries": 1, "backoff": 0.01},
        cache_dir=str(tmp_path / "labels")))


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_every_classifier_declares_its_measured_accuracy(name):
    cls = CLASSIFIERS[name]
    assert "measured" in vars(cls), f"{name}: declares no `measured` statement of its own"
    statement = cls.measured
    assert isinstance(statement, str) and len(statement) > 40 and "ShareGPT" in statement
    if name in FIGURES:
        assert all(figure in statement for figure in FIGURES[name]), statement
        assert "300 hand-labelled real ShareGPT prompts" in statement and "heldout2" in statement
    else:  # no figure of its own: it must say so, and why
        assert "not measured" in statement and "model" in statement and not re.search(r"accuracy 0\.\d", statement)


def test_the_llm_statement_says_accuracy_depends_on_the_endpoint_model():
    statement = CLASSIFIERS["llm"].measured
    assert "depends" in statement or "differs from model to model" in statement
    assert PROMPT_VERSION in statement


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
