"""The sweep's data stage, once per sweep in the driver before Ray starts: the labelled pool, and
whether every mix of the sweep can be drawn from it.

An infeasible request fails here, before any compute; ``codemix plan`` lists every infeasible mix
(``infeasible_mixes``) without labelling anything it would pay for.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from codemix import cache
from codemix.config import SpecError, SweepSpec
from codemix.storage import Store
from codemix.sweep.space import grid_points


def infeasible_mixes(spec: SweepSpec, pool: pa.Table) -> list[tuple[float, str, Exception]]:
    """(proportion, code_language, why) for every mix of the sweep the pool cannot fill, in sorted order."""
    from codemix.data import MixInfeasibleError, check_mix_feasible

    out = []
    for p, lang in sorted({(p.proportion, p.code_language) for p in grid_points(spec) if not p.untuned}):
        try:
            check_mix_feasible(pool, spec.mix, p, lang)
        except MixInfeasibleError as err:
            out.append((p, lang, err))
    return out


def convert_models_in_background(spec: SweepSpec) -> Future | None:
    """Convert the sweep's GGUF models to safetensors folders (once per machine, ``codemix.models.gguf``) in a
    process of its own, while the driver builds the pool and starts Ray: on one machine the trials then find them
    converted (a multi-node cluster's nodes convert their own). A process, not a thread: both are CPU-bound Python
    and would share one core under the GIL. The future's result re-raises a failed conversion; None: nothing to
    convert, or converted already."""
    from codemix.models.loading import needs_conversion, resolve_model_source

    gguf = sorted(s for s in {resolve_model_source(f, spec.model) for f in spec.search.family} if needs_conversion(s))
    if not gguf:
        return None
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(convert_models, gguf)
    pool.shutdown(wait=False)  # the process ends after its one task
    return future


def convert_models(sources: list[str]) -> list[str]:
    """The local folders of model sources (GGUF files converted on the way)."""
    from codemix.models.loading import local_model_dir

    return [local_model_dir(s) for s in sources]


def prepare_data(spec: SweepSpec, store: Store) -> tuple[str, str]:
    """Ingest and label the pool once per sweep (cached) and check every mix is feasible.

    Runs in the driver before Ray starts, so an infeasible request fails before any compute.
    """
    from codemix.data import prepare_pool, storage_labels_dir
    from codemix.paths import local_data_dir

    tuned = [p for p in grid_points(spec) if not p.untuned]
    if not tuned:  # an untuned sweep (train.method: none) needs no IFT data
        return "", ""
    with storage_labels_dir(spec.data.classifier, store) as labels_dir:  # labels are paid once per storage
        pool, pool_hash, report = prepare_pool(spec.data, local_data_dir(), labels_dir)
    infeasible = infeasible_mixes(spec, pool)
    if infeasible:  # the first is enough to stop; `codemix plan` lists them all
        p, lang, err = infeasible[0]
        raise SpecError(f"sweep {spec.name!r}: mix.total = {spec.mix.total} at proportion {p}, "
                        f"code_language {lang!r} is infeasible: {err}")
    key = cache.pool_key(pool_hash)

    def write(d: Path) -> None:
        pq.write_table(pool, d / "pool.parquet")
        (d / "report.json").write_text(json.dumps(report, indent=2, default=str))

    cache.publish(store, key, write)
    return key, pool_hash
