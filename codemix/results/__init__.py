"""Result tables of a sweep (schema.py, writer.py), their analysis (load.py, analysis.py) and report.

    from codemix.results import load_results, write_report
    rs = load_results(["runs/paper", "runs/fine_grained"])
    write_report(["runs/paper"], "runs/paper/report", html=True)

See README.md in this folder for the table layout and how to read it without codemix.
What the sweep writes and reads back (writer, layout) and the MDE arithmetic (power) load with the
package; the analysis and the report (``load_results``, ``discordance_by_task``, ``write_report``: pandas,
matplotlib and more) when first used.
"""

from codemix.results.layout import KNOWN_POINTS_FILE, RESULTS_FILE, SPEC_FILE, STARTUP_FILE
from codemix.results.power import MDE, POWER, design_mde, questions_for
from codemix.results.writer import collect_results, experiments_in, read_level, results_key, write_trial_results

__all__ = ["KNOWN_POINTS_FILE", "MDE", "POWER", "RESULTS_FILE", "SPEC_FILE", "STARTUP_FILE", "collect_results",
           "design_mde", "discordance_by_task", "experiments_in", "load_results", "questions_for", "read_level",
           "results_key", "write_report", "write_trial_results"]


def __getattr__(name):  # lazy: the sweep imports writer.py without pulling pandas/matplotlib in
    if name == "load_results":
        from codemix.results.load import load_results
        return load_results
    if name == "discordance_by_task":
        from codemix.results.analysis import discordance_by_task
        return discordance_by_task
    if name == "write_report":
        from codemix.results.report import write_report
        return write_report
    raise AttributeError(name)
