"""The classifier interface and its registry: a classifier is one decorated class.

    @register("heuristic")
    class Heuristic(Classifier):
        version = "v1"
        def labels(self, convs, report): ...   # -> ["coding" | "math" | "other", ...]

A classifier that can leave a conversation unlabelled, or label some conversations another way
(the ``llm`` classifier's explicit heuristic fallback), overrides ``label_with_sources``; its
second element becomes the pool's ``classifier`` column, so every row says how its label was made.

Every classifier declares ``measured``: how well its labels agree with hand labels on real
ShareGPT, as measured (on what, which figures, where the measurement is documented), or why there
is no such figure. The pool's report carries it with the classifier's tag (``describe``), and
``codemix report`` shows it in its Data section, so a reader knows what the class counts are worth.
"""

from __future__ import annotations

from pathlib import Path

from codemix.data.accounting import DataReport
from codemix.spec import ClassifierConfig

CLASSIFIERS: dict[str, type["Classifier"]] = {}

# The yardstick of the ``measured`` statements (tests/data/fixtures/README.md, tests/data/test_minilm.py).
HELD_OUT = ("300 hand-labelled real ShareGPT prompts (split heldout2 of tests/data/fixtures/classify_labels.csv, "
            "labelled before any classifier ran on them; measured once, tests/data/fixtures/README.md)")


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
    # The measured agreement with hand labels on real ShareGPT, one sentence (None: not declared).
    # Not part of ``identity``: restating a measurement does not change any label.
    measured: str | None = None

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

    def describe(self) -> dict:
        """What the pool's report says about the classifier: name, tag and the ``measured`` statement."""
        return {"name": self.name, "tag": self.tag, "measured": self.measured}

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


def measured_for_tag(tag: str) -> str | None:
    """The ``measured`` statement of the registered classifier that made labels tagged ``tag`` ('heuristic-v3',
    'llm-v1:model:prompt', 'fallback:heuristic-v3'); None when no registered classifier of that name and
    version exists (a tag of an older version: its statement is not this code's to give)."""
    name, _, version = tag.removeprefix("fallback:").split(":", 1)[0].rpartition("-")
    cls = CLASSIFIERS.get(name)
    return cls.measured if cls is not None and cls.version == version else None
