"""The report's table cells: an accuracy with its CI, a p-value, a change with its test and minimum detectable
effect, and the labels of a proportion, a mix and a family (the figures' too).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from codemix.results import analysis


def proportion_label(p: float | None) -> str:
    """0.5 -> '50%', 0.125 -> '12.5%'; the untuned reference (null proportion) -> 'untuned'."""
    return "untuned" if analysis.is_untuned(p) else f"{p * 100:.4g}%"


def mix_label(row, vary: list[str]) -> str:
    """A mix as it reads on a figure: '50%', or '50% python c=0.2' when settings vary."""
    extra = [str(row["code_language"]) if c == "code_language" else f"c={row['corruption']:g}" for c in vary]
    return " ".join([proportion_label(row["proportion"]), *extra])


def group_label(row, vary: list[str]) -> str:
    """A family with its settings when they vary: 'llama', or 'llama python c=0.2'."""
    extra = [str(row["code_language"]) if c == "code_language" else f"c={row['corruption']:g}" for c in vary]
    return " ".join([str(row["family"]), *extra])


def acc_cell(row) -> str:
    """'0.517 [0.400, 0.633]' (the CI is left out when not computed)."""
    if not np.isfinite(row["ci_low"]):
        return f"{row['accuracy']:.3f}"
    return f"{row['accuracy']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def p_cell(p: float) -> str:
    return "–" if not np.isfinite(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def delta_cell(row) -> str:
    """'+0.217 (p=0.001; MDE ±0.090)', or '+0.017 (p=0.73) n.s.: too small to tell (MDE ±0.140)'."""
    test = (f"p={p_cell(row['p_value'])}" if np.isfinite(row["p_value"])
            else f"CI [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]")
    mde = mde_value(row["mde"], row["mde_assumed"])
    if row["significant"]:
        return f"{row['delta']:+.3f} ({test}" + (f"; MDE {mde})" if mde else ")")
    return f"{row['delta']:+.3f} ({test}) n.s." + (f": too small to tell (MDE {mde})" if mde else "")


def mde_value(mde: float, assumed: bool) -> str:
    """'±0.140' ('±0.023*' where no discordant pair was observed and the discordance was assumed; '' if none)."""
    if mde is None or not np.isfinite(mde):
        return ""
    return (f"±{mde:.3f}" if mde < 1 else "> ±1") + ("*" if assumed else "")  # past 1: no accuracy gap is detectable


def mde_cell(mde: float, assumed: bool, significant: bool) -> str:
    """The MDE next to a Δ: '±0.090'; 'too small to tell (MDE ±0.140)' for a Δ that is not significant."""
    value = mde_value(mde, assumed)
    return "–" if not value else (value if significant else f"too small to tell (MDE {value})")


def with_labels(table: pd.DataFrame) -> pd.DataFrame:
    vary = [c for c in ("code_language", "corruption") if table[c].nunique() > 1]
    return table.assign(group=[group_label(r, vary) for _, r in table.iterrows()],
                        mix=[mix_label(r, vary) for _, r in table.iterrows()])
