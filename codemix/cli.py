"""The ``codemix`` command line: a thin layer over the Python API."""

from __future__ import annotations

import logging
import sys
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from codemix import sweep  # its run_sweep and resume load Tune when called (codemix.sweep's lazy names)
from codemix.cli_common import console, fail, parse_overrides
from codemix.data.cli import app as data_app
from codemix.endpoints import EndpointError
from codemix.eval.cli import app as eval_app
from codemix.models import FAMILIES, get_family
from codemix.models.formats import LEARNED_CLOSE, LEARNED_OPEN, format_sample
from codemix.results.cli import print_summary, report
from codemix.search import check_search, extra_trials
from codemix.spec import SpecError, load_spec, render_reference
from codemix.storage import StorageError, atomic_write_text
from codemix.sweep import grid_points
from codemix.sweep.cli import plan

app = typer.Typer(help="Sweeps of coding-data proportion x model family: mix → fine-tune → evaluate, on Ray.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _report_outcome(outcome) -> None:
    """Print what a finished sweep produced; exit code 3 when some trials failed (recorded in the results)."""
    print_summary(outcome.summary)
    url = outcome.path
    console.print(f"results: {url}/results.parquet ({outcome.results.num_rows} rows); report: codemix report {url}")
    if not outcome.summary.failed.empty:
        console.print(f"{len(outcome.summary.failed)} trial(s) failed; `codemix resume {url} --retry-failed` "
                      "reruns them")
    if outcome.lost:
        console.print(f"{len(outcome.lost)} trial(s) were lost with their node after {outcome.trial_retries} "
                      f"restart(s) and have no result; `codemix resume {url} --retry-failed` reruns them")
    if outcome.failed:
        raise typer.Exit(3)


@app.command()
def run(spec: str = typer.Argument(..., help="Sweep spec YAML, e.g. sweeps/smoke.yaml"),
        name: Optional[str] = typer.Option(None, help="Experiment name (default: the spec's)."),
        storage: Optional[str] = typer.Option(None, help="Local folder or URI (default: the spec's)."),
        set_: list[str] = typer.Option([], "--set", help="Override a field: --set train.lr=1e-4 (repeatable)."),
        address: Optional[str] = typer.Option(None, help="Ray cluster address (default $RAY_ADDRESS or local).")):
    """Run a sweep: every trial builds its mix, fine-tunes and evaluates; results land in Parquet."""
    overrides = parse_overrides(set_)
    if name:
        overrides["name"] = name
    if storage:
        overrides["storage"] = storage
    try:
        _report_outcome(sweep.run_sweep(load_spec(spec, overrides), address=address))
    except (SpecError, StorageError, EndpointError) as err:
        fail(err)


@app.command()
def resume(path: str = typer.Argument(..., help="Experiment folder, e.g. runs/smoke"),
           retry_failed: bool = typer.Option(False, "--retry-failed", help="Also rerun trials that failed."),
           address: Optional[str] = typer.Option(None, help="Ray cluster address.")):
    """Continue an interrupted sweep; finished trials and finished stages are never redone."""
    try:
        _report_outcome(sweep.resume(path, retry_failed=retry_failed, address=address))
    except (SpecError, StorageError, EndpointError) as err:
        fail(err)


@app.command()
def validate(spec: str = typer.Argument(..., help="Sweep spec YAML.")):
    """Check a sweep spec without running anything."""
    try:
        s = load_spec(spec)
    except SpecError as err:
        fail(err)
    try:
        s = check_search(s)
    except SpecError as err:
        fail(SpecError(f"{spec}: {err}"))
    extra = extra_trials(s)  # a surrogate search's interpolated models, beyond its budget
    what = (f"{s.search.searcher} search of {s.search.num_samples} trial(s)"
            + (f" and {extra} interpolated model(s)" if extra else "") if s.search.searcher != "grid"
            else f"{len(grid_points(s))} grid point(s)")
    console.print(f"[green]ok[/green] {spec}: sweep {s.name!r}, {what}")


@app.command()
def families(show: Optional[str] = typer.Option(None, "--show", metavar="FAMILY",
                                               help="Print a sample conversation as FAMILY trains on it."),
             model: Optional[str] = typer.Option(None, help="With --show: a model source (Hugging Face id, "
                                                 "folder, .gguf) instead of the family's tiny twin."),
             chat_template: str = typer.Option("auto", help="With --show: auto, own or vicuna (model.chat_template).")):
    """List the registered model families, or show one family's chat format token by token."""
    if show:
        return _show_format(show, model, chat_template)
    table = Table("family", "aliases", "sizes → Hugging Face id", "format (auto)", "LoRA targets", "ZeRO")
    for key, fam in sorted(FAMILIES.items()):
        if key == fam.name:
            table.add_row(fam.name, ", ".join(fam.aliases), "\n".join(f"{k}: {v}" for k, v in fam.hf_ids.items()),
                          fam.format_name, ",".join(fam.lora_targets), str(fam.deepspeed_stage))
    console.print(table)


def _show_format(family: str, model: Optional[str], chat_template: str) -> None:
    if chat_template not in ("auto", "own", "vicuna"):
        fail(ValueError(f"--chat-template {chat_template!r}: expected auto, own or vicuna"))
    try:
        fam = get_family(family)
        sample = format_sample(family, model, chat_template)
    except (KeyError, ValueError) as err:
        fail(err)
    learned = sum(1 for learned, a, b in sample.segments() if learned for _ in range(a, b))
    console.print(f"[bold]{sample.family}[/bold] · {sample.source} · template: {sample.template}")
    console.print(f"base checkpoint's template: {fam.template_source}", highlight=False)
    console.print(f"{len(sample.ids)} tokens, {learned} learned ({LEARNED_OPEN}…{LEARNED_CLOSE}, green); "
                  "the rest is context only\n", highlight=False)
    marked = escape(sample.marked_text())
    marked = marked.replace(LEARNED_OPEN, f"[green]{LEARNED_OPEN}").replace(LEARNED_CLOSE, f"{LEARNED_CLOSE}[/green]")
    console.print(marked, highlight=False)
    console.print("\n[bold]tokens[/bold] (runs: learned in green)")
    for is_learned, a, b in sample.segments():
        pieces = " ".join(f"{i}:{p}" for i, p in zip(sample.ids[a:b], sample.pieces[a:b]))
        style = "green" if is_learned else "dim"
        console.print(f"[{style}]{'learned' if is_learned else 'masked '} {b - a:4d} │ {escape(pieces)}[/{style}]",
                      highlight=False)


spec_app = typer.Typer(help="The sweep spec: its reference page.", no_args_is_help=True)


@spec_app.command("reference")
def spec_reference(out: Optional[str] = typer.Option(None, "--out", "-o", help="Write the Markdown here (e.g. "
                                                    "docs/spec.md) instead of printing it.")):
    """Render every section and field of the sweep spec (types, defaults, allowed values, hashing) as Markdown."""
    text = render_reference()
    if out is None:
        sys.stdout.write(text)
        return
    atomic_write_text(out, text)
    console.print(f"wrote {out} ({len(text.splitlines())} lines)")


def _mount() -> None:
    """Attach the stage packages' own commands (codemix data ..., codemix eval ..., codemix report)."""
    app.add_typer(data_app, name="data", help="Ingest, inspect, classify, audit and mix IFT data.")
    app.add_typer(eval_app, name="eval", help="Evaluation tasks and extractor agreement.")
    app.add_typer(spec_app, name="spec", help="The sweep spec: its reference page.")
    app.command(help="Analyse one or more experiments: tables, figures, a Markdown/HTML report.")(report)
    app.command(help="Dry run: list a spec's trials, what is cached, and estimated GPU-hours.")(plan)


_mount()


def main() -> None:
    """Entry point of the `codemix` command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
