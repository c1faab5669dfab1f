"""codemix: does coding data in instruction fine-tuning improve reasoning? Sweeps on Ray.

Python API::

    import codemix
    table = codemix.run_sweep("sweeps/smoke.yaml")   # mix -> fine-tune -> evaluate, per trial
    table = codemix.resume("runs/smoke")             # continue an interrupted sweep
    spec = codemix.load_spec("sweeps/smoke.yaml", {"mix.total": 128})   # the spec, validated, with overrides
"""

from codemix import sweep  # its run_sweep and resume load Tune when called (codemix.sweep's lazy names)
from codemix.spec import load_spec  # noqa: F401  (codemix.load_spec for scripts)
from codemix.version import __version__  # noqa: F401


def run_sweep(spec, **kwargs):
    """Run a sweep spec (a path, a dict or a SweepSpec); see codemix.sweep.run_sweep."""
    return sweep.run_sweep(spec, **kwargs)


def resume(path, **kwargs):
    """Continue an interrupted sweep from its experiment folder; see codemix.sweep.resume."""
    return sweep.resume(path, **kwargs)
