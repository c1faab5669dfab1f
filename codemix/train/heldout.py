"""The loss of a model on held-out conversations, one figure per conversation: what training minimises (mean
cross-entropy per assistant token, the tokenisation and labels of ``tokenize``), measured on conversations the
model never trained on.

``train.heldout`` measures it on conversations held out of each trial's own mix (the trials table's
``heldout_loss_before`` / ``_after``): a different set per mix. ``conversation_losses`` measures any model on one
fixed set, so models fine-tuned on different mixes (or interpolated between them) compare on the same
conversations, paired: ``bench/bench_merge_curve.py`` uses it per class (coding, math, general).
"""

from __future__ import annotations

import numpy as np
import torch

from codemix.train.loop import collate
from codemix.train.tokenize import IGNORE_INDEX, tokenize_mix


def conversation_losses(model, tokenizer, conversations: list[list[dict]], *, max_length: int = 256,
                        batch_size: int = 8) -> np.ndarray:
    """(n, 2): per conversation the summed cross-entropy of its assistant tokens (nats) and their count, under
    ``model`` (a causal LM in eval mode). Conversations longer than ``max_length`` tokens are truncated; one with
    no assistant token left is a row of zeros (counted as no tokens). Tokens are scored as the shifted training
    loss scores them: each label predicted from the tokens before it."""
    tokenized = [tokenize_mix([c], tokenizer, max_length, "truncate")[0] for c in conversations]
    scored = [i for i, t in enumerate(tokenized) if t]  # those with an assistant token within max_length
    examples = [tokenized[i][0] for i in scored]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = np.zeros((len(conversations), 2))
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = collate(examples[start:start + batch_size], pad)
            batch.pop("n_tokens")
            labels = batch.pop("labels")
            logits = model(**batch).logits[:, :-1].float()
            target = labels[:, 1:]
            mask = target != IGNORE_INDEX
            loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target.clamp(min=0), reduction="none")
            rows = scored[start:start + len(target)]
            out[rows, 0] = (loss * mask).sum(1).numpy()
            out[rows, 1] = mask.sum(1).numpy()
    return out
