"""What a run trains on: a family's chat format applied to a sample conversation, token by token.

``format_sample`` loads a family's tokenizer the way training does (its tiny twin by default, or
any model source: a Hugging Face id, a local folder, a .gguf file), renders a conversation with
the template ``model.chat_template`` selects, and tokenises it with assistant-only labels.
``codemix families --show FAMILY`` prints the result, so a user sees which tokens are learned
before paying for a run. How training and evaluation turn a rendered chat into token ids is
``codemix.models.encoding``.
"""

from __future__ import annotations

from dataclasses import dataclass

from codemix.models.encoding import encode_rendered
from codemix.models.families import VICUNA_TEMPLATE, get_family
from codemix.models.loading import load_tokenizer, resolve_model_source
from codemix.spec import ModelConfig
from codemix.train.tokenize import IGNORE_INDEX, assistant_spans, tokenize_conversation

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


def format_sample(family: str, source: str | None = None, chat_template: str = "auto",
                  messages: list[dict] | None = None) -> FormatSample:
    """Render and tokenise ``messages`` (default: a two-turn sample) as a run of ``family`` would."""
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
