"""The sweep spec: every setting of a sweep, as pydantic models loaded from one YAML file.

    fields.py     a section's building blocks: hash membership of a field (Hashed / NotHashed, hashed_dump) and
                  renamed keys (DeprecatedKeyWarning)
    sections.py   the spec's sections (data, mix, model, train, eval, search, resources, ...) and SweepSpec,
                  with their validators
    parse.py      load_spec / parse_spec: YAML, overrides, input paths, errors that name the file and field
    reference.py  docs/spec.md rendered from the models (``codemix spec reference``)

    spec = load_spec("sweeps/smoke.yaml", {"mix.total": 128})   # errors name the file and the field
"""

from codemix.spec.fields import DeprecatedKeyWarning, hashed_dump
from codemix.spec.parse import SpecError, load_spec, parse_spec
from codemix.spec.reference import REGENERATE, render_reference
from codemix.spec.sections import (
    DATA_SOURCE_ALIASES,
    QLORA_MAX_ZERO_STAGE,
    ClassifierConfig,
    DataConfig,
    EndpointConfig,
    EvalConfig,
    MixConfig,
    ModelConfig,
    ResourcesConfig,
    SamplingConfig,
    SweepSpec,
    TrainConfig,
    qlora_problems,
)

__all__ = ["DATA_SOURCE_ALIASES", "QLORA_MAX_ZERO_STAGE", "REGENERATE", "ClassifierConfig", "DataConfig",
           "DeprecatedKeyWarning", "EndpointConfig", "EvalConfig", "MixConfig", "ModelConfig", "ResourcesConfig",
           "SamplingConfig", "SpecError", "SweepSpec", "TrainConfig", "hashed_dump", "load_spec", "parse_spec",
           "qlora_problems", "render_reference"]
