"""The report's first section: the experiments (trials, failures, families, proportions, seeds) and each one's
configuration, from its ``spec.yaml`` (or, for an older experiment, a trial's resolved config).
"""

from __future__ import annotations

import pandas as pd
import yaml

from codemix.results.cells import proportion_label
from codemix.results.document import Document
from codemix.results.load import ResultSet


def configuration_section(doc: Document, results: ResultSet) -> None:
    doc.heading("Experiments and configuration")
    doc.table(pd.DataFrame([{"experiment": e.name, "path": f"`{e.path}`", "trials": e.n_trials, "failed": e.n_failed,
                             "families": ", ".join(e.families),
                             "proportions": ", ".join(proportion_label(p) for p in e.proportions),
                             "seeds": ", ".join(map(str, e.seeds))} for e in results.experiments]))
    if results.n_duplicates:
        doc.text(f"{results.n_duplicates} trial(s) appear in several experiments (same family, model_id, mix_hash, "
                 f"train_hash and eval_hash) and are counted once.")
    for e in results.experiments:
        doc.heading(f"Configuration of `{e.name}`", 3)
        if e.spec is not None:
            doc.bullets([f"**{k}**: " + ", ".join(_flatten(v)) if isinstance(v, dict) else f"**{k}**: {v}"
                         for k, v in e.spec.items()])
            doc.details("spec.yaml as run")
            doc.code(yaml.safe_dump(e.spec, sort_keys=False), "yaml")
            doc.end_details()
        elif e.config is not None:
            doc.text("No `spec.yaml` in this folder (an older experiment): the configuration below is a trial's "
                     "resolved `config` column; the sweep dimensions are those observed in the table above.")
            doc.bullets([f"**{k}**: " + ", ".join(_flatten(v)) if isinstance(v, dict) else f"**{k}**: {v}"
                         for k, v in e.config.items()])
        else:
            doc.text("No `spec.yaml` in this folder and no trial config recorded: the configuration is unknown "
                     "beyond the sweep dimensions observed in the table above.")


def _flatten(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}={v}")
    return out
