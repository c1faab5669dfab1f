"""Credentials reach every task of a sweep through the README's submit command, and nothing else.

A cluster started here with `ray start --head` whose processes have no API key in their environment (as a GPU node
of `ray up` has none), and the loopback OpenAI server. The README's own `ray job submit --runtime-env-json ...`
line (read from README.md, its cluster address and checkout path replaced by this cluster's and this checkout's)
runs from a shell that has the key: the key must reach the driver's `llm` classifier and the LLM answer extractor
inside the trial (a Ray worker process), and appear in no log of the job's processes, no table and no file of the
storage (Ray's own runtime-environment agent logs it: see the last assert). A driver started by hand on the
cluster (`codemix run --address`) takes the key it has to the trials the same way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fake_openai import FakeOpenAI
from sweep_helpers import ray_head, run_codemix, small_spec

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "sk-job-secret-5f0c2a9e"
CREDENTIALS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
pytestmark = [pytest.mark.slow(seconds=55), pytest.mark.timeout(600)]


def _answer(request: dict) -> str:
    """The classifier gets a label (coding: the sweep's one mix is all code), the extractor an answer."""
    return '{"label": "coding"}' if request.get("model") == "labeller" else "1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The loopback OpenAI server and a `ray start --head` cluster whose processes have no credentials."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("home")  # no pool labelled by another test's replies
        mp.setenv("CODEMIX_HOME", str(home))
        with FakeOpenAI(responder=_answer) as server, ray_head(drop_env=CREDENTIALS) as (address, env, root):
            yield server, address, env, root


def _spec(tmp_path: Path, server, name: str) -> Path:
    endpoint = {"base_url": server.url, "retries": 1, "backoff": 0.01}
    return small_spec(tmp_path / "runs", name, folder=tmp_path,
                      data={"demo_size": 60,
                            "classifier": {"name": "llm", "endpoint": {"model": "labeller", **endpoint}}},
                      mix={"total": 8}, search={"proportion": [1.0]},
                      eval={"extractor": "llm", "extractor_endpoint": {"model": "reader", **endpoint}})


def readme_submit_command() -> str:
    """The `ray job submit` command of the README's GPU recipe, as one shell line."""
    text = (REPO / "README.md").read_text()
    block = text[text.index("4. **Submit**"):text.index("5. **Watch.**")]
    lines = block[block.index("ray job submit"):].splitlines()
    command = []
    for line in lines:
        command.append(line.strip().removesuffix("\\").strip())
        if not line.rstrip().endswith("\\"):
            break
    return " ".join(command)


def _keys_sent(server, since: int) -> dict:
    sent = {}
    for request, headers in list(zip(server.requests, server.headers))[since:]:
        sent.setdefault(request.get("model"), []).append(headers.get("authorization"))
    return sent


def _files_holding(root: Path, text: str) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes())


# ~80 s: a job of one tiny trial (the labels of 60 conversations, 6 answers read by the LLM extractor).
def test_the_readmes_submit_command_takes_the_key_to_the_classifier_and_the_trials_and_to_no_log(cluster, tmp_path):
    server, address, env, root = cluster
    spec = _spec(tmp_path, server, "keyed")
    command = readme_submit_command()
    print(f"README: {command}")
    assert "--runtime-env-json" in command and "$OPENAI_API_KEY" in command
    command = (command.replace("http://localhost:8265", address).replace("/home/ray/codemix", str(REPO))
               .replace(str(REPO / "sweeps" / "paper.yaml"), str(spec)))
    shell = {**env, "OPENAI_API_KEY": SECRET, "HF_TOKEN": ""}  # the laptop's shell: it has the key
    before = len(server.requests)
    for _ in range(10):  # the head's job agent registers a little after the dashboard answers
        submit = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=shell, capture_output=True, text=True,
                                timeout=500)
        output = submit.stdout + submit.stderr
        if "No available agent to submit job" not in output:
            break
    assert submit.returncode == 0, output[-5000:]
    job = re.search(r"Job '(raysubmit_\w+)' succeeded", output)
    assert job, output[-3000:]
    logs = subprocess.run([str(BIN / "ray"), "job", "logs", job.group(1), "--address", address], env=env,
                          capture_output=True, text=True).stdout

    sent = _keys_sent(server, before)
    session_logs = _files_holding(root / "ray", SECRET)
    print(f"requests: {sum(map(len, sent.values()))}, keys sent per model: "
          f"{ {m: sorted({k.replace(SECRET, '<the key>') for k in keys}) for m, keys in sent.items()} }; "
          f"Ray session files holding the key: {[p.name for p in session_logs]}")
    assert {m: set(keys) for m, keys in sent.items()} == {"labeller": {f"Bearer {SECRET}"},
                                                          "reader": {f"Bearer {SECRET}"}}
    assert len(sent["reader"]) > 1  # the driver's probe, then the trial's reads, in a Ray worker
    [trial] = pq.read_table(tmp_path / "runs" / "keyed" / "results" / "trials").to_pylist()
    assert trial["status"] == "ok"
    assert SECRET not in output and SECRET not in logs  # the job's own output
    assert _files_holding(tmp_path / "runs", SECRET) == []  # the stage cache, result tables, spec.yaml, Tune's state
    # The logs of every process of the job (driver, trials, training workers: worker-*.out/err) hold no key. Ray's
    # own runtime-environment agent does: it logs each runtime environment it creates, env_vars included, at INFO
    # (ray/_private/runtime_env/agent/runtime_env_agent.py), as its job table keeps it (`ray job list`, dashboard).
    assert {p.name for p in session_logs} <= {"runtime_env_agent.log"}, session_logs


# ~50 s: the same sweep, its driver started by hand on the cluster.
def test_a_driver_joining_the_cluster_takes_its_key_to_the_trials(cluster, tmp_path, monkeypatch):
    server, address, env, root = cluster
    gcs = (root / "ray" / "ray_current_cluster").read_text().strip()  # where `ray start` wrote its address
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # the driver's shell has the key, the cluster's processes not
    monkeypatch.setenv("RAY_TMPDIR", str(root))
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", env["RAY_API_SERVER_ADDRESS"])
    before = len(server.requests)
    code, out = run_codemix(["run", str(_spec(tmp_path, server, "by-hand")), "--address", gcs], timeout=400)
    [trial] = pq.read_table(tmp_path / "runs" / "by-hand" / "results" / "trials").to_pylist()
    assert code == 0 and trial["status"] == "ok", (trial["error"] or "") + out[-3000:]
    assert set(_keys_sent(server, before)["reader"]) == {f"Bearer {SECRET}"}
    assert SECRET not in out and _files_holding(tmp_path / "runs", SECRET) == []
