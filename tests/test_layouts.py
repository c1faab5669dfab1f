"""Layouts with one owner each, as codemix.cache owns ``_cache/``: the machine-local cache under ``$CODEMIX_HOME``
(codemix.paths) and an experiment's ``attempts/`` record (codemix.attempts)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import codemix
from codemix import paths

ROOT = Path(codemix.__file__).parent


def test_every_folder_is_where_the_layout_says(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEMIX_HOME", str(tmp_path))
    made = {paths.local_data_dir() / paths.pool_subdir("<pool hash>"), paths.labels_dir() / "llm_labels.sqlite",
            paths.labels_dir("s3://bucket/codemix"), paths.tiny_model_dir("<family>-<version>"),
            paths.gguf_converted_dir("<name>-<sha>"), paths.downloads_dir() / "<name>", paths.extractor_cache_file(),
            paths.tokenizers_dir("s3://bucket/checkpoint")}
    assert all(p.is_relative_to(tmp_path) for p in made)
    made = {p.relative_to(tmp_path).as_posix() for p in made}
    # the storage's copy is named by a hash of its URL
    storage_copy = next(p for p in made if p.startswith("labels/") and not p.endswith(".sqlite"))
    tokenizer = next(p for p in made if p.startswith("tokenizers/"))
    made = made - {storage_copy, tokenizer} | {"labels/<storage hash>", "tokenizers/<source hash>"}
    # the table in the module docstring: its first column
    documented = set(re.findall(r"^    (.+?)/? {2,}", paths.__doc__, flags=re.M))
    assert made == documented
    assert paths.labels_dir("s3://a") != paths.labels_dir("s3://b")


def spelled_outside(owner: str, spells) -> list[str]:
    """``module:line`` of every AST node outside ``owner`` (a path under codemix/) for which ``spells`` is true."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel != owner:
            found += sorted({f"{rel}:{getattr(node, 'lineno', '?')}" for node in ast.walk(ast.parse(path.read_text()))
                             if spells(node)})
    return found


def _spells_home(node: ast.AST) -> bool:
    """A use of ``codemix_home`` or of the ``CODEMIX_HOME`` variable's name."""
    return isinstance(node, ast.Name) and node.id == "codemix_home" or \
        isinstance(node, ast.Attribute) and node.attr == "codemix_home" or \
        isinstance(node, ast.alias) and node.name == "codemix_home" or \
        isinstance(node, ast.Constant) and node.value == "CODEMIX_HOME"


def _spells_attempts(node: ast.AST) -> bool:
    """A string (or an f-string's first part) that is, or starts, a key of the attempts record."""
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        node = node.values[0]
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        (node.value == "attempts" or node.value.startswith("attempts/"))


def test_no_other_module_spells_the_local_cache():
    offenders = spelled_outside("codemix/paths.py", _spells_home)
    assert offenders == [], "name the folder with a function of codemix.paths:\n" + "\n".join(offenders)


def test_no_other_module_spells_the_attempts_record():
    offenders = spelled_outside("codemix/attempts.py", _spells_attempts)
    assert offenders == [], "read and write attempt records with codemix.attempts:\n" + "\n".join(offenders)
