"""``codemix report``: analyse experiment folders and write the report (mounted by codemix.cli)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from codemix.cli_common import console, fail
from codemix.results import analysis
from codemix.results.figures import proportion_label
from codemix.storage import StorageError


def default_out(experiment: str) -> Path:
    """``<experiment>/report`` for a local folder, ``./report-<name>`` for a URI (s3://...)."""
    if "://" in experiment:
        return Path(f"report-{experiment.rstrip('/').rsplit('/', 1)[-1]}")
    return Path(experiment) / "report"


def _print_table(title: str, table, scopes: list[str]) -> None:
    out = Table(title=title)
    for col in ["family", "coding", *scopes]:
        out.add_column(col, justify="left" if col == "family" else "right", no_wrap=True)
    table = table.assign(cell=[f"{a:.3f} ±{(hi - lo) / 2:.2f}" for a, lo, hi in  # the report has the exact CI
                               zip(table["accuracy"], table["ci_low"], table["ci_high"])])
    table = table.assign(proportion=table["proportion"].fillna(-1.0))  # the untuned reference: first, kept
    wide = table.pivot_table(index=analysis.CONDITION, columns="scope", values="cell", aggfunc="first")
    for key, row in wide.reindex(columns=scopes).iterrows():
        family, language, corruption, proportion = key
        extra = "" if (language, corruption) == ("any", 0.0) else f" {language} c={corruption:g}"
        out.add_row(family + extra, proportion_label(None if proportion < 0 else proportion),
                    *[str(v) if isinstance(v, str) else "–" for v in row])
    console.print(out)


def report(experiments: list[str], out: str | None = None, html: bool = False, samples: int = 3) -> None:
    """Analyse one or more experiment folders together and write a Markdown (and --html) report.

    Identical trials across experiments count once; the report lands in OUT (default
    <first experiment>/report). SAMPLES: model outputs shown per trial and task (0: none).
    """
    from codemix.results.load import load_results
    from codemix.results.report import save_report

    with console.status("loading results") as status:
        try:
            results = load_results(experiments)
        except (StorageError, FileNotFoundError) as err:
            fail(err)
        path = save_report(results, out or default_out(experiments[0]), html, samples=samples,
                           progress=lambda msg: status.update(msg))
    print_summary(results)
    print_timings(results)
    console.print(f"report: {path}" + (f" and {path.with_suffix('.html')}" if html else ""))


def print_timings(results) -> None:
    """Print each experiment's stage table (``codemix.results.timings``): where its time went."""
    from codemix.results.timings import format_seconds, split_table, stage_table

    for e in results.experiments:
        tables = [t for t in split_table(stage_table(e.path)) if len(t)]
        if tables:
            console.print(f"{e.name}: seconds per stage (an indented column is part of the one before it)")
        for table in tables:  # plain text: a table this wide stays whole, however narrow the terminal
            print(format_seconds(table).to_string(index=False))


def print_summary(results) -> None:
    """Print overall and per-domain accuracy (with CIs) and the failed trials of a ResultSet."""
    if not results.scores.empty:
        overall = analysis.accuracy_table(results, "overall")
        domain = analysis.accuracy_table(results, "domain")
        _print_table("overall accuracy (mean over tasks) ± half the 95% CI", overall, ["overall"])
        _print_table("accuracy per domain (mean over the domain's tasks)", domain, list(dict.fromkeys(domain["scope"])))
    for _, t in results.failed.iterrows():
        first = (t["error"] or "").strip().splitlines()
        console.print(f"[red]failed[/red] {t['family']} {proportion_label(t['proportion'])} seed={t['seed']}: "
                      f"{first[0] if first else '(no message)'}")
