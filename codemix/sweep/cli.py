"""``codemix plan``: a sweep's trials, what is cached, what it costs and whether it fits (mounted by codemix.cli)."""

from __future__ import annotations

from typing import Optional

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from codemix.cli_common import fail, parse_overrides
from codemix.eval import TaskDataError
from codemix.runtime import GPUS
from codemix.spec import SpecError, SweepSpec, load_spec
from codemix.storage import StorageError, Store
from codemix.sweep.capacity import admit, config_shape
from codemix.sweep.cluster import ClusterInfo, cluster_info_at, fits
from codemix.sweep.plan import check_fits, plan_sweep
from codemix.sweep.power_forecast import TARGET_MDE, PowerForecast, forecast_power
from codemix.sweep.preflight import check_endpoints
from codemix.sweep.storage_checks import check_storage_shared, output_locations


def plan(spec: str = typer.Argument(..., help="Sweep spec YAML."),
         gpu: str = typer.Option("A100-80GB", help=f"GPU type for estimates: {', '.join(g.name for g in GPUS)}."),
         cluster: Optional[str] = typer.Option(None, help="cluster.yaml to check that every trial fits on it."),
         set_: list[str] = typer.Option([], "--set", help="Override a field: --set data.source=PATH."),
         address: Optional[str] = typer.Option(None, help="Ray cluster to describe (default $RAY_ADDRESS or "
                                                          "the one running here)."),
         target_mde: float = typer.Option(TARGET_MDE, min=1e-4, max=1.0, help="The accuracy difference the sweep "
                                          "should detect: the plan gives the questions per task it needs.")):
    """Dry run: list the trials, what is cached, estimated GPU-hours, and the smallest effect the design can detect."""
    console = Console()
    try:
        s = load_spec(spec, parse_overrides(set_))
        ray_cluster = cluster_info_at(address)
        print_cluster(Console(width=max(console.width, 110)), s, ray_cluster)
        if ray_cluster:
            check_storage_shared(s, ray_cluster)
        plans, assumptions = plan_sweep(s, gpu)
        forecast = forecast_power(s, target_mde)
        endpoints = check_endpoints(s, Store(s.storage))
    except (SpecError, StorageError, KeyError, TaskDataError) as err:  # task files: the plan reads their sizes
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
        start = search["start"]  # trials beyond the budget (interpolated models) train nothing: evaluation only
        total = ((start.to_run - start.extra) * search["gpu_hours_per_trial"]
                 + start.extra * search["gpu_hours_per_eval"])
    console.print(f"total ≈ {total:.1f} GPU-hours on {gpu}; assumptions: {assumptions}")
    print_power(console, forecast)
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


def _span(values: list[int]) -> str:
    return f"{min(values)}" if min(values) == max(values) else f"{min(values)}-{max(values)}"


def _same_forecasts(forecast: PowerForecast) -> dict[str, list[str]]:
    """The first family of each group of families whose forecasts are the same -> the group (shown as one)."""
    rows = {}
    for f in forecast.scopes:
        rows.setdefault(f.family, []).append((f.scope, f.n_pairs, round(f.discordance, 6), f.source,
                                              round(f.mde.value, 6), f.questions_needed))
    groups = {}
    for family, signature in rows.items():
        groups.setdefault(tuple(signature), []).append(family)
    return {families[0]: families for families in groups.values()}


def print_power(console: Console, forecast: PowerForecast) -> None:
    """The power section of the plan: the MDE per family and scope, the questions a target needs, the basis."""
    seeds = forecast.scopes[0].seeds if forecast.scopes else 0
    compared = (", ".join(forecast.comparisons) if len(forecast.comparisons) <= 4
                else f"each of {len(forecast.comparisons)} proportions vs 0")
    table = Table(title=f"power: minimum detectable effect of {compared}, {seeds} seed(s) "
                        f"(McNemar, paired as the report pairs; α {forecast.alpha:g}, power {forecast.power:.0%})")
    for col in ["family", "scope", "tasks", "q/task", "n", "accuracy", "p_d", "p_d from", "MDE",
                f"q/task for ±{forecast.target:g}"]:
        table.add_column(col, justify="left" if col in ("family", "scope", "p_d from") else "right",
                         no_wrap=col not in ("family", "p_d from", f"q/task for ±{forecast.target:g}"))
    notes, shown = [], _same_forecasts(forecast)
    for f in forecast.scopes:
        if f.family not in shown:
            continue  # its rows are those of a family listed with it
        if f.questions_needed is None:
            needed = (f"unreachable: ±{f.mde_all_data:.3f} with all data" if f.mde_all_data == f.mde_all_data
                      else "unreachable")
        else:
            needed = str(f.questions_needed) + (f" ({len(f.capped)} capped)" if f.capped else "")
        if f.capped:
            notes.append(f"{f.scope}: " + ", ".join(
                f"{t.task} has {t.available}" for t in f.tasks if t.task in f.capped) + " questions, all used")
        group = shown[f.family]
        table.add_row(f"all {len(group)}" if len(group) == len(forecast.basis) > 1 else ", ".join(group), f.scope,
                      str(len(f.tasks)), _span([t.questions for t in f.tasks]), str(f.n_pairs),
                      "–" if f.accuracy != f.accuracy else f"{f.accuracy:.3f}", f"{f.discordance:.3f}", f.source,
                      f"±{f.mde.value:.3f}" + ("*" if f.mde.assumed else ""), needed)
    console.print(table)
    for basis in dict.fromkeys(forecast.basis.values()):
        families = [family for family, b in forecast.basis.items() if b == basis]
        console.print(f"  discordance of {', '.join(families)}: {escape(basis)}")
    console.print("  MDE = (z₁₋α/₂ + z_power)·√(p_d / n): n = seeds × Σ q/task over the scope's tasks (the pairs), p_d "
                  "the share of them two mixes are expected to disagree on; the formula of the report's MDE "
                  "(codemix.results.power). * fewer than half a discordant pair expected: half a pair assumed. "
                  "q/task: eval.limit, each task capped at its data. p_d from: observed (earlier trials, paired as "
                  "the report pairs them), pooled (their share on the other tasks), from accuracy (2a(1-a)(1-r), a "
                  "the earlier accuracy), assumed (resources.estimate).")
    for note in dict.fromkeys(notes):
        console.print(f"  capped: {escape(note)}")


def print_cluster(console, spec: SweepSpec, cluster: ClusterInfo | None) -> None:
    """The cluster's nodes (which can hold trial drivers and training workers) and each output's location."""
    r = spec.resources
    trial = {"CPU": r.trial_cpus, **r.trial_resources}
    worker = {"CPU": r.cpus_per_worker, "GPU": r.gpus_per_worker, **r.worker_resources}
    if cluster is None:
        console.print("Ray: no cluster here or at $RAY_ADDRESS; `codemix run` starts a one-node local cluster "
                      "(--address joins one)")
    else:
        grows = "; the autoscaler may add more" if cluster.autoscaling else ""
        table = Table(title=f"Ray cluster: {len(cluster.nodes)} node(s){grows}")
        for col in ["node", "address", "CPU", "GPU", "memory GB", "custom resources", "holds"]:
            table.add_column(col, no_wrap=True)
        for n in cluster.nodes:
            res = n.resources
            custom = {k: v for k, v in res.items() if k not in {"CPU", "GPU", "memory", "object_store_memory"}}
            holds = [name for name, demand in (("trials", trial), ("workers", worker))
                     if fits({k: v for k, v in demand.items() if v}, n)]
            table.add_row(f"{n.node_id[:8]}{' (head)' if n.is_head else ''}", n.address, f"{res.get('CPU', 0):g}",
                          f"{res.get('GPU', 0):g}", f"{res.get('memory', 0) / 2**30:.1f}",
                          ", ".join(f"{k} {v:g}" for k, v in sorted(custom.items())) or "-",
                          ", ".join(holds) or "-")
        console.print(table)
    seen = ("every node (object store)" if not Store(spec.storage).is_local else "every node (storage_shared: true)"
            if spec.storage_shared else "the node that writes it (a local folder)")
    console.print(f"stage outputs (seen by {seen}):")
    for name, where in output_locations(spec):
        console.print(f"  {name + ':':<40} {where}", soft_wrap=True)
