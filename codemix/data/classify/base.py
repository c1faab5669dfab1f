"""The classifier interface and its registry: a classifier is one decorated class.

    @register("heuristic")
    class Heuristic(Classifier):
        version = "v1"
        def labels(self, convs, report): ...   # -> ["coding" | "math" | "other", ...]

A classifier that can leave a conversation unlabelled, or label some conversations another way
(the ``llm`` classifier's explicit heuristic fallback), overrides ``label_with_sources``; its
second element becomes the pool's ``classifier`` column, so every row says how its label was made.
"""

from __future__ import annotations

from pathlib import Path

from codemix.config import ClassifierConfig
from codemix.data.report import DataReport

CLASSIFIERS: dict[str, type["Classifier"]] = {}


def register(name: str):
    """Class decorator: make a Classifier available under ``name`` (config ``classifier.name``)."""
    def deco(cls: type[Classifier]) -> type[Classifier]:
        if name in CLASSIFIERS:
            raise ValueError(f"classifier {name!r} is already registered")
        cls.name = name
        CLASSIFIERS[name] = cls
        return cls
    return deco


class Classifier:
    """Labels conversations coding / math / other. Subclasses set ``version`` and implement ``labels``."""

    name = "base"
    version = "v0"
    paid = False  # True: labels come from requests to an endpoint (see ``uncached``)

    def __init__(self, cfg: ClassifierConfig | None = None, cache_dir: str | Path | None = None):
        self.cfg = cfg or ClassifierConfig(name=self.name)
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def identity(self) -> dict:
        """Everything that changes the labels; part of the pool's content address."""
        return {"name": self.name, "version": self.version}

    @property
    def tag(self) -> str:
        """The value of the ``classifier`` column, e.g. 'heuristic-v1'."""
        return f"{self.name}-{self.version}"

    def labels(self, convs: list[dict], report: DataReport) -> list[str]:
        raise NotImplementedError

    def label_with_sources(self, convs: list[dict], report: DataReport) -> list[tuple[str | None, str]]:
        """(label, how it was made) per conversation; a None label drops it (counted in ``report``)."""
        return [(lab, self.tag) for lab in self.labels(convs, report)]

    def uncached(self, convs: list[dict]) -> int:
        """How many paid requests labelling ``convs`` would send (0: offline, or every label cached)."""
        return 0


def make_classifier(cfg: ClassifierConfig, cache_dir: str | Path | None = None) -> Classifier:
    """The registered classifier named by ``cfg.name``."""
    if cfg.name not in CLASSIFIERS:
        raise ValueError(f"classifier {cfg.name!r} is not registered; known: {', '.join(sorted(CLASSIFIERS))}")
    return CLASSIFIERS[cfg.name](cfg, cache_dir)
