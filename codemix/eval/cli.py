"""``codemix eval ...``: list the registered tasks, and compare two answer extractors.

    codemix eval tasks [--data-dir shared/data/reasoning]
    codemix eval agreement runs/x/results/predictions/ --a rules --b llm
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from codemix.endpoints import EndpointError

app = typer.Typer(help="Evaluation tasks and extractor agreement.", no_args_is_help=True)
console = Console()


@app.command()
def tasks(data_dir: Optional[str] = typer.Option(None, help="Count the records of the public files here too.")):
    """List the registered tasks (domain, answer type, example counts) and suites."""
    from codemix.eval.tasks import SUITES, TaskDataError, get_task, list_tasks
    from codemix.eval.tasks.base import GENERATED_SIZE

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


def re_extract(rows: list[dict], extractor: str) -> list[str | None]:
    """Extract answers again from the stored raw ``output`` column with the named extractor."""
    from codemix.eval.extract import extract_answer
    from codemix.eval.tasks import get_task

    if extractor == "rules":
        out = []
        for r in rows:
            t = get_task(r["task"])
            out.append(extract_answer(t.extractor or t.answer_type, r["output"] or "", t.vocabulary or None))
        return out
    from codemix.eval.llm_extract import get_llm_extractor

    items = []
    for r in rows:
        t = get_task(r["task"])
        items.append((t.extractor or t.answer_type, r["output"] or "", t.vocabulary or None))
    if extractor == "llm":
        return get_llm_extractor().extract_many(items)
    if extractor == "cascade":
        ruled = re_extract(rows, "rules")
        todo = [i for i, v in enumerate(ruled) if v is None]
        for i, v in zip(todo, get_llm_extractor().extract_many([items[i] for i in todo])):
            ruled[i] = v
        return ruled
    if extractor == "stored":
        return [r.get("extracted") for r in rows]
    raise typer.BadParameter(f"unknown extractor {extractor!r}; use rules, llm, cascade or stored")


def agreement_table(rows: list[dict], a: list[str | None], b: list[str | None]) -> list[dict]:
    """Per task (and overall): how often the two extractions agree, and how often each found nothing."""
    from codemix.eval.extract import is_correct
    from codemix.eval.tasks import get_task

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
              limit: Optional[int] = typer.Option(None, help="Only the first N rows.")):
    """How often two answer extractors agree, re-extracting from the stored raw outputs."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(predictions)
    except (OSError, ValueError) as err:
        console.print(f"[red]error:[/red] {predictions}: cannot read Parquet ({err})")
        raise typer.Exit(2)
    missing = {"task", "output"} - set(table.column_names)
    if missing:
        console.print(f"[red]error:[/red] {predictions}: missing column(s) {', '.join(sorted(missing))}")
        raise typer.Exit(2)
    rows = table.to_pylist()[:limit]
    try:
        extracted = re_extract(rows, a), re_extract(rows, b)
    except EndpointError as err:  # the LLM extractor's endpoint cannot serve: say where, exit 2
        console.print(f"[red]error:[/red] {escape(str(err))}")
        raise typer.Exit(2) from None
    out = Table("task", "n", "agreement", f"{a}: none", f"{b}: none")
    for s in agreement_table(rows, *extracted):
        out.add_row(s["task"], str(s["n"]), f"{s['agreement']:.1%}", str(s["a_none"]), str(s["b_none"]))
    console.print(out)
