"""Tiny offline twins of each model family.

A twin is the family's real architecture (its transformers config class) shrunk to hidden size
64 and 2 layers, with a byte-level BPE tokenizer trained locally. The tokenizer mirrors the real
base checkpoint's: the same special tokens, BOS added where the real one adds it, and a chat
template only where the real checkpoint ships one (else runs fall back to Vicuna, as real ones do).
It is saved with ``save_pretrained`` and loaded back through the same ``from_pretrained(path)``
code the real models use, so the whole pipeline runs without network or GPU. Built twins are
cached under ``$CODEMIX_HOME/models`` (default ``~/.cache/codemix/models``).
"""

from __future__ import annotations

import json
from pathlib import Path

from codemix.data.demo import generate_demo_corpus
from codemix.models.families import Family, get_family
from codemix.storage import atomic_dir, tiny_model_dir

TINY_VERSION = "tiny-v3"
TINY_MARKER = "codemix_tiny.json"
_TINY_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=2048)


def _tokenizer_corpus() -> list[str]:
    texts = [turn["value"] for rec in generate_demo_corpus(800, seed=7) for turn in rec["conversations"]]
    # Digits, letters and reasoning-task vocabulary so numbers and names tokenise compactly.
    texts += [" ".join(str(i) for i in range(200)), "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
              "Let's think step by step. The answer is yes no true false heads up flip coin letter list reverse"]
    return texts


def build_tiny_tokenizer(family: Family, vocab_size: int = 2048):
    """Train a byte-level BPE tokenizer with the real checkpoint's special tokens, BOS rule and template."""
    # tokenizers, transformers and torch (2-4 s) only to build a twin: the plan and the CLI import this module
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    named = {k: v for k, v in family.special_tokens.items() if v}
    specials = list(dict.fromkeys([*named.values(), *family.extra_special_tokens]))
    tok = Tokenizer(models.BPE(unk_token=named.get("unk_token")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_tokenizer_corpus(), trainer=trainer)
    if family.add_bos:  # as the real tokenizers do it: a post-processor that puts BOS first
        bos = named["bos_token"]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, tok.token_to_id(bos))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **named)
    if family.extra_special_tokens:
        fast.add_special_tokens({"additional_special_tokens": family.extra_special_tokens})
    fast.chat_template = family.chat_template
    return fast


def build_tiny_model(family: Family, tokenizer):
    """Instantiate the family's architecture at twin size with random (seeded) weights."""
    import torch
    import transformers

    config_cls = getattr(transformers, family.config_class)
    config = config_cls(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                        tie_word_embeddings=True, **{**_TINY_SHAPE, **family.tiny_overrides})
    torch.manual_seed(0)
    return transformers.AutoModelForCausalLM.from_config(config)


def tiny_model_path(family_name: str) -> Path:
    """Directory of the family's twin, built on first use and cached on disk."""
    family = get_family(family_name)
    path = tiny_model_dir(f"{family.name}-{TINY_VERSION}")
    if (path / TINY_MARKER).exists():
        return path
    tokenizer = build_tiny_tokenizer(family)
    model = build_tiny_model(family, tokenizer)
    with atomic_dir(path) as tmp:  # a concurrent builder either wins or finds the finished twin
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / TINY_MARKER).write_text(json.dumps({"family": family.name, "version": TINY_VERSION}))
    return path
