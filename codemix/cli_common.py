"""Helpers every ``codemix`` command shares (the top-level CLI and the stage CLIs import them from here)."""

from __future__ import annotations

import typer
import yaml
from rich.console import Console
from rich.markup import escape

console = Console()


def parse_overrides(values: list[str]) -> dict:
    """``--set KEY=VALUE`` options as a dict of dotted keys to YAML-parsed values."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set {item!r}: expected KEY=VALUE (e.g. mix.total=128)")
        out[key] = yaml.safe_load(value)
    return out


def fail(err: Exception | str, code: int = 2) -> None:
    """Print an error (escaped: messages may quote a server's response or a file's text) and exit with ``code``."""
    # soft_wrap: no line breaks inserted, so a path or URL in the message stays whole when output is piped
    console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
    raise typer.Exit(code)
