"""The report's Data section: the labelled pool the experiments' mixes were drawn from, as its report says.

Where it is found: each fine-tuned trial names its mix (``mix_hash`` in the trials table); the mix's
manifest, ``<storage>/_cache/mixes/<mix_hash>/manifest.json``, names its pool (``pool_hash``); the
pool's ingest/clean/classify report is ``<storage>/_cache/pools/<pool_hash>/report.json``, the
storage root being the experiment folder's parent (the local pool cache, $CODEMIX_HOME/data/pools,
is tried when the storage has no copy). Shown per pool: the data source(s), records in, kept, drops
and repairs by reason, the class counts, and the classifier with its measured accuracy
(``Classifier.measured``). A pool that cannot be found is said so in one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd
import pyarrow.parquet as pq

from codemix.data import measured_for_tag
from codemix.results.document import Document
from codemix.results.load import ResultSet
from codemix.storage import MIXES, Store, local_data_dir, mix_key, pool_key, pool_subdir

log = logging.getLogger("codemix")

CLASSES = ("coding", "math", "other")
MAX_ERRORS = 10  # located errors listed per pool (all are counted)
_READ_ERRORS = (OSError, ValueError, KeyError, TypeError)  # a missing, unreadable or malformed file


@dataclass
class PoolReport:
    """One pool met in the report: its hash, where its report was read (None: not found), the report."""

    pool_hash: str
    where: str | None = None
    report: dict | None = None
    experiments: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # the pool's classifier column, for a report that names none


def _storages(results: ResultSet) -> list[Store]:
    """The storage roots of the experiments (each folder's parent), once each."""
    seen, out = set(), []
    for e in results.experiments:
        try:
            root = Store(Store(e.path).parent_url())
        except _READ_ERRORS as err:
            log.info("%s: storage root not readable: %s", e.path, err)
            continue
        if root.url() not in seen:
            seen.add(root.url())
            out.append(root)
    return out


def _read_json(store: Store, key: str) -> dict | None:
    try:
        if not store.exists(key):
            return None
        value = store.read_json(key)
    except _READ_ERRORS as err:
        log.info("%s: not readable: %s", store.url(key), err)
        return None
    return value if isinstance(value, dict) else None


def _local_pools() -> Store | None:
    """The local pool cache ($CODEMIX_HOME/data), where ``prepare_pool`` writes first."""
    try:
        return Store(local_data_dir())
    except _READ_ERRORS:
        return None


def _pool_tags(store: Store, folder: str) -> list[str]:
    """The distinct values of the pool's ``classifier`` column (how its labels were made)."""
    try:
        table = pq.read_table(store.path(folder, "pool.parquet"), columns=["classifier"], filesystem=store.fs)
    except _READ_ERRORS:
        return []
    return sorted(set(table.column("classifier").to_pylist()) - {None})


def _pool_of_mix(storages: list[Store], mix_hash: str, seen: dict) -> tuple[str | None, Store | None]:
    """(pool_hash, the storage whose mix manifest named it), or (None, None). The trials table's ``mix_hash``
    is the mix's content hash (its manifest's ``sha256``) once the mix was built, the mix's cache key
    before: a manifest is found under the key, else by its content hash (``seen``: manifests read so far)."""
    for store in storages:
        manifest = _read_json(store, f"{mix_key(mix_hash)}/manifest.json")
        if manifest is None:
            manifest = next((m for m in _manifests(store, seen) if m.get("sha256") == mix_hash), None)
        if manifest is not None and manifest.get("pool_hash"):
            return str(manifest["pool_hash"]), store
    return None, None


def _manifests(store: Store, seen: dict) -> list[dict]:
    """Every mix manifest in a storage's cache (read once per storage and report)."""
    cached = seen.get(store.url())
    if cached is None:
        try:
            keys = store.list_dirs(MIXES)
        except _READ_ERRORS:
            keys = []
        cached = [m for m in (_read_json(store, f"{mix_key(k.rsplit('/', 1)[-1])}/manifest.json") for k in keys)
                  if m is not None]
        seen[store.url()] = cached
    return cached


def _read_pool(pool: PoolReport, places: list[tuple[Store, str]]) -> None:
    """Fill ``pool`` from the first of ``places`` (store, folder of the pool) that holds its report."""
    for store, folder in places:
        report = _read_json(store, f"{folder}/report.json")
        if report is not None:
            pool.where, pool.report = store.url(f"{folder}/report.json"), report
            if not isinstance(report.get("classifier"), dict):
                pool.tags = _pool_tags(store, folder)
            return


def find_pools(results: ResultSet) -> tuple[list[PoolReport], int]:
    """The pools the report's fine-tuned trials used, each with its report where found; and how many mixes
    named by the trials had no readable manifest (so no known pool)."""
    trials = results.trials
    if "mix_hash" not in trials:
        return [], 0
    storages = _storages(results)
    pools: dict[str, PoolReport] = {}
    first: dict[str, Store] = {}  # the storage that named each pool first
    unknown, seen = 0, {}
    for mix_hash, rows in trials.dropna(subset=["mix_hash"]).groupby("mix_hash", sort=True):
        pool_hash, store = _pool_of_mix(storages, str(mix_hash), seen)
        if pool_hash is None:
            unknown += 1
            continue
        pool = pools.setdefault(pool_hash, PoolReport(pool_hash))
        pool.experiments = sorted(set(pool.experiments) | {str(s) for s in rows["sweep"].unique()})
        first.setdefault(pool_hash, store)
    local = _local_pools()
    for pool_hash, pool in pools.items():
        places = [(s, pool_key(pool_hash)) for s in [first[pool_hash]] + [s for s in storages
                                                                                 if s is not first[pool_hash]]]
        _read_pool(pool, places + ([(local, pool_subdir(pool_hash))] if local is not None else []))
    return list(pools.values()), unknown


# ----------------------------------------------------------------------------- rendering


def _n(value) -> str:
    return f"{int(value):,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _counts(counts: dict, label: str, total_row: bool = True) -> pd.DataFrame:
    """A table of reason -> count, the largest first (with a total row where the counts add up to something)."""
    rows = sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
    if total_row:
        rows.append(("**total**", sum(v for _, v in rows)))
    return pd.DataFrame({label: [k if k.startswith("**") else f"`{k}`" for k, _ in rows],
                         "count": [_n(v) for _, v in rows]})


def _kept_line(report: dict) -> str:
    """'**Records in**: 17,672; **dropped**: 3,890; **kept**: 52,539 examples (= records in − dropped + 38,757 ...)'."""
    records_in, kept = int(report.get("records_in") or 0), report.get("records_out")
    dropped = sum(int(v) for v in (report.get("dropped") or {}).values())
    added = int((report.get("repaired") or {}).get("split_examples_added", 0))
    line = f"**Records in**: {_n(records_in)}; **dropped**: {_n(dropped)}; **kept**: "
    if kept is None:
        return line + "not recorded."
    line += f"{_n(kept)} examples in the pool"
    if int(kept) == records_in - dropped + added:  # every record accounted for
        line += (" (= records in − dropped" + (f" + {_n(added)} examples added by splitting long conversations"
                                               if added else "") + ")")
    return line + "."


def _classifier_lines(pool: PoolReport) -> list[str]:
    """'**Classifier**: `minilm-v1`. Measured accuracy: ...' (from the report, else from the pool's labels)."""
    info = pool.report.get("classifier")
    if isinstance(info, dict) and info.get("tag"):
        measured = info.get("measured") or "no measured accuracy declared"
        return [f"**Classifier**: `{info['tag']}`. **Measured**: {measured}."]
    if not pool.tags:
        return ["**Classifier**: not recorded in this pool's report (a pool made before codemix recorded it)."]
    out = []
    for tag in pool.tags:
        measured = measured_for_tag(tag)
        out.append(f"**Classifier** (from the pool's labels; the report names none): `{tag}`. **Measured**: "
                   + (f"{measured}." if measured else "none known for this version (not a classifier of this code)."))
    return out


def _cut_lines(report: dict) -> list[str]:
    """The located errors that say where a file stops being readable (a cut download, broken JSON)."""
    return [f"`{e.get('file')}`: {e.get('message')}" for e in report.get("errors") or []
            if isinstance(e, dict) and e.get("field") == "(json)" and "complete records" in str(e.get("message"))]


def _render_pool(doc: Document, pool: PoolReport, heading: bool) -> None:
    report = pool.report
    if heading:
        doc.heading(f"Pool `{pool.pool_hash}`", 3)
    used = ", ".join(f"`{e}`" for e in pool.experiments)
    sources = report.get("sources") or []
    files = report.get("files") or []
    lines = [f"**Pool** `{pool.pool_hash}` (used by {used}), report read from `{pool.where}`."]
    if sources:
        lines.append("**Data source(s)**: " + ", ".join(f"`{s}`" for s in sources)
                     + (f" (files: {', '.join(f'`{f}`' for f in files)})" if files and files != sources else ""))
    elif files:
        lines.append("**Data source(s)**: files " + ", ".join(f"`{f}`" for f in files))
    lines.append(_kept_line(report))
    lines += [f"**Cut**: {c}" for c in _cut_lines(report)]
    languages = report.get("languages") or {}
    if languages:
        lines.append("**Coding languages** (examples labelled coding, per language detected): " + ", ".join(
            f"{k} {_n(v)}" for k, v in sorted(languages.items(), key=lambda kv: (-int(kv[1]), kv[0]))))
    lines += _classifier_lines(pool)
    doc.bullets(lines)

    classes = report.get("classes") or {}
    total = sum(int(v) for v in classes.values())
    names = list(CLASSES) + sorted(set(classes) - set(CLASSES))
    doc.text("Examples per class in the pool (the classifier's labels):")
    doc.table(pd.DataFrame({"class": names, "examples": [_n(classes.get(c, 0)) for c in names],
                            "share": [f"{int(classes.get(c, 0)) / total:.1%}" if total else "–" for c in names]}))
    dropped, repaired = report.get("dropped") or {}, report.get("repaired") or {}
    if dropped:
        doc.text("Dropped, by reason (`truncated_file`: a file that ends mid-record, its complete records kept):")
        doc.table(_counts(dropped, "reason"))
    else:
        doc.text("Dropped: none.")
    if repaired:
        doc.text("Repairs, by reason (of kept conversations; `split_conversation`: conversations longer than "
                 "`data.max_tokens` split at exchange boundaries, `split_examples_added`: the examples this added):")
        doc.table(_counts(repaired, "repair", total_row=False))
    errors = [e for e in report.get("errors") or [] if isinstance(e, dict)]
    if errors:
        total_errors = report.get("errors_total", len(errors))
        doc.details(f"Located errors (first {min(MAX_ERRORS, len(errors))} of {total_errors})")
        doc.table(pd.DataFrame([{"file": f"`{e.get('file')}`", "line": _n(e.get("line")),
                                 "field": f"`{e.get('field')}`", "message": str(e.get("message"))}
                                for e in errors[:MAX_ERRORS]]))
        doc.end_details()


def data_section(doc: Document, results: ResultSet) -> None:
    """The Data section: per pool the source, counts, drops, repairs, classes and the classifier's accuracy."""
    doc.heading("Data")
    if "mix_hash" not in results.trials or results.trials["mix_hash"].dropna().empty:
        doc.text("No data pool: no trial in this report was fine-tuned on a mix (untuned models only).")
        return
    try:
        pools, unknown = find_pools(results)
    except _READ_ERRORS as err:  # never let the data section stop the report
        doc.text(f"The data pool's report could not be read: {err}.")
        return
    found = [p for p in pools if p.report is not None]
    if not found:
        where = ", ".join(f"`{s.url('_cache')}`" for s in _storages(results)) or "the experiments' storage"
        what = (f"pool {', '.join(f'`{p.pool_hash}`' for p in pools)}" if pools
                else "the mix manifests that name the pool")
        doc.text(f"The data pool's report was not found ({what}; looked under {where} and the local pool cache).")
        return
    doc.text("The instruction-tuning mixes were drawn from the labelled pool below: what ingest, cleaning and "
             "classification did to the source records (`<storage>/_cache/pools/<pool_hash>/report.json`).")
    for pool in found:
        _render_pool(doc, pool, heading=len(found) > 1)
    missing = [p.pool_hash for p in pools if p.report is None]
    if missing or unknown:
        doc.text("Not found: " + "; ".join(
            ([f"the report of pool(s) {', '.join(f'`{h}`' for h in missing)}"] if missing else [])
            + ([f"the manifest of {unknown} mix(es) (their pool is unknown)"] if unknown else [])) + ".")
