"""Packed rows attend only within each example: their loss equals the examples' losses one by one."""

import torch
from helpers import demo_conversations

from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source
from codemix.spec import ModelConfig
from codemix.train.loop import collate
from codemix.train.tokenize import IGNORE_INDEX, pack_examples, tokenize_mix


def summed_nll(model, batch):
    logits = model(**{k: v for k, v in batch.items() if k != "labels"}, use_cache=False).logits
    labels = batch["labels"][:, 1:]
    nll = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), labels.flatten(), reduction="none",
                                            ignore_index=IGNORE_INDEX)
    return nll.sum().item(), int((labels != IGNORE_INDEX).sum())


def test_packed_loss_equals_unpacked_loss_and_rows_respect_max_length():
    source = resolve_model_source("llama", ModelConfig())
    tok, model = load_tokenizer(source), load_causal_lm(source).eval()
    examples, _ = tokenize_mix(demo_conversations(12, seed=5), tok, max_length=256)
    packed = pack_examples(examples, max_length=256)
    assert len(packed) < len(examples)
    assert all(len(r["input_ids"]) <= 256 for r in packed)
    assert sum(len(r["input_ids"]) for r in packed) == sum(len(e["input_ids"]) for e in examples)
    with torch.no_grad():
        one_by_one = [summed_nll(model, {k: v for k, v in collate([e], tok.pad_token_id).items() if k != "n_tokens"})
                      for e in examples]
        together = summed_nll(model, {k: v for k, v in collate(packed, tok.pad_token_id).items() if k != "n_tokens"})
    assert together[1] == sum(n for _, n in one_by_one)  # same labelled tokens
    assert abs(together[0] - sum(s for s, _ in one_by_one)) < 1e-3 * together[0]  # same loss: no cross-talk


def test_packing_without_position_reset_would_differ():
    """Guard: the equality above is not trivial (attention across examples changes the loss)."""
    source = resolve_model_source("llama", ModelConfig())
    tok, model = load_tokenizer(source), load_causal_lm(source).eval()
    examples, _ = tokenize_mix(demo_conversations(6, seed=5), tok, max_length=512)
    row = pack_examples(examples, max_length=512)[0]
    leaky = {"input_ids": row["input_ids"], "labels": row["labels"]}
    with torch.no_grad():
        proper = summed_nll(model, {k: v for k, v in collate([row], tok.pad_token_id).items() if k != "n_tokens"})
        cross = summed_nll(model, {k: v for k, v in collate([leaky], tok.pad_token_id).items() if k != "n_tokens"})
    assert abs(proper[0] - cross[0]) > 1e-3
