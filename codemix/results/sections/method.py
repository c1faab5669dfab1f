"""How to read the report: what an accuracy, a bracket, Δ, p, n.s. and the MDE mean, with the figures the
analysis used (resamples, α, power).
"""

from __future__ import annotations

from codemix.results import analysis, power
from codemix.results.document import Document


def method_section(doc: Document, n_boot: int, alpha: float) -> None:
    doc.heading("How to read this report")
    doc.bullets([
        ("Task accuracy = correct / examples of a trial, averaged over seeds. **Domain and overall accuracies are "
         "means over tasks** (as in the paper), not over examples."),
        (f"Brackets: 95% percentile bootstrap CI ({n_boot} resamples, seeded): examples resampled within each task, "
         "and seeds resampled first when a mix has several."),
        ("**untuned** is the family's starting model evaluated without fine-tuning (where the sweep ran it); "
         "Δ vs untuned says what fine-tuning on each mix did to it, Δ vs 0% what the coding data did."),
        (f"Δ = accuracy minus the same family's 0% (General) mix. p: McNemar's test on per-example correctness, "
         f"paired by (seed, task, example), pooled over the tasks in scope (exact binomial below "
         f"{analysis.EXACT_BELOW} discordant pairs). **n.s.** marks a Δ not significant at α = {alpha}; without "
         "predictions, significance means the (unpaired) bootstrap CI of Δ excludes 0."),
        (f"**MDE** (minimum detectable effect), next to each Δ: the smallest difference this many questions can "
         f"detect with power {power.POWER:.0%} at α = {alpha} (two-sided), for the paired design: "
         f"(z₁₋α/₂ + z_power)·√(p_d / n) = {power.z_sum(alpha):.2f}·√(p_d / n), n the paired questions and p_d the "
         "share of them on which the two models disagree, as observed (McNemar's test, normal approximation). "
         f"* no discordant pair was observed: p_d counts {power.ASSUMED_DISCORDANT:g} of a pair instead "
         f"(p_d = {power.ASSUMED_DISCORDANT:g}/n, the usual correction for an empty cell). "
         "Without predictions: (z₁₋α/₂ + z_power)·SE, the SE read off the bootstrap CI of Δ (unpaired). A pooled "
         "scope counts pairs over its tasks and seeds (its Δ weighs tasks equally: the same when tasks are "
         "equally large)."),
        ("**n.s.** reads **too small to tell**: a Δ inside ±MDE is what a sweep of this size cannot tell from "
         "chance — not evidence that the coding data has no effect (a significant Δ may still be smaller than its "
         "MDE, which is the Δ the test catches 80% of the time). With few discordant pairs the exact test is "
         f"weaker than the approximation says: below {power.min_discordant(alpha)} it cannot reach p < {alpha} at "
         "all."),
    ])
