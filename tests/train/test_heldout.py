"""Held-out loss per conversation (codemix.train.conversation_losses): each row is the conversation's summed
assistant-token cross-entropy and its token count, the same loss transformers computes for it alone; a
conversation with no assistant token within the length scores nothing, and the order is the input's."""

from __future__ import annotations

import pytest
import torch
from helpers import demo_conversations

from codemix.models.loading import load_causal_lm, load_tokenizer, resolve_model_source
from codemix.spec import ModelConfig
from codemix.train.heldout import conversation_losses
from codemix.train.tokenize import tokenize_conversation


def test_each_row_is_the_conversations_own_loss_and_token_count():
    source = resolve_model_source("llama", ModelConfig())
    model, tok = load_causal_lm(source).eval(), load_tokenizer(source)
    chats = demo_conversations(5, seed=1)
    no_answer = [chats[0][0]]  # a user turn alone: nothing to score
    rows = conversation_losses(model, tok, [chats[0], no_answer, *chats[1:]], max_length=128, batch_size=2)
    assert rows.shape == (6, 2) and rows[1].tolist() == [0.0, 0.0]
    for chat, (total, n) in zip(chats, [rows[0], *rows[2:]]):
        ids, labels = tokenize_conversation(chat, tok)
        ids, labels = torch.tensor([ids[:128]]), torch.tensor([labels[:128]])
        with torch.no_grad():
            want = model(input_ids=ids, labels=labels).loss.item()  # mean over the shifted assistant tokens
        assert n == int((labels[0, 1:] != -100).sum()) and total / n == pytest.approx(want, rel=1e-4)
