"""``codemix plan``: a sweep's trials, what is cached, what it costs and whether it fits (mounted by codemix.cli)."""

from __future__ import annotations

from typing import Optional

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from codemix.cli_common import fail, parse_overrides
from codemix.config import SpecError, load_spec
from codemix.gpus import GPUS
from codemix.storage import StorageError, Store
from codemix.sweep.capacity import admit, config_shape
from codemix.sweep.cluster import check_storage_shared, cluster_info_at, print_cluster
from codemix.sweep.plan import check_fits, plan_sweep
from codemix.sweep.preflight import check_endpoints


def plan(spec: str = typer.Argument(..., help="Sweep spec YAML."),
         gpu: str = typer.Option("A100-80GB", help=f"GPU type for estimates: {', '.join(g.name for g in GPUS)}."),
         cluster: Optional[str] = typer.Option(None, help="cluster.yaml to check that every trial fits on it."),
         set_: list[str] = typer.Option([], "--set", help="Override a field: --set data.source=PATH."),
         address: Optional[str] = typer.Option(None, help="Ray cluster to describe (default $RAY_ADDRESS or "
                                                          "the one running here).")):
    """Dry run: list the trials, what is cached, and estimated GPU-hours."""
    console = Console()
    try:
        s = load_spec(spec, parse_overrides(set_))
        ray_cluster = cluster_info_at(address)
        print_cluster(Console(width=max(console.width, 110)), s, ray_cluster)
        if ray_cluster:
            check_storage_shared(s, ray_cluster)
        plans, assumptions = plan_sweep(s, gpu)
        endpoints = check_endpoints(s, Store(s.storage))
    except (SpecError, StorageError, KeyError) as err:
        fail(err)
    console = Console(width=max(console.width, 110))
    search = assumptions.pop("search", None)
    rows = (f"its first rung, at fidelity {s.search.halving.rungs[0]:g}" if s.search.searcher == "halving"
            else "the corners of its range")
    what = f"{s.search.searcher} search, rows: {rows}" if search else f"{len(plans)} trials"
    table = Table(title=f"plan: {s.name} ({what}; stages: [green]✓[/green] cached, · to run)")
    for col in ["family", "p", "seed", "lang", "corr", "params", "mix", "train", "eval", "train GPU-h",
                "eval GPU-h", "GB/GPU"]:
        table.add_column(col, justify="right", no_wrap=True)
    mark = {True: "[green]✓[/green]", False: "·"}
    for p in plans:
        table.add_row(p.point.family, "untuned" if p.point.untuned else f"{p.point.proportion:g}", str(p.point.seed),
                      p.point.code_language,
                      f"{p.point.corruption:g}", f"{p.params_b:g}B", mark[p.cached["mix"]], mark[p.cached["train"]],
                      mark[p.cached["eval"]], f"{p.gpu_hours_train:.2f}", f"{p.gpu_hours_eval:.2f}",
                      f"{p.memory_per_gpu_gb:.0f}" if p.memory_per_gpu_gb else "-")
    console.print(table)
    infeasible = assumptions.pop("infeasible", [])
    total = sum(p.gpu_hours_train + p.gpu_hours_eval for p in plans)
    if search:  # the searcher's new trials, each at the corners' mean cost; known points cost nothing
        console.print(search["start"].describe())
        total = search["start"].to_run * search["gpu_hours_per_trial"]
    console.print(f"total ≈ {total:.1f} GPU-hours on {gpu}; assumptions: {assumptions}")
    launcher = yaml.safe_load(open(cluster)) if cluster else None
    problems = check_fits(plans, assumptions, s, launcher)
    problems += infeasible
    if launcher:  # what the cluster holds at once at its largest, as a sweep on it admits trials
        try:
            console.print(admit(s, config_shape(launcher, s, cluster)).describe())
        except SpecError as err:
            problems.append(str(err))
    for problem in problems:
        console.print(f"[red]will not fit:[/red] {problem}")
    for check in endpoints:
        color = {"ok": "green", "skipped": "yellow"}.get(check.status, "red")
        console.print(f"[{color}]endpoint {check.status}:[/{color}] {escape(check.line())}")
    if problems or any(check.error for check in endpoints):
        raise typer.Exit(1)
