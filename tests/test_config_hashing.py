"""Hash membership is declared on every field of the hashed sections; hashed_dump is what the stage hashes read."""

import pytest
from pydantic import BaseModel

from codemix.spec import EvalConfig, MixConfig, ModelConfig, TrainConfig, hashed_dump
from codemix.storage import stable_hash


def _fields(cls: type[BaseModel], path: str):
    for name, info in cls.model_fields.items():
        yield f"{path}.{name}", info
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            yield from _fields(info.annotation, f"{path}.{name}")


@pytest.mark.parametrize("cls,path", [(EvalConfig, "eval"), (TrainConfig, "train"), (MixConfig, "mix"),
                                      (ModelConfig, "model")])
def test_every_field_of_a_hashed_section_declares_whether_it_is_hashed(cls, path):
    undeclared = [key for key, info in _fields(cls, path)
                  if not isinstance(info.json_schema_extra, dict) or "hashed" not in info.json_schema_extra]
    assert not undeclared, f"declare Hashed[...] or NotHashed[...] (codemix/spec/) on: {', '.join(undeclared)}"


def _round_trip(cfg: BaseModel) -> BaseModel:
    return type(cfg).model_validate_json(cfg.model_dump_json())  # as a Tune trial receives the spec


@pytest.mark.parametrize("cfg,old_hash", [
    (TrainConfig(), "32d60ffbf254aaf3"), (ModelConfig(), "66bf211567528354"), (MixConfig(), "49ad798bfdd29660"),
    (TrainConfig(method="lora", lr=2e-5, lora={"r": 8}, max_failures=0), "ffd988729bdaa032"),
])
def test_train_model_and_mix_dumps_hash_as_before_the_declarations(cfg, old_hash):
    # old_hash: stable_hash(cfg.model_dump()) with the config before hash membership was declared (commit 9b3a222)
    assert stable_hash(hashed_dump(_round_trip(cfg))) == old_hash


def test_unhashed_fields_leave_the_dump_nested_ones_too():
    base = hashed_dump(EvalConfig())
    operational = EvalConfig(concurrency=4, extractor_cache="x.sqlite", openai_endpoint={"retries": 0, "timeout": 1},
                             extractor_endpoint={"api_key_env": "K", "concurrency": 2, "backoff": 3})
    assert hashed_dump(operational) == base and hashed_dump(TrainConfig(checkpoints_kept=5)) == hashed_dump(
        TrainConfig())
    assert hashed_dump(EvalConfig(extractor_endpoint={"model": "judge"})) != base
    assert hashed_dump(EvalConfig(openai_endpoint={"max_failure_share": 0.1})) != base
    assert hashed_dump(EvalConfig(generated_size=100)) != base


def test_what_the_eval_hash_reads():
    dump = hashed_dump(EvalConfig())
    assert {"concurrency", "extractor_cache"}.isdisjoint(dump)
    for endpoint in ("openai_endpoint", "extractor_endpoint"):
        assert set(dump[endpoint]) == {"model", "base_url", "max_failure_share"}
    assert dump["sampling"] == {"max_new_tokens": 256, "temperature": 0.0, "stop": []}
