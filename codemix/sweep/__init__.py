"""Sweeps: Ray Tune over (coding proportion x model family x ...), each trial = mix → train → eval.

    space.py           the search space: TrialPoint, grid_points, param_space (Tune's view), as_spec
    data_stage.py      the driver's data stage: the labelled pool, infeasible mixes
    preflight.py       endpoint checks before any compute
    hashes.py          the content addresses of a trial's stages (codemix.storage.stage_cache: where they are stored)
    trial.py           one trial: mix → train → eval → results (run_trial)
    warmstart.py       a searched sweep's known points from storage (the searchers: codemix.search)
    tuner.py           the Tune experiment: run_sweep, resume
    restarts.py        trials Tune starts again: recorded failures replayed, trials lost with their node
    cluster.py         the Ray cluster: its nodes, whether it grows, what a trial demands of a node
    storage_checks.py  a local storage refused on a multi-node cluster; where each output is written
    capacity.py        how many trials a cluster holds at once, where training workers go
    plan.py            what a sweep will run and cost, before it runs (no Tune)
    power_forecast.py  the smallest effect the design can detect, before it runs
    cli.py             `codemix plan`

The names below load lazily, so that ``codemix plan`` and ``validate`` (which import ``space``,
``data_stage`` and ``plan``) never import the Tune module.
"""

__all__ = ["TrialPoint", "grid_points", "resume", "run_sweep", "run_trial"]


def __getattr__(name):
    if name in ("TrialPoint", "grid_points"):
        from codemix.sweep import space

        return getattr(space, name)
    if name == "run_trial":
        from codemix.sweep.trial import run_trial

        return run_trial
    if name in ("resume", "run_sweep"):
        from codemix.sweep import tuner

        return getattr(tuner, name)
    raise AttributeError(f"module 'codemix.sweep' has no attribute {name!r}")
