"""What a run trains on: a family's chat format applied to a sample conversation, token by token.

``format_sample`` loads a family's tokenizer the way training does (its tiny twin by default, or
any model source: a Hugging Face id, a local folder, a .gguf file), renders a conversation with
the template ``model.chat_template`` selects, and tokenises it with assistant-only labels.
``codemix families --show FAMILY`` prints the result, so a user sees which tokens are learned
before paying for a run. ``encode_rendered`` and ``prompt_ids`` are how training and evaluation
turn a rendered chat into token ids.

BOS is encoded as FastChat and the official encoders put it there: the tokenizer adds it when
it adds BOS to text at all (Llama, Mistral, Gemma; not Qwen), in front of the whole text, and a
BOS the template writes itself is not doubled: it is taken off the text, which is then encoded as
if the tokenizer had added it. (Encoding "<s>A chat" in one piece can lose the word-start marker
of "A" in sentencepiece vocabularies, which the real recipes never produce.)
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_CONVERSATION = [
    {"role": "user", "content": "What is 12 + 7?"},
    {"role": "assistant", "content": "12 + 7 = 19. The answer is 19."},
    {"role": "user", "content": "Write it as a python expression."},
    {"role": "assistant", "content": "```python\n12 + 7\n```"},
]
LEARNED_OPEN, LEARNED_CLOSE = "⟦", "⟧"  # around learned text in plain output


@dataclass
class FormatSample:
    """A rendered, tokenised conversation with its labels."""

    family: str
    source: str
    template: str  # "own" (the checkpoint's) or "vicuna"
    text: str
    ids: list[int]
    labels: list[int]
    offsets: list[tuple[int, int]]
    pieces: list[str]

    def segments(self) -> list[tuple[bool, int, int]]:
        """Runs of tokens as (learned, first index, end index)."""
        from codemix.train.tokenize import IGNORE_INDEX

        runs: list[tuple[bool, int, int]] = []
        for i, lab in enumerate(self.labels):
            learned = lab != IGNORE_INDEX
            if runs and runs[-1][0] == learned:
                runs[-1] = (learned, runs[-1][1], i + 1)
            else:
                runs.append((learned, i, i + 1))
        return runs

    def marked_text(self) -> str:
        """The rendered text with each learned run between ⟦ and ⟧ (and a BOS the tokenizer added)."""
        added_bos = self.offsets and self.offsets[0] == (0, 0) and not self.text.startswith(self.pieces[0])
        out, pos = [self.pieces[0]] if added_bos else [], 0
        for learned, first, end in self.segments():
            if not learned:
                continue
            start, stop = self.offsets[first][0], self.offsets[end - 1][1]
            out += [self.text[pos:start], LEARNED_OPEN, self.text[start:stop], LEARNED_CLOSE]
            pos = stop
        return "".join([*out, self.text[pos:]])


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


def format_sample(family: str, source: str | None = None, chat_template: str = "auto",
                  messages: list[dict] | None = None) -> FormatSample:
    """Render and tokenise ``messages`` (default: a two-turn sample) as a run of ``family`` would."""
    from codemix.config import ModelConfig
    from codemix.models.families import VICUNA_TEMPLATE, get_family
    from codemix.models.loading import load_tokenizer, resolve_model_source
    from codemix.train.tokenize import assistant_spans, tokenize_conversation

    fam = get_family(family)
    source = source or resolve_model_source(fam.name, ModelConfig(chat_template=chat_template))
    tok = load_tokenizer(source, chat_template)
    messages = messages or SAMPLE_CONVERSATION
    ids, labels = tokenize_conversation(messages, tok)
    text, _ = assistant_spans(messages, tok)
    _, offsets = encode_rendered(text, tok)
    return FormatSample(family=fam.name, source=source, template="vicuna" if tok.chat_template == VICUNA_TEMPLATE
                        else "own", text=text, ids=ids, labels=labels, offsets=offsets,
                        pieces=tok.convert_ids_to_tokens(ids))
