"""The task registry: an ``Example``, a declarative ``Task``, suites, and how tasks are looked up.

A task is ONE declaration (like an lm-evaluation-harness task config)::

    register_task(Task(name="coin_flip", domain="symbolic", answer_type="yes_no",
                       files=("coin_flip/coin_flip.json",), read=read_coin_flip,
                       generate=generate_coin_flip, instruction="Answer yes or no."))

``read(data_dir)`` parses the public release's files into Examples; ``generate(rng)`` makes one
offline example. ``Task.load`` picks between them, subsamples with a fixed seed and never
returns an example of the held-apart split that ``Task.shots`` draws demonstrations from.
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import yaml

from codemix.config import EvalConfig
from codemix.eval.extract import ANSWER_TYPES

DOMAINS = ("symbolic", "logical", "arithmetic")
GENERATED_SIZE = EvalConfig.model_fields["generated_size"].default  # eval.generated_size's default
BUILTIN = "builtin"  # eval.data_dir value: the 50-question real samples shipped in codemix/eval/samples
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"


@dataclass(frozen=True)
class Example:
    """One evaluation item. ``gold`` is always a normalised string (see ``rules.normalise_gold``)."""

    id: str
    question: str
    gold: str
    choices: tuple[str, ...] | None = None  # option texts shown to the model, lettered OPTION_LETTERS in order
    rationale: str = ""  # a worked solution, used only in few-shot demonstrations


class TaskDataError(ValueError):
    """A task file that cannot be read; the message names the file, the record and the field."""


def is_shot_split(question: str) -> bool:
    """Content-hash split: about 1 in 8 generated questions is held apart for demonstrations."""
    return int(hashlib.sha1(question.encode()).hexdigest()[:8], 16) % 8 == 0


def subsample(items: list, limit: int | None, seed: int, salt: str) -> list:
    """A fixed-seed subsample of ``limit`` items, kept in their original order."""
    if limit is None or limit >= len(items):
        return list(items)
    keep = sorted(random.Random(f"{salt}:{seed}").sample(range(len(items)), limit))
    return [items[i] for i in keep]


@dataclass(frozen=True)
class Task:
    """A reasoning task: where its data comes from, how it is prompted and how it is scored."""

    name: str
    domain: str  # "symbolic" | "logical" | "arithmetic"
    answer_type: str  # "number" | "option" | "yes_no" | "string" | "list" | "word"
    generate: Callable[[random.Random], Example]  # one offline example (id is set by Task.load)
    read: Callable[[Path], list[Example]] | None = None  # the public release's files -> Examples
    files: tuple[str, ...] = ()  # paths under data_dir that ``read`` needs (documentation and checks)
    read_shots: Callable[[Path], list[Example]] | None = None  # a real training split, where one exists
    hub: Callable[[], list[Example]] | None = None  # the usual hub dataset (needs `datasets` and network)
    template: str = "{question}"  # prompt template; fields: {question}, {choices} ("Answer Choices: (A) ..")
    instruction: str = "End your response with \"The answer is X.\""  # answer-format instruction
    vocabulary: tuple[str, ...] = ()  # closed answer set for "word" tasks (helps extraction)
    extractor: str | None = None  # rule set used by rules.extract_answer; default = answer_type
    metric: str = "exact_match"
    generated_is_real: bool = False  # True where the generator is the task's actual source
    description: str = ""

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"task {self.name!r}: domain {self.domain!r} not one of {DOMAINS}")
        if self.answer_type not in ANSWER_TYPES:
            raise ValueError(f"task {self.name!r}: answer_type {self.answer_type!r} not one of {ANSWER_TYPES}")

    # ------------------------------------------------------------------ data

    def resolve_data_dir(self, data_dir: str | Path | None) -> str | Path | None:
        """``builtin`` -> the shipped samples folder if this task has a sample there, else None (generated)."""
        if data_dir is None or str(data_dir) != BUILTIN:
            return data_dir
        has_sample = self.read is not None and self.files and all((SAMPLES_DIR / f).exists() for f in self.files)
        return SAMPLES_DIR if has_sample and not self.generated_is_real else None

    def data_source(self, data_dir: str | Path | None) -> str:
        """Where ``load(data_dir)`` takes its examples from: 'generated', 'builtin sample', 'hub' or the folder."""
        resolved = self.resolve_data_dir(data_dir)
        if resolved is None or self.generated_is_real:
            return "generated"
        if resolved == SAMPLES_DIR:
            return "builtin sample"
        return str(resolved)

    def read_all(self, data_dir: str | Path | None) -> list[Example]:
        """Every record of the public files under ``data_dir`` (or of the hub dataset when data_dir="hub")."""
        if data_dir is None:
            raise TaskDataError(f"task {self.name!r}: read_all needs a data_dir")
        if str(data_dir) == "hub":
            if self.hub is None:
                raise TaskDataError(f"task {self.name!r} has no hub dataset; give a data_dir or None")
            return self.hub()
        if self.read is None:
            raise TaskDataError(f"task {self.name!r} has no file reader; use data_dir=None (generated)")
        root = Path(data_dir)
        missing = [f for f in self.files if not (root / f).exists()]
        if missing:
            raise TaskDataError(f"task {self.name!r}: missing {', '.join(str(root / m) for m in missing)}")
        return self.read(root)

    def load(self, data_dir: str | Path | None = None, limit: int | None = None, seed: int = 0,
             generated_size: int = GENERATED_SIZE) -> list[Example]:
        """Test examples: real files (data_dir), or the offline generator (None); same seed, same examples.

        ``limit`` keeps a fixed-seed subsample. Generated sets are made for the given seed
        directly (``limit`` of them, or ``generated_size``), so seeds give independent test sets.
        Tasks whose generator is their real source (``generated_is_real``) always generate; their
        files are only format samples.
        """
        data_dir = self.resolve_data_dir(data_dir)
        if data_dir is None or self.generated_is_real:
            return self._generate(limit or generated_size, seed, "test")
        return subsample(self.read_all(data_dir), limit, seed, self.name)

    def shots(self, k: int, seed: int = 0, data_dir: str | Path | None = None) -> list[Example]:
        """``k`` demonstrations from a held-apart split that never overlaps the test examples.

        A real training split is used where the task has one (bAbI); otherwise generated
        examples from the hash-held-apart split, minus any question that is also a test question.
        """
        if k <= 0:
            return []
        data_dir = self.resolve_data_dir(data_dir)
        if data_dir is not None and self.read_shots is not None and str(data_dir) != "hub":
            pool = self.read_shots(Path(data_dir))
            return random.Random(f"{self.name}:shots:{seed}").sample(pool, min(k, len(pool)))
        test_questions = set()
        if data_dir is not None and self.read is not None and not self.generated_is_real:
            test_questions = {e.question for e in self.read_all(data_dir)}
        pool = [e for e in self._generate(k + 16, seed, "shots") if e.question not in test_questions]
        return pool[:k]

    def _generate(self, n: int, seed: int, split: str) -> list[Example]:
        """``n`` distinct generated examples of one split ("test" or "shots"), deterministic in seed."""
        out, seen = [], set()
        rng = random.Random(f"{self.name}:{seed}:{split}")
        attempts = 0
        while len(out) < n:
            attempts += 1
            if attempts > 200 * n + 1000:
                raise RuntimeError(f"task {self.name!r}: generator cannot make {n} distinct {split} examples")
            ex = self.generate(rng)
            if ex.question in seen or is_shot_split(ex.question) != (split == "shots"):
                continue
            seen.add(ex.question)
            out.append(replace(ex, id=f"{self.name}/gen{seed}-{split}-{len(out)}"))
        return out


# ---------------------------------------------------------------------------- registry

TASKS: dict[str, Task] = {}
SUITES: dict[str, tuple[str, ...]] = {}


def register_task(task: Task) -> Task:
    """Add a task to the registry (a name may be registered once)."""
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def register_suite(name: str, tasks: Iterable[str]) -> None:
    """Name a list of tasks (checked when resolved, so suites may be declared before their tasks)."""
    SUITES[name] = tuple(tasks)


def get_task(name: str) -> Task:
    """The registered task called ``name``; the error lists the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; registered: {', '.join(sorted(TASKS))}") from None


def list_tasks() -> list[str]:
    """Names of all registered tasks, sorted."""
    return sorted(TASKS)


def resolve_suite(suite: str | list[str] | tuple[str, ...]) -> list[str]:
    """Task names from a suite name, a YAML file (a list, or ``{tasks: [...]}``) or an explicit list.

    Items of a list may themselves be suite names. Unknown names raise one error naming all of them.
    """
    if isinstance(suite, str):
        if suite in SUITES:
            names = list(SUITES[suite])
        elif suite.endswith((".yaml", ".yml")) or Path(suite).is_file():
            path = Path(suite)
            if not path.is_file():
                raise FileNotFoundError(f"suite file {path} does not exist")
            data = yaml.safe_load(path.read_text())
            names = data.get("tasks") if isinstance(data, dict) else data
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"{path}: expected a list of task names or a mapping with 'tasks: [...]'")
        elif suite in TASKS:
            names = [suite]
        else:
            names = [s.strip() for s in suite.split(",") if s.strip()]
    else:
        names = list(suite)
    out: list[str] = []
    for n in names:
        out.extend(SUITES[n] if n in SUITES else [n])
    unknown = [n for n in out if n not in TASKS]
    if unknown:
        raise KeyError(f"unknown task(s) {', '.join(unknown)}; registered tasks: {', '.join(sorted(TASKS))}; "
                       f"suites: {', '.join(sorted(SUITES))}")
    return list(dict.fromkeys(out))


def eval_inputs_identity(suite: str | list[str], data_dir: str | None) -> dict:
    """What identifies an evaluation's inputs wherever its files sit, for the eval hash: a suite file's task names
    (not its path) and, for a folder ``data_dir``, the name and sha256 of each file the suite's tasks read (not the
    folder's path, which a spec resolves against its own folder: the same spec on a laptop and a cluster node must
    hash alike). Keywords ('builtin', 'hub', None) and registered suite names stay as they are."""
    out: dict = {}
    if isinstance(suite, str) and suite.endswith((".yaml", ".yml")):
        out["suite"] = resolve_suite(suite)
    if data_dir is not None and str(data_dir) not in (BUILTIN, "hub"):
        root = Path(data_dir)
        files = sorted({f for name in resolve_suite(suite) for f in get_task(name).files})
        out["data_dir"] = [[f, _file_sha256(str(root / f)) if (root / f).is_file() else "missing"] for f in files]
    return out


def _file_sha256(path: str) -> str:
    stat = Path(path).stat()
    return _sha256_of(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:  # size and mtime: a changed file is read again
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
