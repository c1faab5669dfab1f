"""``codemix eval ...``: list the registered tasks, and compare two answer extractors.

    codemix eval tasks [--data-dir shared/data/reasoning]
    codemix eval agreement runs/x/results/predictions/ --a rules --b llm
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Optional

import pyarrow.parquet as pq
import typer
from rich.table import Table

from codemix.cli_common import console, fail
from codemix.endpoints import EndpointError
from codemix.eval import SUITES, Example, TaskDataError, get_task, is_correct, list_tasks, make_extractor, score_many
from codemix.eval.tasks.base import GENERATED_SIZE
from codemix.spec import EvalConfig

app = typer.Typer(help="Evaluation tasks and extractor agreement.", no_args_is_help=True)


@app.command()
def tasks(data_dir: Optional[str] = typer.Option(None, help="Count the records of the public files here too.")):
    """List the registered tasks (domain, answer type, example counts) and suites."""
    table = Table("task", "domain", "answer type", "source", "examples", "description")
    for name in list_tasks():
        t = get_task(name)
        source = "generator" if t.generated_is_real else "files + generator twin"
        count = str(GENERATED_SIZE) + " (generated)"
        if data_dir and not t.generated_is_real:
            try:
                count = str(len(t.read_all(data_dir)))
            except TaskDataError as err:
                count = f"[red]{err}[/red]"
        table.add_row(name, t.domain, t.answer_type, source, count, t.description)
    console.print(table)
    for suite, names in sorted(SUITES.items()):
        console.print(f"suite [bold]{suite}[/bold] ({len(names)}): {', '.join(names)}")


def re_extract(rows: list[dict], extractor: str, eval_cfg=None) -> list[str | None]:
    """Extract answers again from the stored raw ``output`` column, scored as the sweep scores them.

    ``extractor``: "rules", "llm", "cascade" (LLM settings from ``eval_cfg``, an EvalConfig) or
    "stored" (the ``extracted`` column as written).
    """
    if extractor == "stored":
        return [r.get("extracted") for r in rows]
    try:
        chosen = make_extractor(eval_cfg or EvalConfig(), extractor)
    except ValueError as err:
        raise typer.BadParameter(f"{err} (or 'stored')") from None
    items = [(get_task(r["task"]), Example(id=str(r.get("example_id", i)), question="", gold=r.get("gold") or "",
                                           choices=tuple(r["choices"]) if r.get("choices") else None), r["output"])
             for i, r in enumerate(rows)]
    return [s.extracted for s in score_many(items, chosen)]


def agreement_table(rows: list[dict], a: list[str | None], b: list[str | None]) -> list[dict]:
    """Per task (and overall): how often the two extractions agree, and how often each found nothing."""
    stats: dict[str, Counter] = defaultdict(Counter)
    for r, x, y in zip(rows, a, b):
        t = get_task(r["task"])
        kind = t.extractor or t.answer_type
        same = (x is None and y is None) or (x is not None and y is not None and is_correct(kind, x, y))
        for key in (r["task"], "ALL"):
            stats[key].update(n=1, agree=same, a_none=x is None, b_none=y is None)
    return [{"task": k, "n": c["n"], "agreement": c["agree"] / c["n"], "a_none": c["a_none"], "b_none": c["b_none"]}
            for k, c in sorted(stats.items(), key=lambda kv: (kv[0] == "ALL", kv[0]))]


@app.command()
def agreement(predictions: str = typer.Argument(..., help="Predictions Parquet file or folder (needs task, output)."),
              a: str = typer.Option("rules", "--a", help="First extractor: rules, llm, cascade or stored."),
              b: str = typer.Option("llm", "--b", help="Second extractor."),
              model: str = typer.Option("gpt-3.5-turbo", help="Model of the llm/cascade extractor."),
              base_url: Optional[str] = typer.Option(None, help="Its endpoint (default $OPENAI_BASE_URL)."),
              api_key_env: str = typer.Option("OPENAI_API_KEY", help="Environment variable holding its key."),
              limit: Optional[int] = typer.Option(None, help="Only the first N rows.")):
    """How often two answer extractors agree, re-extracting from the stored raw outputs as the sweep does."""
    try:
        table = pq.read_table(predictions)
    except (OSError, ValueError) as err:
        fail(f"{predictions}: cannot read Parquet ({err})")
    missing = {"task", "output"} - set(table.column_names)
    if missing:
        fail(f"{predictions}: missing column(s) {', '.join(sorted(missing))}")
    rows = table.to_pylist()[:limit]
    unknown = sorted({r["task"] for r in rows} - set(list_tasks()))
    if unknown:
        fail(f"{predictions}: unknown task(s) {', '.join(unknown)}")
    no_options = [i for i, r in enumerate(rows) if get_task(r["task"]).answer_type == "option" and not r.get("choices")]
    if no_options:
        fail(f"{predictions}: {len(no_options)} option-task row(s) have no 'choices' (first: row {no_options[0]}); "
             "they cannot be scored as the sweep scored them (predictions written before choices were stored)")
    cfg = EvalConfig(extractor_endpoint={"model": model, "base_url": base_url, "api_key_env": api_key_env})
    try:
        extracted = re_extract(rows, a, cfg), re_extract(rows, b, cfg)
    except EndpointError as err:  # the LLM extractor's endpoint cannot serve: say where, exit 2
        fail(err)
    out = Table("task", "n", "agreement", f"{a}: none", f"{b}: none")
    for s in agreement_table(rows, *extracted):
        out.add_row(s["task"], str(s["n"]), f"{s['agreement']:.1%}", str(s["a_none"]), str(s["b_none"]))
    console.print(out)
