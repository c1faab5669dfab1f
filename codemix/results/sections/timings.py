"""Where the time went: each experiment's stage table (``codemix.results.timings``: the driver's start-up, then
each trial's stages and the phases inside them); experiments that recorded no timings are left out.
"""

from __future__ import annotations

from codemix.results.timings import format_seconds, split_table, stage_table


def timing_section(doc, experiments) -> None:
    """The report's section: each experiment's stage table (experiments that recorded no timings are left out)."""
    tables = [(e.name, stage_table(e.path)) for e in experiments]
    tables = [(name, t) for name, t in tables if len(t)]
    if not tables:
        return
    doc.heading("Where the time went")
    doc.text("Seconds, wall time, on the machine that ran the sweep. Start-up: the driver's imports, preflight, the "
             "data stage (the labelled pool), Ray's start, Tune's set-up. Per trial: waited (Tune's scheduling and a "
             "trial process's start), its stages (train: the optimiser steps within it; eval: the engine's start or "
             "reuse, loading the tuned weights, the reasoning and answer passes, scoring) and writing its results.")
    for name, table in tables:
        if len(tables) > 1:
            doc.heading(name, 3)
        for part in split_table(table):
            if len(part):
                doc.table(format_seconds(part))
