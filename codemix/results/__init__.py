"""Result tables of a sweep (schema.py, writer.py), their analysis (load.py, analysis.py) and report.

    from codemix.results import load_results, write_report
    rs = load_results(["runs/paper", "runs/fine_grained"])
    write_report(["runs/paper"], "runs/paper/report", html=True)

See README.md in this folder for the table layout and how to read it without codemix.
``write_report`` loads when first used: the report draws its figures with matplotlib (0.3-0.6 s), which the sweep's
trials, writing and reading result tables, never need.
"""

from codemix.results.analysis import discordance_by_task
from codemix.results.layout import KNOWN_POINTS_FILE, RESULTS_FILE, SPEC_FILE, STARTUP_FILE
from codemix.results.load import load_results
from codemix.results.power import MDE, POWER, design_mde, questions_for
from codemix.results.writer import collect_results, experiments_in, read_level, results_key, write_trial_results

__all__ = ["KNOWN_POINTS_FILE", "MDE", "POWER", "RESULTS_FILE", "SPEC_FILE", "STARTUP_FILE", "collect_results",
           "design_mde", "discordance_by_task", "experiments_in", "load_results", "questions_for", "read_level",
           "results_key", "write_report", "write_trial_results"]


def __getattr__(name):
    if name == "write_report":
        from codemix.results.report import write_report
        return write_report
    raise AttributeError(name)
