"""`codemix run`, `resume` and `plan` check every paid endpoint before any compute (the loopback server)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from codemix.cli import app
from codemix.data import label_pool
from codemix.spec import parse_spec

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-preflight-secret-1234"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A key in the environment and a fresh CODEMIX_HOME (no pool or label cached from other tests)."""
    monkeypatch.setenv("CODEMIX_TEST_KEY", KEY)
    monkeypatch.setenv("CODEMIX_HOME", str(tmp_path / "home"))


def spec_dict(tmp_path: Path, classifier: dict | None = None, **eval_cfg) -> dict:
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec.update(storage=str(tmp_path / "runs"), search={"proportion": [0.5], "family": ["llama"]})
    spec["data"] = {"source": "demo", "demo_size": 40, "classifier": classifier or {"name": "heuristic"}}
    spec["mix"]["total"] = 8
    spec["eval"].update(eval_cfg)
    return spec


def llm_classifier(url: str) -> dict:
    return {"name": "llm", "endpoint": {"model": "fake-model", "base_url": url, "api_key_env": "CODEMIX_TEST_KEY",
                                        "retries": 1, "backoff": 0.01}}


def write(tmp_path: Path, spec: dict) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def nothing_started(tmp_path: Path) -> bool:
    import ray

    runs = tmp_path / "runs"
    return not ray.is_initialized() and not (runs / "smoke" / "spec.yaml").exists() and not (
        runs / "_cache" / "checkpoints").exists()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


@pytest.mark.parametrize("case,says", [
    ("401", "llm classifier stopped: the endpoint rejected the credentials (HTTP 401; not retried): check the key "
            "in $CODEMIX_TEST_KEY."),
    ("404", "llm classifier stopped: unknown model or path (HTTP 404; not retried): check the model name and the "
            "base URL (usually ending in /v1)."),
    ("refused", "llm classifier stopped: cannot connect, still after 1 retries: check the base URL and that the "
                "server is running."),
    ("malformed", "llm classifier stopped: the reply is not a chat completion (HTTP 200; not retried)"),
])
def test_run_with_a_broken_classifier_endpoint_stops_before_any_compute(fake_openai, tmp_path, case, says):
    url = closed_port_url() if case == "refused" else fake_openai.url
    if case == "malformed":
        fake_openai.responder = lambda req: b"<html>It works!</html>"
    elif case != "refused":
        fake_openai.fail_when = lambda req: int(case)
    code, out = invoke("run", write(tmp_path, spec_dict(tmp_path, llm_classifier(url))))
    assert code == 2, out
    assert says in out and f"Endpoint {url}, model 'fake-model', key from $CODEMIX_TEST_KEY." in out
    assert KEY not in out and "Traceback" not in out
    assert fake_openai.count == (0 if case == "refused" else 1)  # one probe; not one labelling request
    assert nothing_started(tmp_path)


def test_run_checks_the_extractor_and_the_generation_endpoints_too(fake_openai, tmp_path):
    fake_openai.fail_when = lambda req: 404 if req["model"] == "judge" else None
    spec = spec_dict(tmp_path, extractor="cascade", extractor_endpoint={
        "model": "judge", "base_url": fake_openai.url, "api_key_env": "CODEMIX_TEST_KEY", "retries": 0})
    code, out = invoke("run", write(tmp_path, spec))
    assert code == 2 and "llm extractor stopped: unknown model or path (HTTP 404; not retried)" in out
    assert "The model `judge` does not exist" in out and nothing_started(tmp_path)
    fake_openai.fail_when = lambda req: 401
    spec = spec_dict(tmp_path, backend="openai", openai_endpoint={
        "model": "served", "base_url": fake_openai.url, "api_key_env": "CODEMIX_TEST_KEY", "retries": 0})
    code, out = invoke("run", write(tmp_path, spec))
    assert code == 2 and "openai backend stopped: the endpoint rejected the credentials (HTTP 401" in out
    assert "model 'served'" in out and KEY not in out and nothing_started(tmp_path)


def test_resume_checks_endpoints_before_ray_starts(fake_openai, tmp_path):
    fake_openai.fail_when = lambda req: 401
    spec = parse_spec(spec_dict(tmp_path, llm_classifier(fake_openai.url)))
    experiment = tmp_path / "runs" / "smoke"
    experiment.mkdir(parents=True)
    (experiment / "spec.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    code, out = invoke("resume", str(experiment))
    assert code == 2 and "llm classifier stopped: the endpoint rejected the credentials (HTTP 401" in out
    assert fake_openai.count == 1 and not (tmp_path / "runs" / "_cache").exists()


def test_plan_reports_each_endpoint(fake_openai, tmp_path):
    spec = spec_dict(tmp_path, llm_classifier(fake_openai.url), extractor="llm", extractor_endpoint={
        "model": "judge", "base_url": fake_openai.url, "api_key_env": "CODEMIX_TEST_KEY"})
    path = write(tmp_path, spec)
    code, out = invoke("plan", path)
    assert code == 0, out
    assert (f"endpoint ok: llm classifier (fake-model): endpoint {fake_openai.url}, model 'fake-model', key from "
            f"$CODEMIX_TEST_KEY answered in") in out and "conversation(s) to label" in out
    assert "endpoint ok: llm extractor (judge)" in out and fake_openai.count == 2
    fake_openai.fail_when = lambda req: 401 if req["model"] == "judge" else None
    code, out = invoke("plan", path)
    assert code == 1 and "endpoint ok: llm classifier" in out
    assert "endpoint failed: llm extractor (judge): llm extractor stopped: the endpoint rejected the credentials" in out
    assert KEY not in out


def test_no_classifier_request_when_every_label_is_cached(fake_openai, tmp_path):
    spec = parse_spec(spec_dict(tmp_path, llm_classifier(fake_openai.url)))
    fake_openai.responder = lambda req: '{"label": "other"}'
    label_pool(spec.data, tmp_path / "runs" / "_cache" / "labels")  # the sweep's label cache: <storage>/_cache/labels
    labelled = fake_openai.count
    fake_openai.fail_when = lambda req: 401  # the key has expired since: the cached labels are still good
    code, out = invoke("plan", write(tmp_path, spec.model_dump(mode="json")))
    assert code == 0, out
    assert "endpoint skipped: llm classifier (fake-model): every label the sweep needs is cached" in out
    assert fake_openai.count == labelled
