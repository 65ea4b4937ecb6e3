"""Write docs/metrics.md from the metric registry (a test checks it is current)."""

from __future__ import annotations

import sys
from pathlib import Path


def render() -> str:
    from assay.bias import METRICS

    lines = [
        "# Bias metrics",
        "",
        "Generated from the registry by `python scripts/gen_metrics_doc.py`; do not edit by hand.",
        "",
        "Facet *d* is the group named by a facet value, facet *a* the rest; `(1)` is the positive label, `'` marks",
        "predicted labels. A value that cannot be computed (a division by zero, an empty group) is `null` with a",
        "reason, never 0 or infinity. Metrics of counts have a percentile bootstrap interval (multinomial resamples of",
        "the count tensor); distances, maxima and min/max ratios (KL, JS, LP, TVD, KS, DPR, EqOddsD, EqOddsR) take theirs",
        "from a simultaneous bootstrap band of their signed parts, so that it can reach parity (each result's `ci_method`",
        "says which). Metrics of scores and continuous values (AUCD, BSD, CalD, MDL, MDP, MRD, MAED, RMSED) have",
        "analytic intervals from per-group moments and histograms: DeLong's variance for AUC, Welch's t for differences",
        "of means, the delta method for RMSE; the KS distances (KS2L, KS2P) a bias-corrected Poisson bootstrap of the",
        "largest gap over the histogram, from 0 where the KS test does not reject. The",
        "test named gives the p-value, and q-values are Benjamini-Hochberg across the whole report. A positive value",
        "means facet d is disfavoured, except where the formula says otherwise (Clarify's SD, DRR, DCR, TE).",
        "",
        "Score metrics need `probability` (a score column) and a binary (or thresholded) label; regression metrics",
        "need a continuous label (a numeric label with one threshold), and post-training a numeric `predicted_label`.",
        "Histograms are exact when a column has at most 2,000 distinct values, and use 2,000 equal-width bins",
        "otherwise; the metric's note then states the bound on the binning error.",
        "",
    ]
    for stage in ("pre_training", "post_training"):
        lines += [
            f"## {stage.replace('_', '-').capitalize()} metrics",
            "",
            "| name | description | formula | range | ideal | test | reference |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in METRICS.values():
            if m.stage == stage:
                lines.append(
                    f"| {m.name} | {m.description} | `{_cell(m.formula)}` | [{m.range[0]}, {m.range[1]}] | {m.ideal} | {m.test_name or '-'} | {m.reference} |"
                )
        lines.append("")
    lines += ["## Where smclarify (Clarify's open-source core) is wrong, and what assay does", ""]
    for m in METRICS.values():
        if m.smclarify:
            lines.append(f"- **{m.name}**: {m.smclarify}")
    lines += [
        "- **All metrics**: smclarify's division rule returns 0 for 0/0 and infinity for x/0, and forces a difference of two",
        "  infinities to 0; assay returns null with the reason.",
        "- **Type inference**: smclarify calls an integer column continuous when more than 5% of its values are distinct, so a",
        "  0/1 label in a data set of 40 rows or fewer became continuous and no positive was found. assay calls a numeric column",
        "  continuous only when it has more than 20 distinct values (and a label only when one threshold is given);",
        "  `label_type` and a facet's `type` override it.",
        "- **Peers' signs**: AIF360 reports unprivileged minus privileged (d - a) and its `class_imbalance` is (n_d - n_a)/n,",
        "  the opposite sign of Clarify's CI; Fairlearn's differences are unsigned max - min. The conformance tests",
        "  (`tests/conformance/`) check each against assay with the sign made explicit.",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
    out.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {out}\n")
