"""One EndpointConfig for the classifier, the 'openai' backend and the LLM extractor; the old flat keys still load."""

import pytest

from codemix.spec import ClassifierConfig, DeprecatedKeyWarning, EndpointConfig, EvalConfig, SpecError, parse_spec


def test_each_use_has_its_own_defaults_also_for_keys_a_section_leaves_out():
    assert ClassifierConfig().endpoint == EndpointConfig(model="gpt-3.5-turbo", timeout=60.0, max_failure_share=0.01)
    assert EvalConfig().openai_endpoint == EndpointConfig(model=None, concurrency=1)
    assert EvalConfig().extractor_endpoint == EndpointConfig(model="gpt-3.5-turbo")
    partial = ClassifierConfig(endpoint={"model": "other"})  # the classifier's 60 s and 0.01, not the class's
    assert (partial.endpoint.model, partial.endpoint.timeout, partial.endpoint.max_failure_share) == ("other", 60, 0.01)
    again = EvalConfig.model_validate_json(EvalConfig(extractor_endpoint={"retries": 0}).model_dump_json())
    assert again.extractor_endpoint.retries == 0 and again.extractor_endpoint.model == "gpt-3.5-turbo"


def test_old_flat_keys_move_to_their_endpoint_with_a_warning_naming_the_new_key():
    old = {"name": "s", "data": {"classifier": {"name": "llm", "model": "m", "max_retries": 1, "timeout": 5}},
           "eval": {"openai_model": "served", "openai_base_url": "http://h/v1", "api_key_env": "K",
                    "extractor_model": "judge", "extractor_concurrency": 3, "max_retries": 2, "backoff": 0.1,
                    "max_failure_share": 0.2, "extractor_cache": "x.sqlite"}}
    with pytest.warns(DeprecatedKeyWarning) as caught:
        spec = parse_spec(old, "old.yaml")
    messages = {str(w.message) for w in caught}
    assert {w.filename for w in caught} == {"old.yaml"}  # the warning names the spec file
    assert "data.classifier.max_retries is deprecated: use data.classifier.endpoint.retries" in messages
    assert ("eval.max_retries is deprecated: use eval.openai_endpoint.retries and eval.extractor_endpoint.retries"
            in messages)
    c, e = spec.data.classifier.endpoint, spec.eval
    assert (c.model, c.retries, c.timeout, c.max_failure_share) == ("m", 1, 5.0, 0.01)
    assert (e.openai_endpoint.model, e.openai_endpoint.base_url, e.openai_endpoint.api_key_env) == (
        "served", "http://h/v1", "K")
    assert (e.extractor_endpoint.model, e.extractor_endpoint.concurrency, e.extractor_endpoint.api_key_env) == (
        "judge", 3, "OPENAI_API_KEY")
    for ep in (e.openai_endpoint, e.extractor_endpoint):  # the shared settings go to both endpoints
        assert (ep.retries, ep.backoff, ep.max_failure_share) == (2, 0.1, 0.2)
    assert e.extractor_cache == "x.sqlite"


def test_an_old_key_beside_its_new_key_is_refused_naming_both():
    with pytest.raises(SpecError, match=r"eval: openai_model is the deprecated name of openai_endpoint.model"):
        parse_spec({"name": "s", "eval": {"openai_model": "a", "openai_endpoint": {"model": "b"}}})


def test_eval_concurrency_of_an_old_openai_spec_still_sets_its_parallel_requests():
    with pytest.warns(DeprecatedKeyWarning, match="eval.openai_endpoint.concurrency"):
        cfg = EvalConfig(backend="openai", concurrency=4)
    assert cfg.openai_endpoint.concurrency == 4 and EvalConfig(concurrency=4).openai_endpoint.concurrency == 1


def test_the_llm_classifier_needs_a_model():
    with pytest.raises(ValueError, match="the 'llm' classifier needs a model name"):
        ClassifierConfig(name="llm", endpoint={"model": None})


def test_client_kwargs_are_the_chat_clients():
    import inspect

    from codemix.endpoints import ChatClient

    kwargs = EndpointConfig(model="m", retries=2).client_kwargs()
    assert set(kwargs) <= set(inspect.signature(ChatClient).parameters) and kwargs["max_retries"] == 2
