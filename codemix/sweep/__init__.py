"""Sweeps: Ray Tune over (coding proportion x model family x ...), each trial = mix → train → eval."""

from codemix.sweep.trial import TrialPoint, run_trial
from codemix.sweep.tuner import resume, run_sweep

__all__ = ["TrialPoint", "resume", "run_sweep", "run_trial"]
