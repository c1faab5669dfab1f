"""Before any compute: one minimal request to each paid endpoint a sweep will use.

``codemix run`` and ``resume`` call :func:`preflight` before labelling and before Ray starts, so
a wrong key, model or URL stops the sweep in seconds (EndpointError, exit 2) instead of after
hours of training; ``codemix plan`` prints every check (:func:`check_endpoints`). The endpoints:

- the ``llm`` classifier, unless every label the sweep needs is cached (then it sends nothing
  and needs no key);
- the LLM answer extractor, when ``eval.extractor`` is ``llm`` or ``cascade``;
- the ``openai`` generation backend, when ``eval.openai_endpoint.model`` names the model (without it the
  model is each trial's checkpoint, which does not exist yet: checked when evaluation starts).

A check is one chat completion of one token, not cached, with the stage's retries; it costs a
few tokens per run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from codemix.config import SweepSpec
from codemix.endpoints import EndpointError
from codemix.paths import local_data_dir
from codemix.storage import Store

log = logging.getLogger("codemix")


@dataclass
class EndpointCheck:
    """The outcome of checking one endpoint: 'ok', 'skipped' (with why) or 'failed' (with the error)."""

    role: str
    model: str
    status: str
    detail: str
    error: EndpointError | None = None

    def line(self) -> str:
        """'ROLE (MODEL): DETAIL', for a terminal (the status is the caller's to show)."""
        return f"{self.role} ({self.model}): {self.detail}"


# Variables every process that loads a model may need: the Hugging Face Hub's token (gated checkpoints).
HUB_CREDENTIALS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def job_credentials(spec: SweepSpec) -> tuple[str, ...]:
    """The environment variables a sweep's tasks need on every node: the key of each endpoint it uses,
    $OPENAI_BASE_URL (the endpoints' default URL), and the Hub's token."""
    names = [spec.data.classifier.endpoint.api_key_env] if spec.data.classifier.name == "llm" else []
    if spec.eval.extractor in ("llm", "cascade"):
        names.append(spec.eval.extractor_endpoint.api_key_env)
    if spec.eval.backend == "openai":
        names.append(spec.eval.openai_endpoint.api_key_env)
    return tuple(dict.fromkeys([*names, "OPENAI_BASE_URL", *HUB_CREDENTIALS]))


def _chat(*args, **kwargs):
    from codemix.openai_client import ChatClient  # openai is imported only when an endpoint is used

    return ChatClient(*args, **kwargs)


def _probe(role: str, model: str, make_client) -> EndpointCheck:
    try:
        client = make_client()
        seconds = client.probe()
    except EndpointError as err:
        return EndpointCheck(role, model, "failed", str(err), err)
    return EndpointCheck(role, model, "ok", f"{client.endpoint.describe()} answered in {seconds:.2f} s")


def _classifier_check(spec: SweepSpec, store: Store) -> EndpointCheck | None:
    from codemix.data import make_classifier, requests_to_label, storage_labels_dir

    cfg = spec.data.classifier
    if spec.train.method == "none" or not make_classifier(cfg).paid:  # an untuned sweep labels no data
        return None
    with storage_labels_dir(cfg, store) as labels_dir:
        needed = requests_to_label(spec.data, local_data_dir(), labels_dir)
        if needed == 0:
            return EndpointCheck("llm classifier", cfg.endpoint.model, "skipped",
                                 "every label the sweep needs is cached")
        classifier = make_classifier(cfg, labels_dir)
        check = _probe("llm classifier", cfg.endpoint.model, lambda: classifier.client(cached=False))
    if check.status == "ok":
        check.detail += f"; {needed} conversation(s) to label"
    return check


def check_endpoints(spec: SweepSpec, store: Store) -> list[EndpointCheck]:
    """Check every paid endpoint ``spec`` uses; never raises EndpointError (failures are in the list)."""
    checks = []
    classifier = _classifier_check(spec, store)
    if classifier is not None:
        checks.append(classifier)
    e = spec.eval
    if e.extractor in ("llm", "cascade"):
        checks.append(_probe("llm extractor", e.extractor_endpoint.model, lambda: _chat(
            **e.extractor_endpoint.client_kwargs(), role="llm extractor")))
    if e.backend == "openai":
        if e.openai_endpoint.model:
            checks.append(_probe("openai backend", e.openai_endpoint.model, lambda: _chat(
                **e.openai_endpoint.client_kwargs(), role="openai backend")))
        else:
            checks.append(EndpointCheck("openai backend", "each trial's checkpoint", "skipped",
                                        "no eval.openai_endpoint.model: the model is known when evaluation starts"))
    return checks


def preflight(spec: SweepSpec, store: Store) -> list[EndpointCheck]:
    """Check every paid endpoint of ``spec``; raise the first failure's EndpointError."""
    checks = check_endpoints(spec, store)
    for check in checks:
        if check.error is not None:
            raise check.error  # the caller reports it (the CLI: exit 2)
        log.info("endpoint %s: %s", check.status, check.line())
    return checks
