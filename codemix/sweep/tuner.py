"""Run a sweep spec as a Ray Tune experiment, resume it, and collect its results.

Each Tune trial is a function trainable that runs :func:`codemix.sweep.trial.run_trial`, which
launches its own Ray Train run (Train V2 inside Tune) and a Ray Data evaluation. The search space
is ``codemix.sweep.space``, the data stage before Ray starts ``codemix.sweep.data_stage``: Tune experiments
are started and resumed only here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pyarrow as pa
import yaml
from ray import tune

from codemix.results import SPEC_FILE, STARTUP_FILE, collect_results, load_results
from codemix.runtime import init_ray
from codemix.search import OBJECTIVE, check_search, is_searched
from codemix.search.tune_adapter import PolicySearcher, UnreadableTuneState, make_searcher, tune_snapshot_trials
from codemix.spec import SpecError, SweepSpec, parse_spec
from codemix.storage import Store, attempt_counts
from codemix.sweep.capacity import admit, check_fits_before_any_compute, cluster_shape
from codemix.sweep.data_stage import convert_models_in_background, prepare_data
from codemix.sweep.preflight import job_credentials, preflight
from codemix.sweep.restarts import lost_trials, replay_recorded_failure, torn_tune_state
from codemix.sweep.space import TrialPoint, as_spec, param_space
from codemix.sweep.storage_checks import check_storage_shared
from codemix.sweep.trial import Trial, run_stages
from codemix.sweep.warmstart import SearchStart, known_points, record_start, start_search

log = logging.getLogger("codemix")


# ----------------------------------------------------------------------------- Ray and Tune


def tune_trial(config: dict, spec_json: str, pool_key: str, pool_hash: str, retry_failed: bool = False,
               attempts_before: dict | None = None) -> None:
    """The Tune function trainable: one sweep point through all four stages."""
    spec = SweepSpec.model_validate_json(spec_json)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    trial = Trial.start(spec, TrialPoint.from_config(config), Store(spec.storage), pool_key, pool_hash,
                        tune.get_context().get_trial_id(), in_tune=True)
    # Tune restarts lost trials, and failed ones too
    replay_recorded_failure(trial.experiment, trial.key, retry_failed, attempts_before)
    tune.report(run_stages(trial))


def _trainable(spec: SweepSpec, pool_key: str, pool_hash: str, retry_failed: bool = False,
               attempts_before: dict | None = None):
    fn = tune.with_parameters(tune_trial, spec_json=spec.model_dump_json(), pool_key=pool_key, pool_hash=pool_hash,
                              retry_failed=retry_failed, attempts_before=attempts_before or {})
    return tune.with_resources(fn, trial_resources(spec))


def trial_resources(spec: SweepSpec) -> dict:
    """What one Tune trial reserves for its whole life: its driver function's CPUs. Training reserves its
    workers' CPUs only while it runs (a Ray Train worker group, or ``reserved_resources`` for a loop in the
    trial's own process), so that evaluation's Ray Data actors find them free afterwards."""
    r = spec.resources
    return {"cpu": r.trial_cpus, **r.trial_resources}


def _trial_dirname(trial) -> str:
    p, fidelity = trial.config["proportion"], trial.config.get("fidelity", 1.0)
    point = "untuned" if p is None else f"p{p:.3g}"
    rung = "" if fidelity == 1.0 else f"_f{fidelity:.2g}"
    return f"{trial.config['family']}_{point}_s{trial.config['seed']}{rung}_{trial.trial_id}"


def _tune_config(spec: SweepSpec, start: SearchStart | None = None):
    """Tune's config; a searched sweep (``start`` given) gets its searcher, fed the known points."""
    # reuse_actors: a trial's process runs the next trial too, so imports, the tokenizer and the evaluation
    # engine (codemix.eval.held_engine) are paid once per process, not once per trial
    kwargs = dict(num_samples=1, max_concurrent_trials=spec.resources.max_concurrent_trials or None,
                  trial_dirname_creator=_trial_dirname, reuse_actors=True)
    if start is not None:
        searcher = make_searcher(spec, known_points(spec, start), budget=start.to_run)
        # a policy searcher counts its budget itself (tune_adapter: Tune's count is not reconciled on restore)
        kwargs.update(num_samples=-1 if isinstance(searcher, PolicySearcher) else start.to_run, search_alg=searcher,
                      metric=OBJECTIVE, mode="max")
    return tune.TuneConfig(**kwargs)


def _start_search(spec: SweepSpec, store: Store, pool_hash: str, experiment: Store) -> SearchStart | None:
    """For a searched sweep: the known points in storage, logged and recorded in the experiment."""
    if not is_searched(spec):
        return None
    start = start_search(spec, store, pool_hash)
    log.info("%s", start.describe())
    record_start(experiment, start)
    return start


def _admitted(spec: SweepSpec) -> SweepSpec:
    """The spec with the trials admitted at once and the workers' placement that the connected cluster allows at
    its largest (codemix.sweep.capacity); SpecError, before any compute, when it can never hold a trial."""
    admission = admit(spec, cluster_shape(spec))
    log.info("%s", admission.describe())
    return admission.apply(spec)


def _run_config(spec: SweepSpec, store: Store):
    return tune.RunConfig(name=spec.name, storage_path=store.path(), storage_filesystem=None if store.is_local
                          else store.fs, failure_config=tune.FailureConfig(max_failures=spec.resources.trial_retries),
                          verbose=1)


# ----------------------------------------------------------------------------- public API


def run_sweep(spec: SweepSpec | dict | str | Path, *, address: str | None = None,
              num_cpus: int | None = None) -> SweepOutcome:
    """Run every trial of a sweep; writes ``<storage>/<name>/results.parquet`` and returns it with failures."""
    startup = StartUp()
    spec = as_spec(spec)
    store = Store(spec.storage)
    experiment = store.child(spec.name)
    if experiment.exists(SPEC_FILE):
        raise SpecError(f"experiment {experiment.url()} already exists: `codemix resume {experiment.url()}` "
                        f"continues it; pick another name for a new sweep (finished stages are reused by cache)")
    spec = check_search(spec)
    check_fits_before_any_compute(spec)  # a trial no node type holds (node types known without Ray)
    preflight(spec, store)  # a wrong key, model or URL stops here, before any compute
    startup.lap("preflight")
    models = convert_models_in_background(spec) if address is None else None  # one machine: convert once, here
    pool_key, pool_hash = prepare_data(spec, store)
    startup.lap("data")
    init_ray(address, num_cpus, job_credentials(spec))
    startup.lap("ray_start")
    if models is not None:
        models.result()
    startup.lap("models")  # ~0 s where the models were converted by an earlier sweep
    check_storage_shared(spec)
    runs = _admitted(spec)  # the spec as the trials run it: concurrency and placement for this cluster
    experiment.write_bytes(SPEC_FILE, yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False).encode())
    start = _start_search(spec, store, pool_hash, experiment)
    startup.write(experiment)
    tuner = tune.Tuner(_trainable(runs, pool_key, pool_hash), param_space=param_space(spec),
                       tune_config=_tune_config(runs, start), run_config=_run_config(spec, store))
    return finish(spec, experiment, tuner.fit())


def resume(path: str | Path, *, retry_failed: bool = False, address: str | None = None,
           num_cpus: int | None = None) -> SweepOutcome:
    """Continue an interrupted sweep: unfinished trials rerun (from their cached stages), finished ones never.

    ``retry_failed`` also reruns trials that ended in an error.
    """
    path = str(path)
    experiment = Store(path)
    if not experiment.exists(SPEC_FILE):
        raise SpecError(f"{path}: not a codemix experiment (no {SPEC_FILE})")
    data = yaml.safe_load(experiment.read_bytes(SPEC_FILE))
    spec = check_search(as_spec(parse_spec({**data, "name": experiment.name, "storage": experiment.parent_url()},
                                           f"{path}/{SPEC_FILE}")))
    store = Store(spec.storage)
    check_fits_before_any_compute(spec)
    preflight(spec, store)
    pool_key, pool_hash = prepare_data(spec, store)
    init_ray(address, num_cpus, job_credentials(spec))
    check_storage_shared(spec, resume_path=path)
    runs = _admitted(spec)
    trainable = _trainable(runs, pool_key, pool_hash, retry_failed, attempt_counts(experiment))
    fs = None if store.is_local else store.fs
    restorable = tune.Tuner.can_restore(experiment.path(), storage_filesystem=fs)
    torn = _torn(experiment) if restorable else None
    if restorable and torn is None:
        tuner = tune.Tuner.restore(experiment.path(), trainable, resume_unfinished=True, resume_errored=False,
                                   restart_errored=retry_failed, param_space=param_space(spec),
                                   storage_filesystem=fs)
    else:  # killed before Tune saved any state, or mid-save: start the experiment again (stages come from the cache)
        if torn:
            log.warning("Tune's saved state is torn (%s): the sweep starts again in Tune; finished trials are not "
                        "rerun", torn)
        # a searcher starts afresh from what storage holds, this sweep's finished trials included
        start = _start_search(spec, store, pool_hash, experiment)
        if start is not None and start.to_run == 0:
            return finish(spec, experiment)
        tuner = tune.Tuner(trainable, param_space=param_space(spec), tune_config=_tune_config(runs, start),
                           run_config=_run_config(spec, store))
    return finish(spec, experiment, tuner.fit())


def _torn(experiment: Store) -> str | None:
    """Why Tune's saved state cannot be restored as it is (``restarts.torn_tune_state``; a trial list that does not
    parse, too), or None."""
    try:
        listed = tune_snapshot_trials(experiment.path(), experiment.fs)
    except UnreadableTuneState as err:
        return str(err)
    return torn_tune_state(experiment, listed)


class StartUp:
    """The driver's start-up, timed (the process's imports, preflight, the data stage, Ray's start) and written to
    the experiment's ``startup.json`` with when Tune starts; ``codemix report`` shows it before the trials."""

    def __init__(self):
        self.created = psutil.Process().create_time()
        self.seconds = {"imports": time.time() - self.created}
        self._last = time.time()

    def lap(self, name: str) -> None:
        now = time.time()
        self.seconds[name], self._last = now - self._last, now

    def write(self, experiment: Store) -> None:
        self.lap("setup")
        experiment.write_json(STARTUP_FILE, {"process_started_at": self.created, "tune_started_at": time.time(),
                                             "seconds": {k: round(v, 3) for k, v in self.seconds.items()}})


@dataclass
class SweepOutcome:
    """What a finished (or resumed) sweep produced; the caller prints it (the CLI does)."""

    path: str  # the experiment folder
    results: pa.Table  # results.parquet: one row per trial x task
    failed: list[dict]  # trials that ended in an error or were lost: family, proportion, seed, error
    summary: object = None  # the experiment's codemix.results.ResultSet (without predictions)
    lost: list[dict] = field(default_factory=list)  # the trials of ``failed`` lost with their node
    trial_retries: int = 0  # how often Tune restarted a lost trial (resources.trial_retries)


def finish(spec: SweepSpec, experiment: Store, grid=None) -> SweepOutcome:
    """Write results.parquet and return the outcome: results, failed trials, and trials lost with their node."""
    table = collect_results(experiment)
    results = load_results([experiment.url()], predictions=False)
    failed = results.failed[["trial_key", "family", "proportion", "seed", "error"]].to_dict("records")
    lost = lost_trials(grid or [], experiment)
    return SweepOutcome(experiment.url(), table, failed + lost, results, lost, spec.resources.trial_retries)
