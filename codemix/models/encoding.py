"""How training and evaluation turn a rendered chat into token ids (``encode_rendered``, ``prompt_ids``), and where
an answer ends (``stop_token_ids``, ``end_of_turn_ids``).

BOS is encoded as FastChat and the official encoders put it there: the tokenizer adds it when
it adds BOS to text at all (Llama, Mistral, Gemma; not Qwen), in front of the whole text, and a
BOS the template writes itself is not doubled: it is taken off the text, which is then encoded as
if the tokenizer had added it. (Encoding "<s>A chat" in one piece can lose the word-start marker
of "A" in sentencepiece vocabularies, which the real recipes never produce.)
"""

from __future__ import annotations


def encode_rendered(text: str, tokenizer) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids and character offsets of a rendered chat, with BOS where the real recipes put it."""
    bos = tokenizer.bos_token
    skip = len(bos) if bos and text.startswith(bos) else 0
    enc = tokenizer(text[skip:], add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(enc["input_ids"]), [(a + skip, b + skip) for a, b in enc["offset_mapping"]]
    if skip or _adds_bos(tokenizer):
        ids, offsets = [tokenizer.bos_token_id, *ids], [(0, skip), *offsets]
    return ids, offsets


def _adds_bos(tokenizer) -> bool:
    """Whether ``tokenizer(text)`` puts BOS in front (its post-processor / add_bos_token)."""
    if tokenizer.bos_token_id is None:
        return False
    with_special = tokenizer("a")["input_ids"]
    return len(with_special) > len(tokenizer("a", add_special_tokens=False)["input_ids"]) \
        and with_special[0] == tokenizer.bos_token_id


def prompt_ids(messages: list[dict], tokenizer) -> list[int]:
    """Token ids of the generation prompt for ``messages`` (what the model sees before it answers)."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return encode_rendered(text, tokenizer)[0]


def stop_token_ids(tokenizer) -> list[int]:
    """EOS plus the token the chat template closes an answer with, when that is another one.

    Qwen1.5's base tokenizer has EOS <|endoftext|> while its template ends answers with
    <|im_end|>, which is what a fine-tuned model learns to emit: generation must stop there too.
    """
    probe = "codemix-probe"
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": probe}],
                                         tokenize=False)
    after = tokenizer(text[text.rindex(probe) + len(probe):], add_special_tokens=False)["input_ids"]
    ids = [tokenizer.eos_token_id]
    if after and tokenizer.decode(after[:1], skip_special_tokens=True) == "":  # a special token closes the answer
        ids.append(after[0])
    return list(dict.fromkeys(i for i in ids if i is not None))


def end_of_turn_ids(tokenizer, model) -> set[int]:
    """Where an answer ends: EOS, the token the chat template closes answers with
    (``stop_token_ids``) and the generation config's EOS ids."""
    ids = set(stop_token_ids(tokenizer))
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if configured is not None:
        ids |= set(configured) if isinstance(configured, (list, tuple)) else {configured}
    return ids
