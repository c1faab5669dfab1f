"""Result tables of a sweep (schema.py, writer.py), their analysis (load.py, analysis.py) and report.

    from codemix.results import load_results, write_report
    rs = load_results(["runs/paper", "runs/fine_grained"])
    write_report(["runs/paper"], "runs/paper/report", html=True)

See README.md in this folder for the table layout and how to read it without codemix.
"""


def __getattr__(name):  # lazy: the sweep imports writer.py without pulling pandas/matplotlib in
    if name == "load_results":
        from codemix.results.load import load_results
        return load_results
    if name == "write_report":
        from codemix.results.report import write_report
        return write_report
    raise AttributeError(name)
