"""``codemix data ...``: inspect, classify, audit and mix from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import typer
from rich.table import Table

from codemix.cli_common import console, fail
from codemix.data.accounting import RecordError
from codemix.data.audit import agreement, sample_per_class
from codemix.data.mix import MixInfeasibleError, build_mix, write_mix
from codemix.data.pool import label_pool
from codemix.endpoints import EndpointError
from codemix.spec import ClassifierConfig, DataConfig, MixConfig
from codemix.storage import atomic_write_json, atomic_write_parquet

app = typer.Typer(help="The data stage: inspect, classify, audit and mix IFT conversations.", no_args_is_help=True)


def _counts_table(title: str, counts: dict, key: str = "reason") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    table.add_column("count", justify="right")
    for k, v in sorted(counts.items()):
        table.add_row(k, str(v))
    return table


def _print_report(report: dict, max_errors: int = 20) -> None:
    console.print(f"files: {', '.join(report['files'])}")
    console.print(f"records in: {report['records_in']}   conversations out: {report['records_out']}")
    for title, key, col in [("formats", "formats", "format"), ("dropped", "dropped", "reason"),
                            ("repaired", "repaired", "reason"), ("classes", "classes", "label"),
                            ("code languages", "languages", "language"), ("classifier stats", "stats", "stat")]:
        if report.get(key):
            console.print(_counts_table(title, report[key], col))
    if report["errors"]:
        shown = min(max_errors, len(report["errors"]))
        table = Table(title=f"located errors (first {shown} of {report['errors_total']})", title_justify="left")
        for col in ("file", "line", "field", "message"):
            table.add_column(col)
        for e in report["errors"][:max_errors]:
            table.add_row(e["file"], str(e["line"]), e["field"], e["message"])
        console.print(table)


def _data_config(files: list[str], strict: bool, language: str | None, max_tokens: int | None,
                 keep_prompt_only: bool, classifier: ClassifierConfig) -> DataConfig:
    return DataConfig(source=[str(f) for f in files], strict=strict, language=language, max_tokens=max_tokens,
                      keep_prompt_only=keep_prompt_only, classifier=classifier)


def _run(cfg: DataConfig, cache_dir: Path | None) -> tuple[pa.Table, dict]:
    try:
        with console.status(f"ingest, clean, classify ({cfg.classifier.name}) ..."):
            return label_pool(cfg, cache_dir)
    except EndpointError as err:  # a paid endpoint that cannot serve the labels: nothing is written
        fail(err)
    except (RecordError, FileNotFoundError, ValueError) as err:
        fail(err, code=1)


@app.command()
def inspect(files: list[str] = typer.Argument(..., help="ShareGPT/Alpaca JSON, JSONL, Parquet files or folders, "
                                              "pkg://<package>/<file>, or sharegpt-pypi."),
            strict: bool = typer.Option(False, help="Stop at the first malformed record."),
            language: str | None = typer.Option(None, help="Keep only this language (e.g. en)."),
            max_tokens: int | None = typer.Option(None, help="Split conversations longer than this."),
            keep_prompt_only: bool = typer.Option(True, help="Keep conversations without an assistant turn."),
            as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")):
    """Ingest report: counts per drop/repair reason, located errors, heuristic class counts."""
    cfg = _data_config(files, strict, language, max_tokens, keep_prompt_only, ClassifierConfig(name="heuristic"))
    _, report = _run(cfg, None)
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        _print_report(report)


@app.command()
def classify(files: list[str] = typer.Argument(..., help="Input files or folders, pkg://<package>/<file>, "
                                               "or sharegpt-pypi."),
             out: Path = typer.Option(..., "--out", "-o", help="Labelled Parquet to write (report beside it)."),
             classifier: str = typer.Option("heuristic", help="Registered classifier: heuristic, llm, ..."),
             model: str = typer.Option("gpt-3.5-turbo", help="Model for the llm classifier."),
             base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL)."),
             api_key_env: str = typer.Option("OPENAI_API_KEY", help="Environment variable holding the key."),
             concurrency: int = typer.Option(8, help="Parallel requests for the llm classifier."),
             fallback: str = typer.Option("none", help="'heuristic': label what the llm could not (marked "
                                          "fallback:... in the classifier column); 'none': drop it."),
             max_failure_share: float = typer.Option(0.01, help="Share of conversations the llm may leave "
                                                     "unlabelled before classify stops."),
             cache_dir: Path | None = typer.Option(None, help="Folder of the llm label cache "
                                                   "(default $CODEMIX_HOME/labels)."),
             strict: bool = typer.Option(False), language: str | None = typer.Option(None),
             max_tokens: int | None = typer.Option(None), keep_prompt_only: bool = typer.Option(False)):
    """Label file(s) coding / math / other into a Parquet file (LABELLED_SCHEMA)."""
    try:
        endpoint = {"model": model, "base_url": base_url, "api_key_env": api_key_env, "concurrency": concurrency,
                    "max_failure_share": max_failure_share}
        ccfg = ClassifierConfig(name=classifier, endpoint=endpoint, fallback=fallback)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    table, report = _run(_data_config(files, strict, language, max_tokens, keep_prompt_only, ccfg), cache_dir)
    atomic_write_parquet(out, table)
    atomic_write_json(out.with_suffix(".report.json"), report)
    _print_report(report, max_errors=5)
    console.print(f"wrote {table.num_rows} rows to {out}")


def _read_labels(path: Path, label_column: str) -> dict[str, str]:
    """id -> label from a Parquet or CSV file."""
    if path.suffix == ".csv":
        table = pcsv.read_csv(path)
    else:
        table = pq.read_table(path)
    for col in ("id", label_column):
        if col not in table.column_names:
            fail(f"{path}: no column {col!r} (has {', '.join(table.column_names)})", code=1)
    return dict(zip(map(str, table.column("id").to_pylist()), table.column(label_column).to_pylist()))


@app.command()
def audit(labelled: Path = typer.Argument(..., help="Labelled Parquet (output of `classify`)."),
          against: Path = typer.Argument(..., help="A second labelled Parquet, or a CSV/Parquet with id,label."),
          label_column: str = typer.Option("label", help="Label column of AGAINST."),
          sample: int = typer.Option(3, help="Random conversations per class to print."),
          seed: int = typer.Option(0)):
    """Confusion matrix and Cohen's kappa between two labelings, plus a sample per class to read."""
    table = pq.read_table(labelled)
    mine = dict(zip(table.column("id").to_pylist(), table.column("label").to_pylist()))
    theirs = _read_labels(against, label_column)
    ids = [i for i in mine if i in theirs]
    if not ids:
        fail(f"no ids in common between {labelled} and {against}", code=1)
    result = agreement([theirs[i] for i in ids], [mine[i] for i in ids])
    console.print(f"{len(ids)} conversations in common ({len(mine) - len(ids)} only in {labelled.name}, "
                  f"{len(theirs) - len(ids)} only in {against.name})")
    cm = Table(title=f"rows: {against.name}   columns: {labelled.name}", title_justify="left")
    cm.add_column("")
    for lab in result["labels"]:
        cm.add_column(lab, justify="right")
    for lab, row in zip(result["labels"], result["confusion"]):
        cm.add_row(lab, *map(str, row))
    console.print(cm)
    console.print(f"accuracy {result['accuracy']:.3f}   Cohen's kappa {result['kappa']:.3f}")
    turns = table.column("turns").to_pylist()
    for lab, rows in sample_per_class(table.column("id").to_pylist(), table.column("label").to_pylist(),
                                      sample, seed).items():
        console.rule(f"{lab}: {len(rows)} sampled")
        for r in rows:
            first = turns[r][0]["content"] if turns[r] else ""
            console.print(f"[bold]{table.column('id')[r].as_py()}[/bold]: {first[:200]!r}")


@app.command()
def mix(pool: Path = typer.Argument(..., help="Labelled Parquet pool."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for mix.parquet + manifest.json."),
        proportion: float = typer.Option(..., "--proportion", "-p", help="Share of coding examples, 0..1."),
        total: int = typer.Option(64, help="Examples in the mix."), seed: int = typer.Option(0),
        code_language: str = typer.Option("any", help="'any' or e.g. python."),
        corruption: float = typer.Option(0.0, help="Code damage level 0..1."),
        math: str = typer.Option("general", help="general | exclude | own"),
        math_proportion: float = typer.Option(0.0), nested: bool = typer.Option(True)):
    """Build one IFT mix from a labelled pool into a folder."""
    table = pq.read_table(pool)
    try:
        cfg = MixConfig(total=total, math=math, math_proportion=math_proportion, nested=nested)
        mixed, manifest = build_mix(table, cfg, proportion, seed, code_language, corruption)
    except (MixInfeasibleError, ValueError) as err:
        fail(err, code=1)
    write_mix(mixed, manifest, out)
    console.print(_counts_table("mix counts", manifest["counts"], "class"))
    console.print(f"wrote {mixed.num_rows} examples to {out} (sha256 {manifest['sha256'][:16]})")
