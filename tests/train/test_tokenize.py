"""Assistant-only labels are exact for every family's chat template (and Vicuna's)."""

import pytest

from codemix.models.loading import load_tokenizer, resolve_model_source
from codemix.spec import ModelConfig
from codemix.train.tokenize import IGNORE_INDEX, tokenize_conversation, tokenize_mix

CONVERSATION = [
    {"role": "user", "content": "What is 12 + 7? Reply briefly."},
    {"role": "assistant", "content": "12 + 7 = 19. The answer is 19."},
    {"role": "user", "content": "Now write a python function that adds two numbers."},
    {"role": "assistant", "content": "```python\ndef add(a, b):\n    return a + b\n```"},
]


def labelled_runs(ids, labels):
    runs, current = [], []
    for tok, lab in zip(ids, labels):
        if lab != IGNORE_INDEX:
            assert lab == tok
            current.append(tok)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


@pytest.mark.parametrize("family,template", [("llama1", "auto"), ("llama", "auto"), ("llama3", "auto"),
                                             ("mistral", "auto"), ("qwen", "own"), ("gemma", "auto"),
                                             ("qwen", "vicuna")])
def test_unmasked_labels_decode_to_exactly_the_assistant_turns(family, template):
    tok = load_tokenizer(resolve_model_source(family, ModelConfig()), template)
    ids, labels = tokenize_conversation(CONVERSATION, tok)
    runs = labelled_runs(ids, labels)
    assistant = [m["content"] for m in CONVERSATION if m["role"] == "assistant"]
    assert len(runs) == len(assistant)
    end_of_turn = tok.convert_tokens_to_ids("<|im_end|>") if template == "own" else tok.eos_token_id
    for run, content in zip(runs, assistant):
        text = tok.decode(run, skip_special_tokens=True)
        assert text.strip() == content
        # the turn's end-of-turn token is learned too, so the model learns to stop; nothing after it
        assert run[-1] == end_of_turn
    # no user text leaks into the labels
    all_labelled = tok.decode([t for r in runs for t in r])
    assert "Reply briefly" not in all_labelled and "write a python function" not in all_labelled


def test_base_twins_without_a_template_train_on_vicuna_with_one_bos():
    llama = load_tokenizer(resolve_model_source("llama3", ModelConfig()), "auto")
    ids, _ = tokenize_conversation(CONVERSATION, llama)
    assert ids[0] == llama.bos_token_id and ids.count(llama.bos_token_id) == 1
    assert llama.decode(ids).startswith("<|begin_of_text|>A chat between a curious user")
    with pytest.raises(ValueError, match="no chat template"):
        load_tokenizer(resolve_model_source("mistral", ModelConfig()), "own")


def test_overlong_policies_are_counted_and_respected():
    tok = load_tokenizer(resolve_model_source("llama", ModelConfig()))
    long = [{"role": "user", "content": "hi " * 10}, {"role": "assistant", "content": "word " * 300}]
    short = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
    convs = [long, short]
    truncated, rep_t = tokenize_mix(convs, tok, max_length=128, overlong="truncate")
    split, rep_s = tokenize_mix(convs, tok, max_length=128, overlong="split")
    dropped, rep_d = tokenize_mix(convs, tok, max_length=128, overlong="drop")
    assert rep_t.events["truncated"] == 1 and len(truncated) == 2
    assert all(len(e["input_ids"]) <= 128 for e in truncated + split)
    assert rep_s.events["split"] == 1 and len(split) > 2
    # splitting keeps every labelled token of the long conversation (truncation loses some)
    assert rep_s.label_tokens > rep_t.label_tokens
    assert rep_d.events["dropped_overlong"] == 1 and len(dropped) == 1


def test_conversation_without_assistant_turn_is_skipped_and_counted():
    tok = load_tokenizer(resolve_model_source("mistral", ModelConfig()))
    examples, report = tokenize_mix([[{"role": "user", "content": "only a question"}]], tok, 64)
    assert examples == [] and report.events["no_assistant_tokens"] == 1
