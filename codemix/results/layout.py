"""Names of the files in an experiment folder that the sweep writes and results/report read.

Trial result tables live under ``results/<level>/`` (``codemix.results.writer.results_key``).
"""

RESULTS_FILE = "results.parquet"  # every trial x task score, collected when the sweep ends
SPEC_FILE = "spec.yaml"  # the sweep spec the experiment ran, as validated
KNOWN_POINTS_FILE = "search/known_points.json"  # what a searched experiment started from
STARTUP_FILE = "startup.json"  # the sweep driver's start-up, timed (codemix.sweep.tuner.StartUp)
