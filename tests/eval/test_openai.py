"""The openai generation backend and the LLM answer extractor, against the loopback fake server."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from codemix.endpoints import EndpointError
from codemix.eval import (
    CascadeExtractor,
    Example,
    LLMExtractor,
    RulesExtractor,
    build_messages,
    get_task,
    make_extractor,
    score_many,
    score_output,
)
from codemix.eval.backends.openai_backend import OpenAIGenerator
from codemix.eval.cli import app
from codemix.eval.llm_extract import parse_reply
from codemix.spec import EvalConfig


def _batch(n: int) -> dict:
    task = get_task("multiarith")
    rows = [json.dumps(build_messages(task, ex)) for ex in task.load(None, n, 0)]
    return {"messages": np.array(rows, dtype=object), "example_id": np.arange(n)}


def test_backend_adds_outputs_in_order_with_bounded_concurrency(fake_openai, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "sk-test-secret")
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def responder(request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return "Reply to: " + request["messages"][-1]["content"][:30]

    fake_openai.responder = responder
    gen = OpenAIGenerator(base_url=fake_openai.url, model="tiny-chat", api_key_env="CODEMIX_TEST_KEY", concurrency=3,
                          max_retries=2, sampling={"temperature": 0.0, "max_new_tokens": 64, "stop": ["\nQ:"]})
    batch = _batch(9)
    out = gen(dict(batch))
    assert list(out["example_id"]) == list(range(9))  # other columns pass through
    for messages, output in zip(batch["messages"], out["output"]):
        assert output == ("Reply to: " + json.loads(messages)[-1]["content"][:30]).strip()
    assert 2 <= state["max"] <= 3
    req = fake_openai.requests[0]
    assert req["model"] == "tiny-chat" and req["temperature"] == 0.0 and req["max_tokens"] == 64
    assert req["stop"] == ["\nQ:"] and req["messages"][0]["role"] == "user"
    headers = {k.lower(): v for k, v in fake_openai.headers[0].items()}
    assert headers["authorization"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in repr(gen.client)


def test_backend_retries_rate_limits_and_reports_failures(fake_openai, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    fake_openai.responder = lambda r: "The answer is 4."
    fake_openai.fail_first, fake_openai.fail_status, fake_openai.retry_after = 2, 429, 0.01
    gen = OpenAIGenerator(fake_openai.url, "m", "CODEMIX_TEST_KEY", concurrency=1, max_retries=3, sampling={})
    out = gen(_batch(3))
    assert list(out["output"]) == ["The answer is 4."] * 3 and fake_openai.count == 5
    fake_openai.count, fake_openai.fail_first, fake_openai.fail_status = 0, 100, 500
    gen = OpenAIGenerator(fake_openai.url, "m", "CODEMIX_TEST_KEY", concurrency=1, max_retries=0, sampling={},
                          total=4)
    with pytest.raises(EndpointError) as err:  # a failing endpoint must not yield empty outputs
        gen(_batch(2))
    assert err.value.kind == "too_many_failures" and fake_openai.count == 1  # the second request was not sent
    assert str(err.value).startswith("openai backend stopped: 1 of the stage's 4 requests still failed after "
                                     "their retries (max_failure_share 0 allows 0); the last: HTTP 500")


def test_backend_failures_within_the_share_of_the_stage_are_empty_outputs(fake_openai, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    fake_openai.responder = lambda r: "The answer is 4."
    fake_openai.fail_when = lambda r: 503 if len(fake_openai.requests) in (2, 5) else None
    gen = OpenAIGenerator(fake_openai.url, "m", "CODEMIX_TEST_KEY", concurrency=1, max_retries=0, sampling={},
                          max_failure_share=0.25, total=8)  # 2 of the stage's 8 may fail, over all its batches
    assert list(gen(_batch(4))["output"]) == ["The answer is 4.", "", "The answer is 4.", "The answer is 4."]
    with pytest.raises(EndpointError, match="3 of the stage's 8 requests"):
        fake_openai.fail_when = lambda r: 503 if len(fake_openai.requests) in (5, 6) else None
        gen(_batch(4))


def test_backend_stops_at_once_on_a_rejected_key_or_unknown_model(fake_openai, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "sk-backend-secret-9")
    for status, says in ((401, "rejected the credentials (HTTP 401"), (404, "unknown model or path (HTTP 404")):
        fake_openai.count, fake_openai.fail_when = 0, lambda r, s=status: s
        gen = OpenAIGenerator(fake_openai.url, "tiny-chat", "CODEMIX_TEST_KEY", concurrency=2, sampling={},
                              max_failure_share=1.0)  # no share covers what cannot heal
        with pytest.raises(EndpointError) as err:
            gen(_batch(6))
        assert says in str(err.value) and fake_openai.count <= 2 and "sk-backend-secret" not in str(err.value)
        assert str(err.value).startswith("openai backend stopped") and "model 'tiny-chat'" in str(err.value)


def test_llm_extractor_failures_stop_or_count_as_no_answer(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    fake_openai.responder = lambda r: "7"
    fake_openai.fail_when = lambda r: 404
    ex = LLMExtractor(model="judge", base_url=fake_openai.url, api_key_env="CODEMIX_TEST_KEY",
                      cache=tmp_path / "x.sqlite", max_retries=0)
    with pytest.raises(EndpointError, match=r"^llm extractor stopped: unknown model or path \(HTTP 404"):
        ex.extract_many([("number", "so 7", None), ("number", "so 8", None)])
    fake_openai.fail_when = lambda r: 503 if "so 8" in r["messages"][-1]["content"] else None
    with pytest.raises(EndpointError, match="1 of the stage's 2 requests"):  # default share 0: none may fail
        ex.extract_many([("number", "so 7", None), ("number", "so 8", None)])
    tolerant = LLMExtractor(model="judge", base_url=fake_openai.url, api_key_env="CODEMIX_TEST_KEY",
                            cache=tmp_path / "x.sqlite", max_retries=0, max_failure_share=0.5)
    assert tolerant.extract_many([("number", "so 7", None), ("number", "so 8", None)]) == [
        ("7", "llm"), (None, "llm:failed")]  # the failure is no answer, and says so


def _llm(fake_openai, tmp_path, name="x") -> LLMExtractor:
    return LLMExtractor(model="judge", cache=tmp_path / f"{name}.sqlite", base_url=fake_openai.url,
                        api_key_env="CODEMIX_TEST_KEY", max_retries=0)


def test_llm_extractor_reads_replies_and_caches(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    fake_openai.responder = lambda r: "$1,200." if "interest" in r["messages"][-1]["content"] else "NONE"
    ex = _llm(fake_openai, tmp_path)
    assert ex.extract("number", "The interest comes to twelve hundred.") == "1200"
    assert ex.extract("number", "I am not sure.") is None
    assert ex.extract("number", "The interest comes to twelve hundred.") == "1200"
    assert fake_openai.count == 2  # the repeat came from the cache
    first = fake_openai.requests[0]
    assert first["temperature"] == 0 and "twelve hundred" in first["messages"][-1]["content"]
    assert parse_reply("option", "(C)", None) == "C" and parse_reply("option", "NONE", None) is None
    assert parse_reply("word", "Grandson.", ("son", "grandson")) == "grandson"


def test_cascade_asks_the_llm_only_where_rules_find_nothing(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    fake_openai.responder = lambda r: "yes"
    llm = _llm(fake_openai, tmp_path, "c")
    cascade = CascadeExtractor(llm)
    task, ex = get_task("coin_flip"), Example(id="1", question="q", gold="yes")
    assert score_output(task, ex, "Two flips, so the answer is yes.", cascade) == ("yes", True, "rules")
    assert fake_openai.count == 0
    assert score_output(task, ex, "Even number of flips, so heads remains on top.", cascade) == ("yes", True, "llm")
    assert score_output(task, ex, "The answer is no.", llm) == ("yes", True, "llm")  # the (scripted) LLM decides
    assert fake_openai.count == 2
    outputs = ["The answer is no.", "Heads remains on top.", "Heads remains on top."]
    scored = score_many([(task, ex, o) for o in outputs], cascade)
    assert scored == [("no", False, "rules"), ("yes", True, "llm"), ("yes", True, "llm")]
    assert fake_openai.count == 3  # one new output; its repeat and the earlier one come from the cache


def test_cascade_with_a_failing_llm_stops_or_scores_no_answer_never_a_guess(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    fake_openai.fail_first, fake_openai.fail_status = 100, 500
    cascade = CascadeExtractor(_llm(fake_openai, tmp_path, "f"))
    task, ex = get_task("coin_flip"), Example(id="1", question="q", gold="yes")
    assert score_output(task, ex, "The answer is yes.", cascade) == ("yes", True, "rules")  # no request needed
    outputs = [(task, ex, "Heads remains on top."), (task, ex, "It lands on its edge.")]
    with pytest.raises(EndpointError, match=r"^llm extractor stopped: [12] of the stage's 2 requests still failed"):
        score_many(outputs, cascade)  # default share 0: any failure stops it (both may be in flight at once)
    tolerant = CascadeExtractor(LLMExtractor(model="judge", cache=tmp_path / "f.sqlite", base_url=fake_openai.url,
                                             api_key_env="CODEMIX_TEST_KEY", max_retries=0, max_failure_share=1.0))
    assert score_many(outputs, tolerant) == [(None, False, "llm:failed")] * 2  # counted wrong, marked as failed


def test_extractor_is_built_from_the_eval_config(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    fake_openai.responder = lambda r: "4"
    cfg = EvalConfig(extractor="cascade", extractor_cache=str(tmp_path / "cfg.sqlite"), extractor_endpoint={
        "model": "judge-2", "base_url": fake_openai.url, "api_key_env": "CODEMIX_TEST_KEY"})
    extractor = make_extractor(cfg)
    assert isinstance(extractor, CascadeExtractor) and isinstance(make_extractor(cfg, "rules"), RulesExtractor)
    assert extractor.extract_many([("number", "I have no idea.", None)]) == [("4", "llm")]
    assert fake_openai.requests[0]["model"] == "judge-2" and (tmp_path / "cfg.sqlite").exists()
    with pytest.raises(ValueError, match="unknown extractor 'regex'"):
        make_extractor(cfg, "regex")


def test_agreement_cli_re_extracts_as_the_sweep_scores(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_TEST_KEY", "k")
    aqua = ["A)$61", "B)$65", "C)$67.40", "D)$70", "E)$78.20"]
    rows = [{"task": "multiarith", "output": "So 3 + 4 = 7. The answer is 7.", "extracted": "7", "gold": "7"},
            {"task": "multiarith", "output": "Hmm, no idea.", "extracted": None, "gold": "2"},
            {"task": "coin_flip", "output": "The coin is tails up.", "extracted": "yes", "gold": "no"},
            {"task": "aqua", "output": "So the original price was $78.20.", "extracted": "E", "gold": "E",
             "choices": aqua}]  # only the options say that $78.20 is E
    rows = [{"choices": None, **r} for r in rows]
    path = tmp_path / "predictions.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    runner = CliRunner()
    result = runner.invoke(app, ["agreement", str(path), "--a", "rules", "--b", "stored"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "75.0%" in result.output  # 3 of 4 agree (the stored coin_flip extraction was wrong)
    fake_openai.responder = lambda r: "7" if "3 + 4" in r["messages"][-1]["content"] else "NONE"
    result = runner.invoke(app, ["agreement", str(path), "--a", "rules", "--b", "llm", "--model", "judge",
                                 "--base-url", fake_openai.url, "--api-key-env", "CODEMIX_TEST_KEY"],
                           env={"COLUMNS": "120", "CODEMIX_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0, result.output
    assert "50.0%" in result.output and fake_openai.count == 4  # the scripted LLM answers NONE for coin and aqua
    assert fake_openai.requests[0]["model"] == "judge" and (tmp_path / "home" / "_cache" / "extract.sqlite").exists()
    fake_openai.fail_when = lambda r: 401
    result = runner.invoke(app, ["agreement", str(path), "--a", "rules", "--b", "llm", "--model", "judge",
                                 "--base-url", fake_openai.url, "--api-key-env", "CODEMIX_TEST_KEY"],
                           env={"COLUMNS": "120", "CODEMIX_HOME": str(tmp_path / "home2")})
    assert result.exit_code == 2 and "llm extractor stopped: the endpoint rejected the credentials (HTTP 401" in \
        " ".join(result.output.split())
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"x": [1]}), bad)
    result = runner.invoke(app, ["agreement", str(bad)])
    assert result.exit_code == 2 and "missing column(s) output, task" in result.output
    old = tmp_path / "old.parquet"  # predictions written before the options were stored
    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "choices"} for r in rows]), old)
    result = runner.invoke(app, ["agreement", str(old), "--a", "rules", "--b", "stored"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "1 option-task row(s) have no 'choices' (first: row 3)" in result.output


def test_tasks_cli_lists_every_task_once_with_its_domain_and_type_and_every_suite():
    from codemix.eval import SUITES, get_task, list_tasks

    result = CliRunner().invoke(app, ["tasks"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    rows = [[cell.strip() for cell in line.split("│")[1:4]] for line in result.output.splitlines()
            if line.count("│") > 4]
    tasks = {name: (get_task(name).domain, get_task(name).answer_type) for name in list_tasks()}
    assert sorted((name, domain, kind) for name, domain, kind in rows if name in tasks) == \
        sorted((name, *v) for name, v in tasks.items())  # each task once, as registered
    suites = [line for line in result.output.splitlines() if line.startswith("suite ")]
    assert suites == [f"suite {s} ({len(names)}): {', '.join(names)}" for s, names in sorted(SUITES.items())]


def test_openai_backend_through_ray_data_with_the_configured_retries_and_a_clear_stop(fake_openai, ray_cluster):
    from codemix.eval.runner import build_prompts, generate
    from codemix.spec import EvalConfig, ModelConfig

    fake_openai.fail_first, fake_openai.fail_status = 2, 429  # a burst, retried (openai_endpoint.retries 2) ...
    fake_openai.fail_when = lambda r: 401  # ... then a rejected key, which stops the stage at once
    cfg = EvalConfig(suite=["multiarith"], limit=6, backend="openai", batch_size=4, openai_endpoint={
        "model": "served", "base_url": fake_openai.url, "api_key_env": "CODEMIX_TEST_KEY", "retries": 2,
        "backoff": 0.01})
    with pytest.raises(Exception) as err:  # Ray Data wraps the actor's EndpointError; its message comes through
        generate(build_prompts(cfg), "ckpt", cfg, ModelConfig())
    message = str(err.value)
    assert "openai backend stopped: the endpoint rejected the credentials (HTTP 401; not retried)" in message
    assert f"Endpoint {fake_openai.url}, model 'served'" in message and "$CODEMIX_TEST_KEY" in message
    # without the retries a 429 would have stopped it (share 0) with another message; the rejection stops
    # the batch at once, so some prompts were never sent (the actor may work on two batches at a time)
    assert 3 <= fake_openai.count < 6
