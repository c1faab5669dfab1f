"""The report's sections, one module each, in the order ``codemix.results.report.build_report`` lays them out."""
