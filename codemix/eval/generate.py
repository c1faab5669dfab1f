"""Batched generation with a KV cache that drops finished rows: the ``hf`` backend's decoding loop.

``transformers``' ``generate`` keeps every row of a batch in every forward pass until the last
row stops, so a batch costs as much as its longest answer times its size. Reasoning outputs vary
a lot in length (a one-line answer next to a 200-token chain of thought), so here a row leaves
the batch (and the KV cache, via ``Cache.batch_select_indices``) as soon as it emits an
end-of-turn token, reaches a stop string or its token limit, and each step computes only the
rows still running. Greedy decoding gives the same tokens as ``generate``; ``temperature > 0``
samples from the softmax.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch

from codemix.models.encoding import end_of_turn_ids

STOP_WINDOW = 24  # tokens decoded to look for a stop string after each step


@dataclass
class GenerationStats:
    """What one batch cost: rows, prompt tokens (with padding), new tokens, forward passes."""

    rows: int = 0
    prompt_tokens: int = 0
    new_tokens: int = 0
    steps: int = 0
    row_steps: int = 0  # rows computed summed over decoding steps (what dropping finished rows saves)
    row_tokens: list[int] = field(default_factory=list)  # new tokens of each row, in prompt order


def left_pad(rows: list[list[int]], pad_id: int):
    """(input_ids, attention_mask) tensors, rows padded on the left."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r):] = 1
    return ids, mask


def first_stop(text: str, stop: list[str]) -> int:
    """Index of the earliest stop string in ``text`` (len(text) when none)."""
    return min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))


def generate_texts(model, tokenizer, prompts: list[list[int]], *, max_new_tokens: int, temperature: float = 0.0,
                   stop: list[str] | None = None, seed: int = 0) -> tuple[list[str], GenerationStats]:
    """Generate a completion for each prompt (token ids); returns the texts, cut at any stop string."""
    stop = [s for s in (stop or []) if s]
    device = next(model.parameters()).device
    ids, mask = (t.to(device) for t in left_pad(prompts, tokenizer.pad_token_id))
    eos = torch.tensor(sorted(end_of_turn_ids(tokenizer, model)), device=device)
    rng = torch.Generator(device=device).manual_seed(seed)
    stats = GenerationStats(rows=len(prompts), prompt_tokens=int(ids.numel()))
    tokens: list[list[int]] = [[] for _ in prompts]
    active = torch.arange(len(prompts), device=device)  # original index of each row still running

    def pick(logits):
        if temperature <= 0:
            return logits.argmax(-1)
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=rng).squeeze(-1)

    # transformers 5.x renamed past_key_values to cache (the old name still works, with a warning)
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft model passes them on
    signature = inspect.signature(inner.forward).parameters
    cache_arg = "cache" if "cache" in signature else "past_key_values"
    with torch.inference_mode():
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        # the prefill's logits are needed at the last position only (over a 50k vocabulary, all positions'
        # logits cost as much as several decoding steps)
        last_only = {"logits_to_keep": 1} if "logits_to_keep" in signature else {}
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **last_only)
        cache, next_ids = getattr(out, cache_arg), pick(out.logits[:, -1])
        for step in range(max_new_tokens):
            stats.steps += 1
            stats.row_steps += len(active)
            finished = torch.isin(next_ids, eos) if len(eos) else torch.zeros_like(next_ids, dtype=torch.bool)
            for j, (row, tok) in enumerate(zip(active.tolist(), next_ids.tolist())):
                if finished[j]:
                    continue
                tokens[row].append(tok)
                stats.new_tokens += 1
                if stop:  # stop strings are short: the last tokens' text holds any that just appeared
                    tail = tokenizer.decode(tokens[row][-STOP_WINDOW:], skip_special_tokens=True)
                    finished[j] = any(s in tail for s in stop)
            if step == max_new_tokens - 1:
                break
            keep = ~finished
            if not keep.any():
                break
            if not keep.all():  # drop finished rows from the batch and the cache
                kept = keep.nonzero().squeeze(-1)
                cache.batch_select_indices(kept)
                active, next_ids, mask = active[kept], next_ids[kept], mask[kept]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=-1)
            positions = (mask.sum(-1, keepdim=True) - 1)
            out = model(input_ids=next_ids[:, None], attention_mask=mask, position_ids=positions,
                        use_cache=True, **{cache_arg: cache})
            cache, next_ids = getattr(out, cache_arg), pick(out.logits[:, -1])
    stats.row_tokens = [len(t) for t in tokens]
    texts = [tokenizer.decode(t, skip_special_tokens=True) for t in tokens]
    return [t[:first_stop(t, stop)] for t in texts], stats
